#include "core/inputs.h"

#include <cctype>
#include <cmath>
#include <map>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/parse.h"

namespace ride::ingest {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

InputSpec make_spec(std::string url, std::string name, std::string origin) {
  InputSpec s;
  s.url = std::move(url);
  s.name = name.empty() ? s.url : std::move(name);
  s.origin = std::move(origin);
  s.live = is_live_url(s.url);
  return s;
}

/// A camera list's header: the index of each known column (-1: absent).
struct CsvColumns {
  int id = -1, url = -1, fps = -1, width = -1, height = -1;
  std::size_t count = 0;
};

bool is_camera_list_header(const std::string& line) {
  const std::string l = trim(line);
  // id,url,fps in any order among the first fields, comma-separated
  if (l.find(',') == std::string::npos) return false;
  std::vector<std::string> f;
  try {
    f = split_csv_line(l, "");
  } catch (const ConfigError&) {
    return false;
  }
  bool id = false, url = false, fps = false;
  for (auto& x : f) {
    const std::string c = trim(x);
    id = id || c == "id";
    url = url || c == "url";
    fps = fps || c == "fps";
  }
  return id && url && fps;
}

double positive_number(const std::string& text, const std::string& origin, const char* column) {
  const double v = whole_double(text).value_or(0);
  if (!(v > 0) || !std::isfinite(v)) {
    throw ConfigError(origin + ": column '" + column + "': '" + text + "' is not a positive number");
  }
  return v;
}

int positive_int(const std::string& text, const std::string& origin, const char* column) {
  const double v = positive_number(text, origin, column);
  if (v != std::floor(v) || v > 1e6) {
    throw ConfigError(origin + ": column '" + column + "': '" + text + "' is not a positive integer (pixels)");
  }
  return static_cast<int>(v);
}

std::vector<InputSpec> parse_camera_list(std::ifstream& in, const std::filesystem::path& file, int header_line,
                                         const std::string& header) {
  const std::string where_header = file.string() + ":" + std::to_string(header_line);
  CsvColumns cols;
  const auto names = split_csv_line(trim(header), where_header);
  cols.count = names.size();
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string c = trim(names[i]);
    int* slot = c == "id" ? &cols.id : c == "url" ? &cols.url : c == "fps" ? &cols.fps : c == "width" ? &cols.width
              : c == "height" ? &cols.height : nullptr;
    if (!slot) continue;  // another column of the export: ignored
    if (*slot >= 0) throw ConfigError(where_header + ": column '" + c + "' appears twice in the header");
    *slot = static_cast<int>(i);
  }
  if ((cols.width >= 0) != (cols.height >= 0)) {
    throw ConfigError(where_header + ": the header has '" + std::string(cols.width >= 0 ? "width" : "height") +
                      "' without '" + std::string(cols.width >= 0 ? "height" : "width") + "'");
  }
  std::vector<InputSpec> out;
  std::map<std::string, std::string> ids;  // id -> where it was first given
  std::string line;
  int lineno = header_line;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string origin = file.string() + ":" + std::to_string(lineno);
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const auto f = split_csv_line(t, origin);
    auto field = [&](int col, const char* name) -> std::string {
      if (col < 0) return {};
      if (static_cast<std::size_t>(col) >= f.size()) {
        throw ConfigError(origin + ": " + std::to_string(f.size()) + " field(s), the header names " +
                          std::to_string(cols.count) + " (no column '" + name + "')");
      }
      return trim(f[static_cast<std::size_t>(col)]);
    };
    const std::string id = field(cols.id, "id"), url_text = field(cols.url, "url"), fps = field(cols.fps, "fps");
    if (id.empty()) throw ConfigError(origin + ": column 'id' is empty");
    if (url_text.empty()) throw ConfigError(origin + ": column 'url' is empty");
    if (auto [it, fresh] = ids.emplace(id, origin); !fresh) {
      throw ConfigError(origin + ": camera id '" + id + "' was given before, at " + it->second);
    }
    std::string url = url_text;
    if (!is_live_url(url) && std::filesystem::path(url).is_relative())
      url = (file.parent_path() / url).lexically_normal().string();
    InputSpec s = make_spec(url, id, origin);
    s.fps = positive_number(fps, origin, "fps");
    const std::string w = field(cols.width, "width"), h = field(cols.height, "height");
    if (!w.empty() || !h.empty()) {
      if (w.empty() || h.empty()) throw ConfigError(origin + ": give both 'width' and 'height', or neither");
      s.width = positive_int(w, origin, "width");
      s.height = positive_int(h, origin, "height");
    }
    out.push_back(std::move(s));
  }
  if (out.empty()) throw ConfigError(where_header + ": the camera list names no camera");
  return out;
}

}  // namespace

std::vector<std::string> split_csv_line(const std::string& line, const std::string& origin) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          cur.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cur.push_back(c);
      }
    } else if (c == '"' && trim(cur).empty() && !was_quoted) {
      cur.clear();
      quoted = was_quoted = true;
    } else if (c == ',') {
      out.push_back(std::move(cur));
      cur.clear();
      was_quoted = false;
    } else {
      cur.push_back(c);
    }
  }
  if (quoted) throw ConfigError(origin + ": a quoted field is not closed");
  out.push_back(std::move(cur));
  return out;
}

bool is_live_url(const std::string& url) {
  static const char* schemes[] = {"http://", "https://", "rtsp://", "rtsps://", "rtmp://",
                                  "udp://",  "tcp://",   "srt://"};
  for (const char* s : schemes)
    if (url.rfind(s, 0) == 0) return true;
  return url.rfind("/dev/video", 0) == 0;
}

std::pair<std::string, std::string> split_hdf5_url(const std::string& url) {
  const auto hash = url.find('#');
  if (hash == std::string::npos) return {url, "/frames"};
  std::string ds = url.substr(hash + 1);
  if (ds.empty()) ds = "/frames";
  return {url.substr(0, hash), ds};
}

bool is_image_file_name(const std::string& file_name) {
  std::string ext = std::filesystem::path(file_name).extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pgm", ".ppm", ".pbm", ".webp"})
    if (ext == e) return true;
  return false;
}

bool is_hdf5_input(const std::string& url) {
  if (is_live_url(url)) return false;
  const std::string path = split_hdf5_url(url).first;
  auto ends = [&](const char* e) {
    const std::string x = e;
    return path.size() >= x.size() && path.compare(path.size() - x.size(), x.size(), x) == 0;
  };
  return ends(".h5") || ends(".hdf5");
}

std::vector<InputSpec> parse_inputs(const std::string& value, const std::string& where) {
  std::vector<InputSpec> out;
  const std::string v = trim(value);
  if (!v.empty() && v[0] == '@') {
    const std::filesystem::path file = trim(v.substr(1));
    std::ifstream in(file);
    if (!in) throw ConfigError("bad value for " + where + ": cannot read the input list '" + file.string() + "'");
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      // A camera list (CSV with a header naming id, url, fps): its own format from here on.
      if (out.empty() && is_camera_list_header(line)) return parse_camera_list(in, file, lineno, line);
      if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
      line = trim(line);
      if (line.empty()) continue;
      std::istringstream ls(line);
      std::string url, name;
      ls >> url;
      std::getline(ls, name);
      name = trim(name);
      // a relative path is relative to the list file
      if (!is_live_url(url) && std::filesystem::path(url).is_relative())
        url = (file.parent_path() / url).lexically_normal().string();
      out.push_back(make_spec(url, name, file.string() + ":" + std::to_string(lineno)));
    }
    if (out.empty()) throw ConfigError("bad value for " + where + ": the list '" + file.string() + "' names no input");
    return out;
  }
  std::size_t start = 0;
  int k = 0;
  while (start <= v.size()) {
    const auto comma = v.find(',', start);
    const std::string item = trim(v.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    ++k;
    if (item.empty())
      throw ConfigError("bad value for " + where + ": input " + std::to_string(k) + " is empty");
    out.push_back(make_spec(item, "", "ingest.inputs"));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.empty()) throw ConfigError("bad value for " + where + ": no input given");
  return out;
}

}  // namespace ride::ingest

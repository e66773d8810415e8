#include "core/inputs.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

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

}  // namespace

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

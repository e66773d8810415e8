#include "plan/model.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "core/error.h"

namespace ride::plan {
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& msg) {
  throw ride::ConfigError(where + ": " + msg);
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream is(line);
  while (std::getline(is, cur, ',')) out.push_back(trim(cur));
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

/// One data row with access by column name; every accessor names file:line and column on error.
class Row {
 public:
  Row(std::string where, const std::map<std::string, std::size_t>& cols,
      std::vector<std::string> cells)
      : where_(std::move(where)), cols_(cols), cells_(std::move(cells)) {}

  const std::string& where() const { return where_; }
  bool has(const std::string& col) const {
    auto it = cols_.find(col);
    return it != cols_.end() && !cells_[it->second].empty();
  }
  std::string str(const std::string& col) const {
    const std::string& v = cell(col);
    if (v.empty()) err(col, "missing value");
    return v;
  }
  /// The cell as written; empty when the column is absent or the cell empty.
  std::string opt(const std::string& col) const { return cell(col); }
  double number(const std::string& col, double min_value, bool strict_min) const {
    const std::string& v = cell(col);
    if (v.empty()) err(col, "missing number");
    double x = 0;
    const auto* end = v.data() + v.size();
    auto [p, ec] = std::from_chars(v.data(), end, x);
    if (ec != std::errc() || p != end || !std::isfinite(x)) err(col, "'" + v + "' is not a number");
    if (strict_min ? !(x > min_value) : !(x >= min_value)) {
      std::ostringstream os;
      os << "'" << v << "' must be " << (strict_min ? "> " : ">= ") << min_value;
      err(col, os.str());
    }
    return x;
  }
  long integer(const std::string& col, long min_value) const {
    const std::string& v = cell(col);
    if (v.empty()) err(col, "missing integer");
    long x = 0;
    const auto* end = v.data() + v.size();
    auto [p, ec] = std::from_chars(v.data(), end, x);
    if (ec != std::errc() || p != end) err(col, "'" + v + "' is not an integer");
    if (x < min_value) err(col, "'" + v + "' must be >= " + std::to_string(min_value));
    return x;
  }
  [[noreturn]] void err(const std::string& col, const std::string& msg) const {
    fail(where_, "column '" + col + "': " + msg);
  }

 private:
  const std::string& cell(const std::string& col) const {
    static const std::string empty;
    auto it = cols_.find(col);
    if (it == cols_.end()) return empty;
    return cells_[it->second];
  }
  std::string where_;
  const std::map<std::string, std::size_t>& cols_;
  std::vector<std::string> cells_;
};

template <class F>
void parse_table(const std::string& text, const std::string& name,
                 const std::vector<std::string>& required, const std::vector<std::string>& optional,
                 F&& on_row) {
  std::istringstream is(text);
  std::string line;
  int lineno = 0;
  std::map<std::string, std::size_t> cols;
  bool have_header = false;
  std::size_t rows = 0;
  while (std::getline(is, line)) {
    ++lineno;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const std::string where = name + ":" + std::to_string(lineno);
    auto cells = split(t);
    if (!have_header) {
      for (std::size_t i = 0; i < cells.size(); ++i) {
        const std::string& c = cells[i];
        const bool known = std::find(required.begin(), required.end(), c) != required.end() ||
                           std::find(optional.begin(), optional.end(), c) != optional.end();
        if (!known) fail(where, "column '" + c + "': unknown column in header");
        if (!cols.emplace(c, i).second) fail(where, "column '" + c + "': duplicated in header");
      }
      for (const auto& r : required)
        if (!cols.count(r)) fail(where, "column '" + r + "': missing from header");
      have_header = true;
      continue;
    }
    if (cells.size() != cols.size()) {
      std::ostringstream os;
      os << "expected " << cols.size() << " columns, found " << cells.size();
      fail(where, os.str());
    }
    on_row(Row(where, cols, std::move(cells)));
    ++rows;
  }
  if (!have_header) fail(name, "no header line (empty file?)");
  if (rows == 0) fail(name, "no data rows");
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ride::ConfigError(path + ": cannot open file");
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

int dimension(const Row& r, const std::string& col) {
  const long v = r.integer(col, 1);
  if (v > 1'000'000) r.err(col, "unreasonably large");
  return static_cast<int>(v);
}

}  // namespace

std::vector<InstanceType> parse_catalog(const std::string& text, const std::string& name) {
  std::vector<InstanceType> out;
  std::set<std::string> seen;
  parse_table(text, name, {"name", "vcpus", "mem_gb", "hourly_usd"}, {"gpus", "max_count"},
              [&](const Row& r) {
                InstanceType t;
                t.name = r.str("name");
                if (!seen.insert(t.name).second) r.err("name", "duplicate type '" + t.name + "'");
                t.vcpus = r.number("vcpus", 0, true);
                t.mem_gb = r.number("mem_gb", 0, true);
                t.gpus = r.has("gpus") ? r.number("gpus", 0, false) : 0.0;
                t.hourly_usd = r.number("hourly_usd", 0, true);
                t.max_count = r.has("max_count") ? static_cast<int>(r.integer("max_count", 0)) : 0;
                out.push_back(t);
              });
  return out;
}

std::vector<Requirement> parse_requirements(const std::string& text, const std::string& name) {
  std::vector<Requirement> out;
  std::set<std::tuple<std::string, int, int>> seen;
  parse_table(text, name, {"program", "width", "height", "cpu_per_fps", "cpu_base", "mem_gb"},
              {"gpu"}, [&](const Row& r) {
                Requirement q;
                q.program = r.str("program");
                q.width = dimension(r, "width");
                q.height = dimension(r, "height");
                q.cpu_per_fps = r.number("cpu_per_fps", 0, false);
                q.cpu_base = r.number("cpu_base", 0, false);
                q.mem_gb = r.number("mem_gb", 0, false);
                q.gpu = r.has("gpu") ? r.number("gpu", 0, false) : 0.0;
                q.source = r.where();
                if (!seen.insert({q.program, q.width, q.height}).second)
                  r.err("program", "duplicate requirement for " + q.program + " at " +
                                       std::to_string(q.width) + "x" + std::to_string(q.height));
                out.push_back(q);
              });
  return out;
}

std::vector<ScenarioRow> parse_scenario(const std::string& text, const std::string& name) {
  std::vector<ScenarioRow> out;
  parse_table(text, name, {"program", "fps", "width", "height"}, {"cameras", "url", "name"}, [&](const Row& r) {
    ScenarioRow s;
    s.program = r.str("program");
    s.fps = r.number("fps", 0, true);
    s.url = r.opt("url");
    s.name = r.opt("name");
    if (s.url.empty()) {
      s.cameras = r.integer("cameras", 0);
    } else {
      if (s.url.find_first_of(" \t,") != std::string::npos) r.err("url", "'" + s.url + "' has a space or comma");
      s.cameras = r.opt("cameras").empty() ? 1 : r.integer("cameras", 1);
      if (s.cameras != 1) r.err("cameras", "a row with a url is one camera (cameras 1 or empty)");
    }
    s.width = dimension(r, "width");
    s.height = dimension(r, "height");
    s.source = r.where();
    out.push_back(s);
  });
  return out;
}

std::vector<InstanceType> read_catalog(const std::string& path) {
  return parse_catalog(slurp(path), path);
}
std::vector<Requirement> read_requirements(const std::string& path) {
  return parse_requirements(slurp(path), path);
}
std::vector<ScenarioRow> read_scenario(const std::string& path) {
  return parse_scenario(slurp(path), path);
}

const std::string& builtin_catalog_csv() {
  static const std::string text =
      "# CAM2 (Kaseb et al., IEEE TCC) Table 2: Amazon EC2 on-demand prices in Oregon (us-west-2) as the\n"
      "# paper lists them. max_count: 0 or empty = unlimited; the 2xlarge limit of 5 is the one CAM2\n"
      "# Sec. 5.4.3 names (Amazon's per-user default limit when the paper was written).\n"
      "name,vcpus,mem_gb,gpus,hourly_usd,max_count\n"
      "m4.xlarge,4,16.0,0,0.239,0\n"
      "m4.2xlarge,8,32.0,0,0.479,5\n"
      "c4.xlarge,4,7.5,0,0.209,0\n"
      "c4.2xlarge,8,15.0,0,0.419,5\n"
      "r3.xlarge,4,30.5,0,0.333,0\n"
      "r3.2xlarge,8,61.0,0,0.665,5\n";
  return text;
}

std::vector<InstanceType> builtin_catalog() {
  return parse_catalog(builtin_catalog_csv(), "<built-in aws_table2>");
}

}  // namespace ride::plan

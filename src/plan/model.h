#pragma once
/// @brief `ride plan` inputs: instance-type catalog, per-stream requirements, scenario; the CSV
/// readers for the hand-written files, and the built-in CAM² Table 2 catalog.
///
/// CSV format shared by all three files: UTF-8 text, `,` separated, no quoting; the first
/// non-comment line is the header (column names, any order, unknown columns are an error); lines
/// whose first non-blank character is `#` and blank lines are ignored. Every error is a
/// ride::ConfigError whose message starts with `FILE:LINE: column 'NAME':` (or `FILE:LINE:` for a
/// whole-row problem, `FILE:` for a whole-file one).
#include <string>
#include <vector>

namespace ride::plan {

/// One rentable instance type. `max_count` == 0 means unlimited (written `0` or left empty).
struct InstanceType {
  std::string name;
  double vcpus = 0;       ///< cores (> 0)
  double mem_gb = 0;      ///< GB (> 0)
  double gpus = 0;        ///< GPUs (>= 0)
  double hourly_usd = 0;  ///< on-demand price per hour (> 0)
  int max_count = 0;      ///< per-type limit on running instances; 0 = unlimited
};

/// Resources one stream of `program` at `width` x `height` needs: CPU cores = cpu_per_fps * fps +
/// cpu_base, memory = mem_gb GB, GPUs = gpu (fractional GPUs per stream; 0 when absent).
struct Requirement {
  std::string program;
  int width = 0;
  int height = 0;
  double cpu_per_fps = 0;
  double cpu_base = 0;
  double mem_gb = 0;
  double gpu = 0;
  std::string source;  ///< "FILE:LINE" it came from (for error messages)
};

/// `cameras` streams of `program` at `fps`, resolution `width` x `height`; or one real camera
/// (`url`, optional `name`), which ride runs read as an input (ingest.inputs).
struct ScenarioRow {
  std::string program;
  double fps = 0;
  long cameras = 0;
  int width = 0;
  int height = 0;
  std::string url;     ///< empty: synthetic streams
  std::string name;    ///< display name of the camera (optional)
  std::string source;  ///< "FILE:LINE"
};

/// Catalog CSV: columns `name,vcpus,mem_gb,gpus,hourly_usd,max_count`; `gpus` and `max_count` are
/// optional columns and may be empty (0 GPUs, unlimited). Names unique; at least one row.
std::vector<InstanceType> read_catalog(const std::string& path);
/// Requirements CSV: `program,width,height,cpu_per_fps,cpu_base,mem_gb[,gpu]`; numbers >= 0,
/// width/height positive integers, (program,width,height) unique, at least one row.
std::vector<Requirement> read_requirements(const std::string& path);
/// Scenario CSV: `program,fps,cameras,width,height[,url,name]`; fps > 0, cameras >= 0 integer. At
/// least one row. A row with a `url` is one real camera: `cameras` is 1 (or empty), the url has no
/// spaces or commas. (Whether each row has a requirement row is checked by build_classes.)
std::vector<ScenarioRow> read_scenario(const std::string& path);

/// Same parsers on in-memory text; `name` stands for the file name in error messages.
std::vector<InstanceType> parse_catalog(const std::string& text, const std::string& name);
std::vector<Requirement> parse_requirements(const std::string& text, const std::string& name);
std::vector<ScenarioRow> parse_scenario(const std::string& text, const std::string& name);

/// CAM² Table 2 (Oregon prices), with the per-user limit of 5 on each 2xlarge type from CAM²
/// Sec. 5.4.3; identical to configs/catalogs/aws_table2.csv.
const std::string& builtin_catalog_csv();
std::vector<InstanceType> builtin_catalog();

}  // namespace ride::plan

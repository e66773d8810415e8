#pragma once
/// @brief The inputs of `ingest.source = video` (pure parsing; the reading is in ingest/).
#include <string>
#include <utility>
#include <vector>

namespace ride::ingest {

/// One entry of `ingest.inputs`.
struct InputSpec {
  std::string url;     ///< path or URL as given
  std::string name;    ///< display name (default: the URL)
  std::string origin;  ///< where it was given ("FILE:LINE" or "ingest.inputs")
  bool live = false;   ///< is_live_url(url)
};

/// True for URLs read as live streams (see the file comment).
bool is_live_url(const std::string& url);

/// True for a file name an image folder input reads (png, jpg/jpeg, bmp, tif/tiff, pgm/ppm/pbm,
/// webp; any case).
bool is_image_file_name(const std::string& file_name);

/// True for an HDF5 replay input: PATH.h5 or PATH.hdf5, optionally followed by #/DATASET.
bool is_hdf5_input(const std::string& url);
/// (file path, dataset name) of an HDF5 input; the dataset defaults to "/frames".
std::pair<std::string, std::string> split_hdf5_url(const std::string& url);

/// Parses `ingest.inputs`: either a comma-separated list of paths/URLs, or `@FILE`: one input per
/// line as `URL [NAME]`, blank lines and `#` comments skipped (relative paths in FILE resolve
/// against FILE's directory). `where` names the key and its origin for errors (JobConfig::where).
/// Throws ConfigError for an unreadable list, an empty entry, or no input at all.
std::vector<InputSpec> parse_inputs(const std::string& value, const std::string& where);

}  // namespace ride::ingest

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
  /// A camera list's (CSV) per-input desired frame rate, CAM²'s "desired frame rate" of the
  /// camera (0: ingest.fps).
  double fps = 0;
  /// A camera list's declared frame size (0: whatever the input delivers). Frames of another
  /// size are scaled to it (documented in ingest/video_source.h).
  int width = 0, height = 0;
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
///
/// A camera list (#15, a camera-database export): `@FILE` whose first line is a CSV header with
/// the columns `id`, `url`, `fps` and optionally `width`, `height` (in any order; other columns
/// are ignored), then one camera per line: `id` becomes the input's name, `fps` its desired
/// frame rate (> 0), `width`/`height` its declared size (positive, both or neither; empty =
/// none). Fields may be double-quoted (a quote inside doubled). Errors name FILE:LINE and the
/// column: a missing column, a bad number, a repeated id, a line with too few fields.
std::vector<InputSpec> parse_inputs(const std::string& value, const std::string& where);

/// Splits one CSV line into fields (RFC 4180 quoting: "a,b" is one field, "a ""b"" c" holds
/// quotes). Throws ConfigError naming `origin` for an unterminated quote.
std::vector<std::string> split_csv_line(const std::string& line, const std::string& origin);

}  // namespace ride::ingest

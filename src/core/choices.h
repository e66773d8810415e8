#pragma once
/// @brief The configuration's choices (job.mode, worker.device, ingest.source, ...) as enums,
/// parsed once where the configuration is read (config.cpp) and compared as enums everywhere
/// else. Each enum has one table of its names, the text a user writes: parse_choice reads it,
/// to_string gives it back (summary, status, messages) and choice_names lists it for errors
/// ("stream or batch").
#include <array>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace ride {

enum class JobMode { stream, batch };                    ///< job.mode
enum class ResumeMode { off, on, automatic };            ///< job.resume: false | true | auto
enum class DeviceChoice { cpu, gpu, automatic };         ///< worker.device, stage.NAME.device
enum class Partitioning { round_robin, key };            ///< ingest.partitioning, stage.NAME.partitioning
enum class Emit { frame, image };                        ///< stage.NAME.emit
enum class InputSource { synthetic, video };             ///< ingest.source
enum class ColorMode { gray, bgr };                      ///< ingest.color
enum class HttpReader { hub, ffmpeg };                   ///< ingest.http
enum class RtspTransport { automatic, tcp, udp };        ///< ingest.rtsp_transport
enum class Encoding { raw, jpeg };                       ///< ingest.encoding
enum class Allocation { dynamic, fixed };                ///< topic.allocation: dynamic | static
enum class DropPolicy { none, drop_oldest, drop_newest };  ///< broker.drop_policy

/// The names of a choice's values as a user writes them, in the order of the enumerators (the
/// enums above number their values from 0; tests/core/test_choices.cpp reads every name back).
template <typename E>
inline constexpr std::array<std::string_view, 0> kChoiceNames{};
template <>
inline constexpr std::array<std::string_view, 2> kChoiceNames<JobMode>{"stream", "batch"};
template <>
inline constexpr std::array<std::string_view, 3> kChoiceNames<ResumeMode>{"false", "true", "auto"};
template <>
inline constexpr std::array<std::string_view, 2> kChoiceNames<Partitioning>{"round_robin", "key"};
template <>
inline constexpr std::array<std::string_view, 3> kChoiceNames<DeviceChoice>{"cpu", "gpu", "auto"};
template <>
inline constexpr std::array<std::string_view, 2> kChoiceNames<Emit>{"frame", "image"};
template <>
inline constexpr std::array<std::string_view, 3> kChoiceNames<RtspTransport>{"auto", "tcp", "udp"};
template <>
inline constexpr std::array<std::string_view, 2> kChoiceNames<InputSource>{"synthetic", "video"};
template <>
inline constexpr std::array<std::string_view, 3> kChoiceNames<DropPolicy>{"none", "drop_oldest",
                                                                          "drop_newest"};
template <>
inline constexpr std::array<std::string_view, 2> kChoiceNames<ColorMode>{"gray", "bgr"};
template <>
inline constexpr std::array<std::string_view, 2> kChoiceNames<HttpReader>{"hub", "ffmpeg"};
template <>
inline constexpr std::array<std::string_view, 2> kChoiceNames<Encoding>{"raw", "jpeg"};
template <>
inline constexpr std::array<std::string_view, 2> kChoiceNames<Allocation>{"dynamic", "static"};

/// Other spellings a choice reads but never writes: job.resume reads like the boolean keys.
template <typename E>
inline constexpr std::array<std::pair<std::string_view, E>, 0> kChoiceAliases{};
template <>
inline constexpr std::array<std::pair<std::string_view, ResumeMode>, 6> kChoiceAliases<ResumeMode>{
    {{"1", ResumeMode::on}, {"yes", ResumeMode::on}, {"on", ResumeMode::on},
     {"0", ResumeMode::off}, {"no", ResumeMode::off}, {"off", ResumeMode::off}}};

template <typename E>
concept Choice = std::is_enum_v<E> && kChoiceNames<E>.size() > 0;

/// The name of a choice as a user writes it ("stream", "auto", "static").
template <Choice E>
std::string to_string(E value) {
  const auto i = static_cast<std::size_t>(value);
  return i < kChoiceNames<E>.size() ? std::string(kChoiceNames<E>[i]) : std::string("?");
}

/// Reads a choice from its name (or an alias); false, `out` untouched, when it is none of them.
template <Choice E>
bool parse_choice(std::string_view text, E& out) {
  for (std::size_t i = 0; i < kChoiceNames<E>.size(); ++i) {
    if (kChoiceNames<E>[i] == text) {
      out = static_cast<E>(i);
      return true;
    }
  }
  for (const auto& [name, value] : kChoiceAliases<E>) {
    if (name == text) {
      out = value;
      return true;
    }
  }
  return false;
}

/// The names for an error message: "stream or batch", "cpu, gpu or auto".
template <Choice E>
std::string choice_names() {
  const auto& names = kChoiceNames<E>;
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

}  // namespace ride

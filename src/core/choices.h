#pragma once
/// @brief The configuration's choices (job.mode, worker.device, ingest.source, ...) as enums,
/// parsed once where the configuration is read (config.cpp) and compared as enums everywhere
/// else. Each enum has one table of its names, the text a user writes: parse_choice reads it,
/// to_string gives it back (summary, status, messages) and choice_names lists it for errors
/// ("stream or batch").
#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace ride {

enum class JobMode { stream, batch };                      ///< job.mode
enum class ResumeMode { off, on, automatic };              ///< job.resume: false | true | auto
enum class DeviceChoice { cpu, gpu, automatic };           ///< worker.device, stage.NAME.device
enum class Partitioning { round_robin, key };              ///< ingest.partitioning, stage.NAME.partitioning
enum class Emit { frame, image };                          ///< stage.NAME.emit
enum class InputSource { synthetic, video };               ///< ingest.source
enum class ColorMode { gray, bgr };                        ///< ingest.color
enum class HttpReader { hub, ffmpeg };                     ///< ingest.http
enum class RtspTransport { automatic, tcp, udp };          ///< ingest.rtsp_transport
enum class Encoding { raw, jpeg };                         ///< ingest.encoding
enum class Allocation { dynamic, fixed };                  ///< topic.allocation: dynamic | static
enum class DropPolicy { none, drop_oldest, drop_newest };  ///< broker.drop_policy

namespace detail {

using ChoiceTypes = std::tuple<JobMode, ResumeMode, DeviceChoice, Partitioning, Emit, InputSource, ColorMode,
                               HttpReader, RtspTransport, Encoding, Allocation, DropPolicy>;

/// The names every choice's values have for a user: a group per type of ChoiceTypes, in that
/// order, groups separated by "|", names in the order of the enumerators (which number their
/// values from 0). tests/core/test_choices.cpp reads every name back and checks the odd ones.
inline constexpr std::string_view kNames =
    "stream batch | false true auto | cpu gpu auto | round_robin key | frame image | "
    "synthetic video | gray bgr | hub ffmpeg | auto tcp udp | raw jpeg | dynamic static | "
    "none drop_oldest drop_newest";

template <typename E, typename Types>
struct TypeIndex;
template <typename E, typename... Ts>
struct TypeIndex<E, std::tuple<Ts...>> {
  static constexpr std::size_t value = [] {
    std::size_t i = 0;
    (void)((std::is_same_v<E, Ts> ? false : (++i, true)) && ...);
    return i;
  }();
};

/// The k-th word of `text` (words separated by blanks), or "" past the last.
constexpr std::string_view word(std::string_view text, std::size_t k) {
  for (std::size_t at = 0;;) {
    at = text.find_first_not_of(' ', at);
    if (at == std::string_view::npos) return {};
    const std::size_t end = std::min(text.find(' ', at), text.size());
    if (k-- == 0) return text.substr(at, end - at);
    at = end;
  }
}

constexpr std::size_t word_count(std::string_view text) {
  std::size_t n = 0;
  while (!word(text, n).empty()) ++n;
  return n;
}

/// The names of the k-th type of ChoiceTypes.
constexpr std::string_view group(std::size_t k) {
  std::string_view rest = kNames;
  for (; k > 0; --k) rest = rest.substr(rest.find('|') + 1);
  return rest.substr(0, rest.find('|'));
}

template <typename E>
inline constexpr std::size_t kIndex = TypeIndex<E, ChoiceTypes>::value;

}  // namespace detail

/// A choice: one of the enums above.
template <typename E>
concept Choice = detail::kIndex<E> < std::tuple_size_v<detail::ChoiceTypes>;

/// The names of a choice's values as a user writes them, in the order of its enumerators.
template <Choice E>
inline constexpr auto kChoiceNames = [] {
  constexpr std::string_view names = detail::group(detail::kIndex<E>);
  std::array<std::string_view, detail::word_count(names)> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = detail::word(names, i);
  return out;
}();

/// Other spellings a choice reads but never writes: job.resume reads like the boolean keys.
template <typename E>
inline constexpr std::array<std::pair<std::string_view, E>, 0> kChoiceAliases{};
template <>
inline constexpr std::array<std::pair<std::string_view, ResumeMode>, 6> kChoiceAliases<ResumeMode>{
    {{"1", ResumeMode::on},
     {"yes", ResumeMode::on},
     {"on", ResumeMode::on},
     {"0", ResumeMode::off},
     {"no", ResumeMode::off},
     {"off", ResumeMode::off}}};

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

/// The configuration's choices (core/choices.h): every name reads back as its value and is
/// written as it was read; aliases read but are never written; anything else is refused.
#include <gtest/gtest.h>

#include <string>

#include "core/choices.h"

namespace ride {
namespace {

template <Choice E>
void expect_round_trip() {
  const auto& names = kChoiceNames<E>;
  for (std::size_t i = 0; i < names.size(); ++i) {
    E parsed{};
    ASSERT_TRUE(parse_choice(names[i], parsed)) << names[i];
    EXPECT_EQ(parsed, static_cast<E>(i)) << names[i];
    EXPECT_EQ(to_string(static_cast<E>(i)), names[i]);
  }
  const E last = static_cast<E>(names.size() - 1);
  E untouched = last;
  EXPECT_FALSE(parse_choice("", untouched));
  EXPECT_FALSE(parse_choice("nonsense", untouched));
  EXPECT_FALSE(parse_choice(std::string(names.front()) + " ", untouched));
  EXPECT_EQ(untouched, last);
  EXPECT_EQ(to_string(static_cast<E>(names.size())), "?");  // not a value of E
}

TEST(Choices, EveryNameRoundTrips) {
  expect_round_trip<JobMode>();
  expect_round_trip<ResumeMode>();
  expect_round_trip<DeviceChoice>();
  expect_round_trip<Partitioning>();
  expect_round_trip<Emit>();
  expect_round_trip<InputSource>();
  expect_round_trip<ColorMode>();
  expect_round_trip<HttpReader>();
  expect_round_trip<RtspTransport>();
  expect_round_trip<Encoding>();
  expect_round_trip<Allocation>();
  expect_round_trip<DropPolicy>();
}

TEST(Choices, NamesAreWhatUsersWrite) {
  EXPECT_EQ(to_string(DeviceChoice::automatic), "auto");
  EXPECT_EQ(to_string(Allocation::fixed), "static");
  EXPECT_EQ(to_string(ResumeMode::off), "false");
  EXPECT_EQ(to_string(RtspTransport::automatic), "auto");
  // Every table at once: a group of names given to the wrong enum shows here.
  const std::string all = choice_names<JobMode>() + "; " + choice_names<ResumeMode>() + "; " +
                          choice_names<DeviceChoice>() + "; " + choice_names<Partitioning>() + "; " +
                          choice_names<Emit>() + "; " + choice_names<InputSource>() + "; " + choice_names<ColorMode>() +
                          "; " + choice_names<HttpReader>() + "; " + choice_names<RtspTransport>() + "; " +
                          choice_names<Encoding>() + "; " + choice_names<Allocation>() + "; " +
                          choice_names<DropPolicy>();
  EXPECT_EQ(all,
            "stream or batch; false, true or auto; cpu, gpu or auto; round_robin or key; frame or image; "
            "synthetic or video; gray or bgr; hub or ffmpeg; auto, tcp or udp; raw or jpeg; "
            "dynamic or static; none, drop_oldest or drop_newest");
}

TEST(Choices, ResumeReadsLikeABooleanButWritesItsOwnNames) {
  for (const char* yes : {"true", "1", "yes", "on"}) {
    ResumeMode m = ResumeMode::off;
    ASSERT_TRUE(parse_choice(yes, m)) << yes;
    EXPECT_EQ(m, ResumeMode::on) << yes;
  }
  for (const char* no : {"false", "0", "no", "off"}) {
    ResumeMode m = ResumeMode::on;
    ASSERT_TRUE(parse_choice(no, m)) << no;
    EXPECT_EQ(m, ResumeMode::off) << no;
  }
  EXPECT_EQ(choice_names<ResumeMode>(), "false, true or auto");  // aliases are not advertised
  DeviceChoice d = DeviceChoice::cpu;
  EXPECT_FALSE(parse_choice("yes", d));  // only job.resume has aliases
}

}  // namespace
}  // namespace ride

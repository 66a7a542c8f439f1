// Tests for robots_tag_opt_out: which X-Robots-Tag values opt a response out for imgpipe.
#include "stages/robots_tag.h"

#include <gtest/gtest.h>

namespace imgpipe {
namespace {

const std::vector<std::string> kDefault = {"noai", "noimageai", "noindex", "noimageindex", "noml"};

// As the downloader asks: each header's value in turn, the first opt-out wins.
std::string out(const std::vector<std::string>& values,
                const std::vector<std::string>& disallowed = kDefault) {
  for (const std::string& v : values) {
    std::string d = robots_tag_opt_out(v, disallowed);
    if (!d.empty()) return d;
  }
  return "";
}

TEST(RobotsTag, ADirectiveForEveryAgentOptsOut) {
  EXPECT_EQ(out({"noai"}), "noai");
  EXPECT_EQ(out({"nofollow, NoImageAI"}), "noimageai") << "any case, any place in the list";
  EXPECT_EQ(out({"  noindex ,nofollow"}), "noindex");
  EXPECT_EQ(out({"noml"}), "noml");
}

TEST(RobotsTag, OtherDirectivesAndOtherAgentsDoNot) {
  EXPECT_EQ(out({}), "");
  EXPECT_EQ(out({"nofollow, noarchive"}), "");
  EXPECT_EQ(out({"googlebot: noindex"}), "") << "addressed to another agent";
  EXPECT_EQ(out({"otherbot: noai, noimageai"}), "");
  EXPECT_EQ(out({"noindexing, xnoai"}), "") << "whole directives only";
  EXPECT_EQ(out({""}), "");
}

TEST(RobotsTag, OurAgentTokenIsHeard) {
  EXPECT_EQ(out({"imgpipe: noai"}), "noai");
  EXPECT_EQ(out({"ImgPipe :  nofollow, noimageindex"}), "noimageindex");
}

// "max-image-preview: none" is a directive with a value, not an agent named max-image-preview;
// the value's own commas still separate directives that apply to every agent.
TEST(RobotsTag, DirectivesWithValuesNameNoAgent) {
  EXPECT_EQ(out({"max-image-preview: none"}), "");
  EXPECT_EQ(out({"unavailable_after: 25 Jun 2030 15:00:00 PST, noai"}), "noai");
}

TEST(RobotsTag, EachHeaderIsReadOnItsOwn) {
  EXPECT_EQ(out({"googlebot: nofollow", "noml"}), "noml");
  EXPECT_EQ(out({"googlebot: noai", "nofollow"}), "");
}

TEST(RobotsTag, TheUsersListDecides) {
  EXPECT_EQ(out({"noai"}, {}), "") << "an empty list turns the check off";
  EXPECT_EQ(out({"noai"}, {""}), "");
  EXPECT_EQ(out({"noarchive"}, {"noarchive"}), "noarchive");
  EXPECT_EQ(out({"noai"}, {"noarchive"}), "");
}

}  // namespace
}  // namespace imgpipe

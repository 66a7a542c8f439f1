// Tests for ResumeSet: a line is skipped only with the same number and the same URL.
#include "stages/resume.h"

#include <gtest/gtest.h>

namespace imgpipe {
namespace {

DoneLines done_lines(std::initializer_list<std::pair<uint64_t, const char*>> lines) {
  DoneLines done;
  for (const auto& [line, url] : lines) done.push_back({line, url_hash(url), 0, 0});
  return done;
}

TEST(ResumeSet, SkipsOnlyTheSameLineWithTheSameUrl) {
  ResumeSet set;
  set.assign(done_lines({{2, "http://h/a"}, {3, "http://h/b"}, {9, "http://h/c"}}));
  EXPECT_FALSE(set.skip(1, "http://h/a"));  // not done
  EXPECT_TRUE(set.skip(2, "http://h/a"));
  EXPECT_FALSE(set.skip(3, "http://h/a"));  // done, but for another URL: redo
  EXPECT_EQ(set.skipped(), 1u);
  EXPECT_EQ(set.done(), 3u);
  EXPECT_TRUE(set.any_stale());
  EXPECT_FALSE(set.stale(2));
  EXPECT_TRUE(set.stale(3));
  EXPECT_FALSE(set.stale(9)) << "not reached yet: the run may have been interrupted";
  set.list_ended();
  EXPECT_TRUE(set.stale(9)) << "the list ended before line 9";
  EXPECT_FALSE(set.stale(2));
}

TEST(ResumeSet, AnUnchangedListLeavesNothingStale) {
  ResumeSet set;
  set.assign(done_lines({{1, "u1"}, {2, "u2"}}));
  EXPECT_TRUE(set.skip(1, "u1"));
  EXPECT_TRUE(set.skip(2, "u2"));
  set.list_ended();
  EXPECT_FALSE(set.any_stale());
  EXPECT_EQ(set.skipped(), 2u);
}

TEST(ResumeSet, CountsTheKeptFailuresItSkips) {
  ResumeSet set;
  DoneLines done = done_lines({{1, "u1"}, {2, "u2"}, {3, "u3"}});
  done[1].failed = done[2].failed = true;
  set.assign(std::move(done));
  EXPECT_TRUE(set.skip(1, "u1"));
  EXPECT_TRUE(set.skip(2, "u2"));
  EXPECT_FALSE(set.skip(3, "another"));  // stale: redone, so not a kept failure
  EXPECT_EQ(set.skipped(), 2u);
  EXPECT_EQ(set.skipped_failed(), 1u);
}

TEST(ResumeSet, EmptySkipsNothing) {
  ResumeSet set;
  EXPECT_FALSE(set.skip(1, "u"));
  set.list_ended();
  EXPECT_FALSE(set.any_stale());
}

}  // namespace
}  // namespace imgpipe

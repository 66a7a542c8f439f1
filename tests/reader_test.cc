// Tests for the streaming URL-list reader.
#include "stages/reader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <thread>
#include <vector>

namespace imgpipe {
namespace {

std::vector<ListLine> read_all(const std::string& text) {
  std::istringstream in(text);
  ListReader reader(in);
  std::vector<ListLine> lines;
  ListLine line;
  while (reader.next(&line)) lines.push_back(line);
  return lines;
}

TEST(ListReader, SkipsBlankAndCommentLinesButCountsThem) {
  auto lines = read_all("http://a/1\n\n# comment\n   \nhttp://a/2\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].number, 1u);
  EXPECT_EQ(lines[0].text, "http://a/1");
  EXPECT_EQ(lines[1].number, 5u);
  EXPECT_EQ(lines[1].text, "http://a/2");
}

TEST(ListReader, TrimsWhitespaceAndCrlf) {
  auto lines = read_all("  http://a/1 \r\n\thttp://a/2\r\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, "http://a/1");
  EXPECT_EQ(lines[1].text, "http://a/2");
}

TEST(ListReader, LastLineWithoutNewline) {
  auto lines = read_all("http://a/1\nhttp://a/2");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].text, "http://a/2");
  EXPECT_EQ(lines[1].number, 2u);
}

TEST(ListReader, EmptyInputHasNoLines) {
  EXPECT_TRUE(read_all("").empty());
  EXPECT_TRUE(read_all("\n\n# only comments\n").empty());
}

TEST(ListReader, OverlongLineIsCappedAndFlagged) {
  std::string huge(ListReader::kMaxLineBytes * 3, 'a');
  auto lines = read_all("http://a/1\n" + huge + "\nhttp://a/3\n");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_FALSE(lines[0].too_long);
  EXPECT_TRUE(lines[1].too_long);
  EXPECT_EQ(lines[1].text.size(), ListReader::kMaxLineBytes);
  EXPECT_EQ(lines[2].text, "http://a/3");
  EXPECT_EQ(lines[2].number, 3u);
}

TEST(ListReader, CommentMarkOnlyAtLineStart) {
  auto lines = read_all("http://a/x#frag\n  # indented comment\n");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, "http://a/x#frag");
}

TEST(LineFeeder, DeliversEveryLineInOrderThenEnds) {
  std::string text;
  for (int i = 1; i <= 2000; ++i) text += "http://a/" + std::to_string(i) + "\n";  // > queue size
  std::istringstream in(text);
  std::atomic<int> wakes{0};
  LineFeeder feeder(in, [&wakes] { ++wakes; });
  std::vector<uint64_t> numbers;
  ListLine line;
  for (;;) {
    NextLine next = feeder.try_next(&line);
    if (next == NextLine::kEnd) break;
    if (next == NextLine::kNotYet) {
      std::this_thread::yield();
      continue;
    }
    EXPECT_EQ(line.text, "http://a/" + std::to_string(line.number));
    numbers.push_back(line.number);
  }
  ASSERT_EQ(numbers.size(), 2000u);
  for (size_t i = 0; i < numbers.size(); ++i) ASSERT_EQ(numbers[i], i + 1);
  EXPECT_GE(wakes.load(), 1);
  EXPECT_EQ(feeder.try_next(&line), NextLine::kEnd);  // stays ended
}

TEST(LineFeeder, DestroyedBeforeDrainingDoesNotHang) {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "http://a/x\n";
  std::istringstream in(text);
  LineFeeder feeder(in, [] {});  // the reader fills the queue and waits; the destructor frees it
}

}  // namespace
}  // namespace imgpipe

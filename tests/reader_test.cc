// Tests for the streaming URL-list reader.
#include "stages/reader.h"

#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <sstream>
#include <thread>
#include <vector>

#include "fixtures/temp_dir.h"

namespace imgpipe {
namespace {

namespace fs = std::filesystem;

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

// ---- helpers for the formats ----

std::vector<ListLine> read_format(const std::string& text, ListFormat format,
                                  const std::string& url_column = "url") {
  std::istringstream in(text);
  ListReader reader(in, format, url_column);
  std::string why;
  EXPECT_TRUE(reader.read_header(&why)) << why;
  std::vector<ListLine> lines;
  ListLine line;
  while (reader.next(&line)) lines.push_back(line);
  return lines;
}

std::string header_error(const std::string& text, ListFormat format,
                         const std::string& url_column = "url") {
  std::istringstream in(text);
  ListReader reader(in, format, url_column);
  std::string why;
  EXPECT_FALSE(reader.read_header(&why));
  return why;
}

TEST(ListReaderCsv, QuotedFieldsAndExtraColumns) {
  auto lines = read_format(
      "id,url,title\n"
      "1,http://a/1,plain\n"
      "2,\"http://a/2?x=1,2\",\"say \"\"hi\"\", twice\"\n"
      "3,http://a/3,\"two\nlines\"\n"
      "4, http://a/4 ,last\n",
      ListFormat::kCsv);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].text, "http://a/1");
  EXPECT_EQ(lines[0].extra, nlohmann::ordered_json({{"id", "1"}, {"title", "plain"}}));
  EXPECT_EQ(lines[1].text, "http://a/2?x=1,2");
  EXPECT_EQ(lines[1].extra["title"], "say \"hi\", twice");
  EXPECT_EQ(lines[2].extra["title"], "two\nlines");
  EXPECT_EQ(lines[3].text, "http://a/4");
  EXPECT_EQ(lines[3].extra.dump(), R"({"id":"4","title":"last"})");  // header order kept
  for (const ListLine& l : lines) {
    EXPECT_TRUE(l.error.empty()) << l.error;
    EXPECT_FALSE(l.too_long);
  }
}

TEST(ListReaderCsv, NumbersAreTheLineARecordStartsOn) {
  auto lines = read_format(
      "url,note\r\n"                    // 1, CRLF
      "\r\n"                            // 2, blank
      "http://a/3,\"x\r\ny\r\nz\"\r\n"  // 3-5
      "   \n"                           // 6, blank
      ",\n"                             // 7, all fields empty: skipped like a blank line
      "\"http://a/8\nstill 8\",n\n"     // 8-9, the URL field itself spans lines
      "http://a/10,n",                  // 10, no final newline
      ListFormat::kCsv);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].number, 3u);
  EXPECT_EQ(lines[0].extra["note"], "x\r\ny\r\nz");
  EXPECT_EQ(lines[1].number, 8u);
  EXPECT_EQ(lines[1].text, "http://a/8\nstill 8");
  EXPECT_EQ(lines[2].number, 10u);
  EXPECT_EQ(lines[2].text, "http://a/10");
}

TEST(ListReaderCsv, CommentsAreRecordsInCsv) {
  auto lines = read_format("url\n# not a comment\n", ListFormat::kCsv);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, "# not a comment");
}

TEST(ListReaderCsv, WrongFieldCountIsAnErrorRecord) {
  auto lines =
      read_format("url,id,title\nhttp://a/2,2\nhttp://a/3,3,t\nhttp://a/4\n", ListFormat::kCsv);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].error, "CSV row has 2 fields, header has 3");
  EXPECT_EQ(lines[0].number, 2u);
  EXPECT_TRUE(lines[1].error.empty());
  EXPECT_EQ(lines[1].text, "http://a/3");
  EXPECT_EQ(lines[2].error, "CSV row has 1 field, header has 3");
  EXPECT_EQ(lines[2].number, 4u);
}

TEST(ListReaderCsv, EmptyUrlIsAnErrorRecord) {
  auto lines = read_format("url,id\n  ,1\n", ListFormat::kCsv);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].error, "empty \"url\" column");
}

TEST(ListReaderCsv, BadQuotingIsAnErrorRecordAndParsingResumes) {
  auto lines = read_format("url,id\nhttp://a/\"x\",2\n\"http://a/3\"junk,3\nhttp://a/4,4\n",
                           ListFormat::kCsv);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].error.find("malformed CSV quoting"), std::string::npos) << lines[0].error;
  EXPECT_EQ(lines[0].number, 2u);
  EXPECT_NE(lines[1].error.find("malformed CSV quoting"), std::string::npos) << lines[1].error;
  EXPECT_EQ(lines[1].number, 3u);
  EXPECT_EQ(lines[2].text, "http://a/4");
  EXPECT_EQ(lines[2].number, 4u);
}

TEST(ListReaderCsv, UnterminatedQuoteAtTheEndIsAnErrorRecord) {
  auto lines = read_format("url,id\nhttp://a/2,2\n\"http://a/3,3\nmore\n", ListFormat::kCsv);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].number, 3u);
  EXPECT_EQ(lines[1].error, "unterminated quoted field at the end of the list");
}

// A quote left open must not swallow the rest of the list: the record is capped, reported as too
// long, and parsing resumes on the next line.
TEST(ListReaderCsv, UnterminatedQuoteInALongListStaysBounded) {
  std::string text = "url,id\n\"http://a/bad,2\n";
  const int kLines = 100000;  // ~2 MB, far past the cap
  for (int i = 3; i < kLines + 3; ++i) text += "http://a/" + std::to_string(i) + "," + "x\n";
  auto lines = read_format(text, ListFormat::kCsv);
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(lines[0].too_long);
  EXPECT_EQ(lines[0].number, 2u);
  EXPECT_LE(lines[0].text.size(), ListReader::kMaxLineBytes);
  EXPECT_EQ(lines[0].text.rfind("\"http://a/bad,2\n", 0), 0u);       // the raw start of the record
  ASSERT_GT(lines.size(), kLines - ListReader::kMaxLineBytes / 10);  // only ~64 KiB was lost
  const ListLine& last = lines.back();
  EXPECT_TRUE(last.error.empty()) << last.error;
  EXPECT_EQ(last.number, static_cast<uint64_t>(kLines + 2));
  EXPECT_EQ(last.text, "http://a/" + std::to_string(kLines + 2));
}

TEST(ListReaderCsv, OverlongRecordIsCappedAndFlagged) {
  std::string huge(ListReader::kMaxLineBytes * 3, 'a');
  auto lines =
      read_format("url,id\nhttp://a/2,2\nhttp://" + huge + ",3\nhttp://a/4,4\n", ListFormat::kCsv);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_FALSE(lines[0].too_long);
  EXPECT_TRUE(lines[1].too_long);
  EXPECT_EQ(lines[1].number, 3u);
  EXPECT_EQ(lines[1].text.size(), ListReader::kMaxLineBytes);
  EXPECT_EQ(lines[2].text, "http://a/4");
  EXPECT_EQ(lines[2].number, 4u);
}

TEST(ListReaderCsv, RecordOfExactlyTheCapIsNotTooLong) {
  std::string url = "http://a/" + std::string(ListReader::kMaxLineBytes - 9, 'a');
  auto lines = read_format("url\n" + url + "\r\n", ListFormat::kCsv);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_FALSE(lines[0].too_long);
  EXPECT_EQ(lines[0].text, url);
}

TEST(ListReaderCsv, OtherUrlColumnAndByteOrderMark) {
  auto lines = read_format("\xEF\xBB\xBFid,link\n7,http://a/7\n", ListFormat::kCsv, "link");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, "http://a/7");
  EXPECT_EQ(lines[0].extra, nlohmann::ordered_json({{"id", "7"}}));
}

TEST(ListReaderHeader, MissingUrlColumnNamesTheColumnsFound) {
  EXPECT_EQ(header_error("id,link\n1,http://a/1\n", ListFormat::kCsv),
            "no column \"url\" in the header (columns: id, link)");
  EXPECT_EQ(header_error("id\tlink\n", ListFormat::kTsv),
            "no column \"url\" in the header (columns: id, link)");
  EXPECT_EQ(header_error("id,url\n", ListFormat::kCsv, "link"),
            "no column \"link\" in the header (columns: id, url)");
}

TEST(ListReaderHeader, EmptyListAndDuplicateColumns) {
  EXPECT_NE(header_error("", ListFormat::kCsv).find("the list is empty"), std::string::npos);
  EXPECT_NE(header_error("\n  \n", ListFormat::kTsv).find("the list is empty"), std::string::npos);
  EXPECT_EQ(header_error("url,id,url\n", ListFormat::kCsv),
            "duplicate column \"url\" in the header");
}

TEST(ListReaderHeader, NotNeededForTextAndJsonl) {
  std::istringstream in("");
  std::string why;
  EXPECT_TRUE(ListReader(in, ListFormat::kTxt).read_header(&why));
  EXPECT_TRUE(ListReader(in, ListFormat::kJsonl).read_header(&why));
}

// next() without read_header() still checks the header, reporting a bad one as one record.
TEST(ListReaderHeader, NextReadsTheHeaderIfNeeded) {
  {
    std::istringstream in("\nid,link\n1,http://a/1\n");
    ListReader reader(in, ListFormat::kCsv);
    ListLine line;
    ASSERT_TRUE(reader.next(&line));
    EXPECT_EQ(line.number, 2u);
    EXPECT_EQ(line.error, "no column \"url\" in the header (columns: id, link)");
    EXPECT_FALSE(reader.next(&line));
  }
  {
    std::istringstream in("url,id\nhttp://a/2,2\n");
    ListReader reader(in, ListFormat::kCsv);
    ListLine line;
    ASSERT_TRUE(reader.next(&line));
    EXPECT_EQ(line.text, "http://a/2");
  }
  {
    std::istringstream in("");
    ListReader reader(in, ListFormat::kTsv);
    ListLine line;
    EXPECT_FALSE(reader.next(&line));  // an empty list is just empty
  }
}

TEST(ListReaderTsv, FieldsAreTabSeparatedWithoutQuoting) {
  auto lines = read_format(
      "id\turl\ttitle\r\n"
      "1\thttp://a/1\t\"quoted\", kept\r\n"
      "\r\n"
      "2\t http://a/2 \t\n"
      "3\thttp://a/3\n",
      ListFormat::kTsv);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].number, 2u);
  EXPECT_EQ(lines[0].text, "http://a/1");
  EXPECT_EQ(lines[0].extra, nlohmann::ordered_json({{"id", "1"}, {"title", "\"quoted\", kept"}}));
  EXPECT_EQ(lines[1].number, 4u);
  EXPECT_EQ(lines[1].text, "http://a/2");
  EXPECT_EQ(lines[1].extra["title"], "");
  EXPECT_EQ(lines[2].number, 5u);
  EXPECT_EQ(lines[2].error, "TSV row has 2 fields, header has 3");
}

TEST(ListReaderTsv, OverlongLineIsCappedAndFlagged) {
  std::string huge(ListReader::kMaxLineBytes * 2, 'a');
  auto lines = read_format("url\n" + huge + "\nhttp://a/3\n", ListFormat::kTsv);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0].too_long);
  EXPECT_EQ(lines[0].text.size(), ListReader::kMaxLineBytes);
  EXPECT_EQ(lines[1].number, 3u);
}

TEST(ListReaderJsonl, ExtraFieldsKeepTheirJsonTypes) {
  auto lines = read_format(
      R"({"n":1,"url":" http://a/1 ","f":1.5,"b":true,"z":null,"arr":[1,"x"],"obj":{"k":"v"}})"
      "\n",
      ListFormat::kJsonl);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].error.empty()) << lines[0].error;
  EXPECT_EQ(lines[0].text, "http://a/1");
  EXPECT_EQ(lines[0].extra.dump(),
            R"({"n":1,"f":1.5,"b":true,"z":null,"arr":[1,"x"],"obj":{"k":"v"}})");
  EXPECT_TRUE(lines[0].extra["n"].is_number_integer());
}

TEST(ListReaderJsonl, MalformedRecordsAreErrorRecords) {
  auto lines = read_format(
      "[1,2]\n"                    // 1
      "\n"                         // 2
      "{\"id\":3}\n"               // 3
      "{\"url\":4}\n"              // 4
      "{\"url\":\"http://a/5\"\n"  // 5, unclosed
      "# comment\n"                // 6, comments are text-only
      "{\"url\":\"http://a/7\"}\n",
      ListFormat::kJsonl);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0].error, "not a JSON object");
  EXPECT_EQ(lines[0].number, 1u);
  EXPECT_EQ(lines[1].error, "no \"url\" field");
  EXPECT_EQ(lines[1].number, 3u);
  EXPECT_EQ(lines[2].error, "\"url\" field is not a string (number)");
  EXPECT_EQ(lines[3].error.rfind("invalid JSON: ", 0), 0u) << lines[3].error;
  EXPECT_EQ(lines[3].number, 5u);
  EXPECT_EQ(lines[4].error.rfind("invalid JSON: ", 0), 0u) << lines[4].error;
  EXPECT_EQ(lines[5].text, "http://a/7");
  EXPECT_EQ(lines[5].number, 7u);
  EXPECT_TRUE(lines[5].error.empty());
}

TEST(ListReaderJsonl, OtherUrlField) {
  auto lines = read_format("{\"url\":\"x\",\"link\":\"http://a/1\"}\n{\"url\":\"http://a/2\"}\n",
                           ListFormat::kJsonl, "link");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, "http://a/1");
  EXPECT_EQ(lines[0].extra, nlohmann::ordered_json({{"url", "x"}}));
  EXPECT_EQ(lines[1].error, "no \"link\" field");
}

// ---- hostile records (issue 13) ----

// What the manifest does with a record's other fields: copy them into the row and write it.
std::string as_manifest_writes(const ListLine& line) {
  nlohmann::ordered_json row = {{"input", line.extra}};
  return row.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string nested_arrays(size_t levels) {
  return std::string(levels, '[') + std::string(levels, ']');
}

TEST(ListReaderJsonl, NestingIsBoundedAndADeeperRecordIsAnErrorRecord) {
  const size_t kMax = ListReader::kMaxJsonDepth;
  std::string deep_objects = "1";
  for (size_t i = 0; i < kMax; ++i) deep_objects = "{\"k\":" + deep_objects + "}";
  const std::string kLongestLine(ListReader::kMaxLineBytes, '[');  // not too long: exactly the cap
  const std::string deep_in_a_field =
      "{\"url\":\"http://a/5\",\"x\":" + nested_arrays((ListReader::kMaxLineBytes - 40) / 2) + "}";
  auto lines =
      read_format("{\"url\":\"http://a/1\",\"x\":" + nested_arrays(kMax - 1) +
                      "}\n"  // the record + 63: ok
                      "{\"url\":\"http://a/2\",\"x\":" +
                      nested_arrays(kMax) +
                      "}\n"  // 65 levels
                      "{\"url\":\"http://a/3\",\"x\":" +
                      deep_objects + "}\n"  // objects count too
                      + kLongestLine + "\n" + deep_in_a_field + "\n" + "{\"url\":\"http://a/6\"}\n",
                  ListFormat::kJsonl);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_TRUE(lines[0].error.empty()) << lines[0].error;
  EXPECT_EQ(lines[0].text, "http://a/1");
  EXPECT_EQ(as_manifest_writes(lines[0]), "{\"input\":{\"x\":" + nested_arrays(kMax - 1) + "}}");
  const std::string kTooDeep = "JSON nested deeper than " + std::to_string(kMax) + " levels";
  for (size_t i = 1; i < 5; ++i) {
    EXPECT_EQ(lines[i].error, kTooDeep) << "line " << lines[i].number;
    EXPECT_EQ(lines[i].number, i + 1);
    EXPECT_FALSE(lines[i].too_long);
    EXPECT_TRUE(lines[i].extra.empty());
  }
  EXPECT_EQ(lines[5].text, "http://a/6");
  EXPECT_TRUE(lines[5].error.empty()) << lines[5].error;
  for (const ListLine& l : lines) as_manifest_writes(l);  // without the bound: a stack overflow
}

TEST(ListReaderJsonl, RepeatedKeysKeepTheFirstPlaceAndTheLastValue) {
  auto lines =
      read_format(R"({"a":1,"url":"http://a/x","b":{"k":1,"j":2,"k":[3]},"a":4,"url":"http://a/1"})"
                  "\n",
                  ListFormat::kJsonl);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].error.empty()) << lines[0].error;
  EXPECT_EQ(lines[0].text, "http://a/1");
  EXPECT_EQ(lines[0].extra.dump(), R"({"a":4,"b":{"k":[3],"j":2}})");  // as nlohmann::parse gives

  // The same in an object too wide to compare its keys pairwise.
  std::string wide = "{\"url\":\"http://a/1\"", expect = "{";
  for (int k = 0; k < 40; ++k) {
    wide += ",\"k" + std::to_string(k) + "\":" + std::to_string(k);
    expect +=
        (k ? ",\"k" : "\"k") + std::to_string(k) + "\":" + (k == 3 ? "-1" : std::to_string(k));
  }
  wide += ",\"k3\":-2,\"k3\":-1}";
  lines = read_format(wide + "\n", ListFormat::kJsonl);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].extra.dump(), expect + "}");
  auto dom = nlohmann::ordered_json::parse(wide);
  dom.erase("url");
  EXPECT_EQ(lines[0].extra, dom);
}

TEST(ListReader, NulByteInATextLineIsAnErrorRecord) {
  using namespace std::string_literals;
  auto lines = read_all("http://a/1\nhttp://a/2\0.evil\n# comment \0 skipped\n\0\nhttp://a/5\n"s);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_TRUE(lines[0].error.empty());
  EXPECT_EQ(lines[1].number, 2u);
  EXPECT_EQ(lines[1].error, "NUL byte in the line");
  EXPECT_EQ(lines[1].text, "http://a/2\0.evil"s);  // recorded whole, to show what was there
  EXPECT_EQ(lines[2].number, 4u);
  EXPECT_EQ(lines[2].error, "NUL byte in the line");
  EXPECT_EQ(lines[3].text, "http://a/5");
  EXPECT_TRUE(lines[3].error.empty());
}

TEST(ListReaderCsv, NulByteAnywhereInARecordIsAnErrorRecord) {
  using namespace std::string_literals;
  auto lines = read_format(
      "url,note\n"
      "http://a/2\0x,n\n"                // 2: the URL field
      "http://a/3,\"quoted \0 note\"\n"  // 3: inside a quoted field
      "http://a/4,\"two\nlines \0\"\n"   // 4-5: on the record's second line
      "http://a/6,n\n"s,
      ListFormat::kCsv);
  ASSERT_EQ(lines.size(), 4u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(lines[i].error, "NUL byte in the record") << i;
  EXPECT_EQ(lines[1].number, 3u);
  EXPECT_EQ(lines[2].number, 4u);
  EXPECT_EQ(lines[3].number, 6u);
  EXPECT_EQ(lines[3].text, "http://a/6");
  EXPECT_TRUE(lines[3].error.empty()) << lines[3].error;
}

TEST(ListReaderTsv, NulByteInALineIsAnErrorRecord) {
  using namespace std::string_literals;
  auto lines =
      read_format("url\tid\nhttp://a/2\0\t2\nhttp://a/3\t\0\nhttp://a/4\t4\n"s, ListFormat::kTsv);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].error, "NUL byte in the line");
  EXPECT_EQ(lines[1].error, "NUL byte in the line");
  EXPECT_EQ(lines[2].text, "http://a/4");
  EXPECT_TRUE(lines[2].error.empty()) << lines[2].error;
}

TEST(ListReaderHeader, NulByteInTheHeaderIsABadHeader) {
  using namespace std::string_literals;
  EXPECT_EQ(header_error("url,i\0d\n"s, ListFormat::kCsv), "the CSV header row holds a NUL byte");
  EXPECT_EQ(header_error("url\ti\0d\n"s, ListFormat::kTsv), "the TSV header row holds a NUL byte");
}

// A raw NUL is not JSON; an escaped one is, and only the URL must not hold it.
TEST(ListReaderJsonl, NulInTheLineOrTheUrlIsAnErrorRecord) {
  using namespace std::string_literals;
  auto lines = read_format(
      "{\"url\":\"http://a/1\0\"}\n"s
      R"({"url":"http://a/2\u0000.evil"})"
      "\n"
      R"({"url":"http://a/3","note":"a\u0000b"})"
      "\n",
      ListFormat::kJsonl);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].error, "NUL byte in the line");
  EXPECT_EQ(lines[1].error, "\"url\" field holds a NUL character (\\u0000)");
  EXPECT_TRUE(lines[2].error.empty()) << lines[2].error;
  EXPECT_EQ(lines[2].extra["note"], "a\0b"s);
  EXPECT_EQ(as_manifest_writes(lines[2]), R"({"input":{"note":"a\u0000b"}})");
}

// ---- wide records: reading must cost what the bytes cost, not the square of the columns ----

// CPU time of this thread: unlike the wall clock, not stretched by other load on the machine.
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Reads a whole list; the CPU seconds it took. Every record must be a good one.
double seconds_to_read(const std::string& text, ListFormat format, size_t records) {
  double start = thread_cpu_seconds();
  std::istringstream in(text);
  ListReader reader(in, format);
  size_t n = 0, bad = 0;
  ListLine line;
  while (reader.next(&line)) {
    ++n;
    if (!line.error.empty() && bad++ == 0) ADD_FAILURE() << line.error.substr(0, 300);
  }
  double seconds = thread_cpu_seconds() - start;
  EXPECT_EQ(n, records);
  return seconds;
}

// make(columns, records) writes a list. The same number of fields as `records` records of kWide
// columns, or 100 times more records of 100 columns, must cost about the same; a search of the
// record's keys for each column (O(n²) a record) makes the wide one ~50 times slower. Tries are
// repeated, best kept, to shed noise; a quadratic reader takes seconds per wide try.
void expect_linear_in_columns(ListFormat format, int wide,
                              const std::function<std::string(int, int)>& make) {
  const int kRecords = 50, kNarrow = 100;
  const std::string wide_list = make(wide, kRecords);
  const std::string narrow_list = make(kNarrow, kRecords * wide / kNarrow);
  double narrow_s = 1e9, wide_s = 1e9;
  for (int i = 0; i < 3; ++i)
    narrow_s = std::min(narrow_s, seconds_to_read(narrow_list, format, kRecords * wide / kNarrow));
  const double kMaxRatio = 10;  // linear readers measure ~1-2 here, quadratic ones ~50 and more
  for (int i = 0; i < 3 && wide_s > kMaxRatio * narrow_s; ++i)
    wide_s = std::min(wide_s, seconds_to_read(wide_list, format, kRecords));
  testing::Test::RecordProperty("wide_cpu_ms", std::to_string(wide_s * 1000));
  testing::Test::RecordProperty("narrow_cpu_ms", std::to_string(narrow_s * 1000));
  EXPECT_LT(wide_s, kMaxRatio * narrow_s)
      << kRecords << " records of " << wide << " columns took " << wide_s << " s, "
      << kRecords * wide / kNarrow << " of " << kNarrow << " took " << narrow_s << " s";
}

// Header names "url" and "0000".."9998" (10,000 columns in a 50 KB header), then rows of "x"s.
std::string wide_table(int columns, int records, char sep) {
  std::string text = "url";
  char name[16];
  for (int c = 1; c < columns; ++c) {
    std::snprintf(name, sizeof name, "%c%04d", sep, c - 1);
    text += name;
  }
  text += "\n";
  std::string rest;
  for (int c = 1; c < columns; ++c) rest += std::string(1, sep) + "x";
  for (int r = 0; r < records; ++r) text += "http://a/" + std::to_string(r) + rest + "\n";
  return text;
}

TEST(ListReaderWide, CsvRecordsOf10000ColumnsAreLinear) {
  auto lines = read_format(wide_table(10000, 1, ','), ListFormat::kCsv);
  ASSERT_EQ(lines.size(), 1u);
  ASSERT_EQ(lines[0].extra.size(), 9999u);
  EXPECT_EQ(lines[0].extra.begin().key(), "0000");  // header order kept
  EXPECT_EQ((--lines[0].extra.end()).key(), "9998");
  expect_linear_in_columns(ListFormat::kCsv, 10000,
                           [](int c, int r) { return wide_table(c, r, ','); });
}

TEST(ListReaderWide, TsvRecordsOf10000ColumnsAreLinear) {
  expect_linear_in_columns(ListFormat::kTsv, 10000,
                           [](int c, int r) { return wide_table(c, r, '\t'); });
}

// The header's check for repeated names. 20,000 columns, about the most a 64 KiB header holds (a
// two-byte name and a tab each), against 20,000 records of one column: a search of the names
// before each one (O(n²)) takes ~100 times longer, a hash set about the same time.
TEST(ListReaderWide, HeaderOf20000ColumnsIsLinear) {
  const int kColumns = 20000;
  std::string wide = "url", narrow = "url\n";
  for (int c = 1; c < kColumns; ++c) {  // names of two bytes from 0x21-0xFF: no space, no tab
    wide += {'\t', static_cast<char>(0x21 + c / 223), static_cast<char>(0x21 + c % 223)};
    narrow += "x\n";
  }
  wide += "\n";
  ASSERT_LT(wide.size(), ListReader::kMaxLineBytes);
  double wide_s = 1e9, narrow_s = 1e9;
  for (int i = 0; i < 3; ++i) {
    narrow_s = std::min(narrow_s, seconds_to_read(narrow, ListFormat::kTsv, kColumns - 1));
    wide_s = std::min(wide_s, seconds_to_read(wide, ListFormat::kTsv, 0));
  }
  testing::Test::RecordProperty("wide_cpu_ms", std::to_string(wide_s * 1000));
  testing::Test::RecordProperty("narrow_cpu_ms", std::to_string(narrow_s * 1000));
  EXPECT_LT(wide_s, 10 * narrow_s) << "a header of " << kColumns << " columns took " << wide_s
                                   << " s, as many records " << narrow_s << " s";
}

// Keys of two characters from 91 printable ones (no '"' or '\\'): 7,000 fit a 64 KiB line.
std::string wide_jsonl(int keys, int records) {
  std::string fields;
  for (int k = 0; k < keys; ++k) {
    char a = static_cast<char>('#' + k / 91), b = static_cast<char>('#' + k % 91);
    if (a >= '\\') ++a;
    if (b >= '\\') ++b;
    fields += ",\"" + std::string{a, b} + "\":0";
  }
  std::string text;
  for (int r = 0; r < records; ++r)
    text += "{\"url\":\"http://a/" + std::to_string(r) + "\"" + fields + "}\n";
  return text;
}

TEST(ListReaderWide, JsonlRecordsOf7000FieldsAreLinear) {
  auto lines = read_format(wide_jsonl(7000, 1), ListFormat::kJsonl);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].extra.size(), 7000u);
  EXPECT_EQ(lines[0].extra.begin().key(), "##");
  expect_linear_in_columns(ListFormat::kJsonl, 7000, wide_jsonl);
}

TEST(ListReaderFormat, FromPath) {
  EXPECT_EQ(format_from_path("urls.csv"), ListFormat::kCsv);
  EXPECT_EQ(format_from_path("dir.d/URLS.CSV.GZ"), ListFormat::kCsv);
  EXPECT_EQ(format_from_path("a.tsv"), ListFormat::kTsv);
  EXPECT_EQ(format_from_path("a.tab.gz"), ListFormat::kTsv);
  EXPECT_EQ(format_from_path("a.jsonl"), ListFormat::kJsonl);
  EXPECT_EQ(format_from_path("/x/a.ndjson.gz"), ListFormat::kJsonl);
  EXPECT_EQ(format_from_path("a.txt"), ListFormat::kTxt);
  EXPECT_EQ(format_from_path("a.gz"), ListFormat::kTxt);
  EXPECT_EQ(format_from_path("csv"), ListFormat::kTxt);
  EXPECT_EQ(format_from_path("a.csv/list"), ListFormat::kTxt);
  EXPECT_EQ(format_from_path("-"), ListFormat::kTxt);
}

// ---- open_list ----

class ListReaderFileTest : public TempDirTest {
 protected:
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // mode "wb" starts the file, "ab" appends another gzip member.
  static void write_gz(const std::string& path, const std::string& text, const char* mode = "wb") {
    gzFile gz = gzopen(path.c_str(), mode);
    ASSERT_NE(gz, nullptr);
    ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())),
              static_cast<int>(text.size()));
    ASSERT_EQ(gzclose(gz), Z_OK);
  }
  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  static std::vector<ListLine> read_stream(std::istream& in, ListFormat format) {
    ListReader reader(in, format);
    std::vector<ListLine> lines;
    ListLine line;
    while (reader.next(&line)) lines.push_back(line);
    return lines;
  }
  static std::vector<ListLine> read_path(const std::string& p) {
    std::string why;
    auto in = open_list(p, &why);
    EXPECT_TRUE(in) << why;
    if (!in) return {};
    return read_stream(*in, format_from_path(p));
  }
};

TEST_F(ListReaderFileTest, PlainFile) {
  std::ofstream(path("a.txt")) << "http://a/1\n\x1fnot gzip\n";
  auto lines = read_path(path("a.txt"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, "http://a/1");
  EXPECT_EQ(lines[1].text, "\x1fnot gzip");
}

TEST_F(ListReaderFileTest, GzipCsvFile) {
  std::string text = "url,id\n";
  for (int i = 1; i <= 5000; ++i)
    text += "http://a/" + std::to_string(i) + "," + std::to_string(i) + "\n";
  write_gz(path("a.csv.gz"), text);
  auto lines = read_path(path("a.csv.gz"));
  ASSERT_EQ(lines.size(), 5000u);
  EXPECT_EQ(lines[4999].text, "http://a/5000");
  EXPECT_EQ(lines[4999].extra["id"], "5000");
  EXPECT_EQ(lines[4999].number, 5001u);
}

TEST_F(ListReaderFileTest, GzipDetectedByMagicNotName) {
  write_gz(path("list.txt"), "http://a/1\n# c\nhttp://a/3\n");
  write_gz(path("list.txt"), "http://a/4\n", "ab");  // a second member: read on, like gzip -d
  auto lines = read_path(path("list.txt"));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1].text, "http://a/3");
  EXPECT_EQ(lines[1].number, 3u);
  EXPECT_EQ(lines[2].text, "http://a/4");
}

TEST_F(ListReaderFileTest, TruncatedGzipEndsWithAnErrorRecord) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "http://a/" + std::to_string(i * 7919) + "\n";
  write_gz(path("full.gz"), text);
  std::string gz = slurp(path("full.gz"));
  std::ofstream(path("cut.gz"), std::ios::binary) << gz.substr(0, gz.size() / 2);
  auto lines = read_path(path("cut.gz"));
  ASSERT_FALSE(lines.empty());
  EXPECT_LT(lines.size(), 20000u);
  EXPECT_EQ(lines.back().error, "cannot read the list: gzip data is truncated");
  EXPECT_TRUE(lines[lines.size() - 2].error.empty());
}

TEST_F(ListReaderFileTest, MissingFileAndDirectoryAreErrors) {
  std::string why;
  EXPECT_EQ(open_list(path("nope.txt"), &why), nullptr);
  EXPECT_EQ(why, "cannot open " + path("nope.txt") + ": No such file or directory");
  EXPECT_EQ(open_list(dir_.string(), &why), nullptr);
  EXPECT_EQ(why, "cannot open " + dir_.string() + ": Is a directory");
}

// Points fd 0 at a pipe for one test, so open_list("-") reads what the test writes.
class StdinPipe {
 public:
  StdinPipe() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    saved_ = ::dup(STDIN_FILENO);
    ::dup2(fds[0], STDIN_FILENO);
    ::close(fds[0]);
    writer_ = fds[1];
  }
  ~StdinPipe() {
    close_writer();
    ::dup2(saved_, STDIN_FILENO);
    ::close(saved_);
  }
  void write(const std::string& s) {
    EXPECT_EQ(::write(writer_, s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }
  void close_writer() {
    if (writer_ >= 0) ::close(writer_);
    writer_ = -1;
  }

 private:
  int saved_ = -1;
  int writer_ = -1;
};

// A producer that writes a line and waits must have that line read at once, not when some
// buffer fills (gzread's behaviour on a pipe).
TEST_F(ListReaderFileTest, StdinIsReadLineByLine) {
  StdinPipe pipe;
  std::string why;
  auto in = open_list("-", &why);
  ASSERT_TRUE(in) << why;
  ListReader reader(*in);
  auto next = [&reader] {
    ListLine line;
    if (!reader.next(&line)) line.text = "<end>";
    return line.text;
  };
  for (const char* url : {"http://a/1", "http://a/2"}) {
    pipe.write(std::string(url) + "\n");
    auto got = std::async(std::launch::async, next);
    bool ready = got.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
    if (!ready) pipe.close_writer();  // unblock the reader so the test can end
    ASSERT_TRUE(ready) << "line not delivered while the producer waits";
    EXPECT_EQ(got.get(), url);
  }
  pipe.close_writer();
  EXPECT_EQ(next(), "<end>");
}

TEST_F(ListReaderFileTest, GzipOnStdin) {
  write_gz(path("l.gz"), "url\thint\nhttp://a/1\th\n");
  std::string gz = slurp(path("l.gz"));
  StdinPipe pipe;
  pipe.write(gz);
  pipe.close_writer();
  std::string why;
  auto in = open_list("-", &why);
  ASSERT_TRUE(in) << why;
  auto lines = read_stream(*in, ListFormat::kTsv);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, "http://a/1");
  EXPECT_EQ(lines[0].extra["hint"], "h");
}

TEST(ListReaderFeeder, RunsAnyFormat) {
  std::istringstream in("url,id\nhttp://a/1,1\nhttp://a/2,2\n");
  auto reader = std::make_unique<ListReader>(in, ListFormat::kCsv);
  std::string why;
  ASSERT_TRUE(reader->read_header(&why)) << why;
  LineFeeder feeder(std::move(reader), [] {});
  std::vector<ListLine> lines;
  ListLine line;
  for (NextLine next; (next = feeder.try_next(&line)) != NextLine::kEnd;) {
    if (next == NextLine::kLine)
      lines.push_back(line);
    else
      std::this_thread::yield();
  }
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].text, "http://a/2");
  EXPECT_EQ(lines[1].extra["id"], "2");
  EXPECT_EQ(lines[1].number, 3u);
}

// ---- shard files (imgpipe plan) ----

// A record written by shard_record reads back as the same ListLine: number, URL (bytes that are
// not UTF-8 too), other columns, error, too_long.
TEST(ShardRecord, ReadsBackAsTheSameRecord) {
  ListLine a;
  a.number = 42;
  a.text = "http://h/caf\xe9";
  a.extra = {{"title", "x"}, {"n", 3}};
  ListLine b;
  b.number = 43;
  b.error = "wrong field count";
  ListLine c;
  c.number = 90;
  c.text = std::string(100, 'x');
  c.too_long = true;
  auto lines = read_format(shard_record(a) + shard_record(b) + shard_record(c), ListFormat::kShard);
  ASSERT_EQ(lines.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const ListLine& want = i == 0 ? a : i == 1 ? b : c;
    EXPECT_EQ(lines[i].number, want.number);
    EXPECT_EQ(lines[i].text, want.text);
    EXPECT_EQ(lines[i].extra, want.extra);
    EXPECT_EQ(lines[i].error, want.error);
    EXPECT_EQ(lines[i].too_long, want.too_long);
  }
}

// A shard file is imgpipe's own; a line that is not one of its records is an error record, never
// a URL, and keeps the promises of every record (no NUL in a URL, bounded nesting).
TEST(ShardRecord, DamagedLinesAreErrorRecords) {
  auto lines = read_format(
      "not json\n{\"url\":\"http://h/\"}\n{\"line\":5,\"url\":\"a\\u0000b\"}\n"
      "{\"line\":6,\"url\":\"u\",\"input\":{\"a\":" +
          std::string(70, '[') + std::string(70, ']') + "}}\n{\"line\":7,\"url_hex\":\"zz\"}\n",
      ListFormat::kShard);
  ASSERT_EQ(lines.size(), 5u);
  for (const ListLine& l : lines) {
    EXPECT_NE(l.error.find("is damaged"), std::string::npos) << l.number;
    EXPECT_TRUE(l.text.empty());
  }
}

}  // namespace
}  // namespace imgpipe

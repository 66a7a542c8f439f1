// Tests for the streaming URL-list reader.
#include "stages/reader.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
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

}  // namespace
}  // namespace imgpipe

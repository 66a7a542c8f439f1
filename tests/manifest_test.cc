// Tests for the manifest file: rows appended whole, --resume's rewrite, symlinks refused.
#include "stages/manifest.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "fixtures/temp_dir.h"

namespace imgpipe {
namespace {

namespace fs = std::filesystem;

class ManifestTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  void TearDown() override {
    ::close(fd_);
    TempDirTest::TearDown();
  }
  std::string text() const {
    std::ifstream in(dir_ / kManifestName, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  void write(const std::string& rows) const {
    std::ofstream(dir_ / kManifestName, std::ios::binary | std::ios::trunc) << rows;
  }
  static std::string row(int line, const std::string& url, const std::string& status,
                         const std::string& output) {
    return nlohmann::json{{"line", line}, {"url", url}, {"status", status}, {"output", output}}
               .dump() +
           "\n";
  }
  int fd_ = -1;
};

TEST_F(ManifestTest, KeepsTheLastRowOfEachDoneLineWithItsUrl) {
  std::ofstream(dir_ / "a.jpg") << "x";
  std::ofstream(dir_ / "c.jpg") << "x";
  write(row(1, "u1", "http_error", "") + row(3, "u3", "ok", "c.jpg") + row(1, "u1", "ok", "a.jpg") +
        row(2, "u2", "ok", "missing.jpg"));
  DoneLines done;
  std::string why;
  ASSERT_TRUE(keep_done_rows(fd_, true, &done, &why)) << why;
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].line, 1u);
  EXPECT_EQ(done[0].url_hash, url_hash("u1"));
  EXPECT_EQ(done[1].line, 3u);
  EXPECT_EQ(text(), row(3, "u3", "ok", "c.jpg") + row(1, "u1", "ok", "a.jpg"));
}

// A failure whose row says another try would not change it is kept as done, unless all failures
// are to be redone; a retryable one, and one from before "retryable" existed, are redone.
TEST_F(ManifestTest, FailuresThatAreNotRetryableAreKeptUnlessAllAreRedone) {
  auto failed = [](int line, const char* retryable) {
    nlohmann::json j = {{"line", line}, {"url", "u"}, {"status", "http_error"}, {"output", ""}};
    if (retryable) j["retryable"] = nlohmann::json::parse(retryable);
    return j.dump() + "\n";
  };
  const std::string rows = failed(1, "false") + failed(2, "true") + failed(3, nullptr) +
                           failed(4, "\"no\"");  // not a boolean: not a promise either
  write(rows);
  DoneLines done;
  std::string why;
  ASSERT_TRUE(keep_done_rows(fd_, true, &done, &why)) << why;
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].line, 1u);
  EXPECT_TRUE(done[0].failed);
  EXPECT_EQ(text(), failed(1, "false"));

  write(rows);
  ASSERT_TRUE(keep_done_rows(fd_, false, &done, &why)) << why;
  EXPECT_TRUE(done.empty());
  EXPECT_EQ(text(), "");
}

// A killed run can leave its last row without the newline, even when what was written happens to
// be whole JSON: it is not a row (appending after it would glue the next row to it).
TEST_F(ManifestTest, ATornLastRowIsDroppedEvenIfItParses) {
  std::ofstream(dir_ / "a.jpg") << "x";
  std::string torn = row(2, "u2", "ok", "a.jpg");
  torn.pop_back();
  write(row(1, "u1", "ok", "a.jpg") + torn);
  DoneLines done;
  std::string why;
  ASSERT_TRUE(keep_done_rows(fd_, true, &done, &why)) << why;
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(text(), row(1, "u1", "ok", "a.jpg"));
}

TEST_F(ManifestTest, DropStaleRowsTouchesOnlyTheKeptPrefix) {
  const std::string kept = row(1, "old", "ok", "a.jpg") + row(2, "u2", "ok", "b.jpg");
  write(kept + row(1, "new", "ok", "a.jpg") + row(5, "u5", "ok", "e.jpg"));
  std::string why;
  ASSERT_TRUE(drop_stale_rows(
      fd_, kept.size(), [](uint64_t line) { return line == 1; }, &why))
      << why;
  EXPECT_EQ(text(), row(2, "u2", "ok", "b.jpg") + row(1, "new", "ok", "a.jpg") +
                        row(5, "u5", "ok", "e.jpg"));
}

TEST_F(ManifestTest, SymlinksAtTheManifestAndItsTemporaryAreRefused) {
  std::ofstream(dir_ / "victim") << "precious";
  fs::create_symlink(dir_ / "victim", dir_ / kManifestName);
  std::string why;
  EXPECT_EQ(Manifest::create(fd_, &why), nullptr);
  EXPECT_EQ(Manifest::create(fd_, &why, true), nullptr);
  fs::remove(dir_ / kManifestName);
  write(row(1, "u1", "http_error", ""));
  fs::create_symlink(dir_ / "victim", dir_ / (std::string(kManifestName) + ".resume.tmp"));
  DoneLines done;
  EXPECT_TRUE(keep_done_rows(fd_, true, &done, &why))
      << why;  // the leftover link goes, not its target
  std::ifstream in(dir_ / "victim");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "precious");
}

// "retryable" is on failed rows only, true where another run may succeed.
TEST(ManifestRow, FailedRowsSayWhetherTheyAreRetryable) {
  Item ok;
  EXPECT_FALSE(manifest_row(ok).contains("retryable"));
  Item gone;
  gone.fail(Status::kHttpError, "HTTP 404");
  EXPECT_EQ(manifest_row(gone)["retryable"], false);
  Item busy;
  busy.fail(Status::kHttpError, "HTTP 503");
  busy.transient = true;
  EXPECT_EQ(manifest_row(busy)["retryable"], true);
  Item disk;
  disk.fail(Status::kWriteError, "No space left on device");
  EXPECT_EQ(manifest_row(disk)["retryable"], true);
  const auto keys = manifest_row(gone);
  EXPECT_EQ(std::next(keys.begin(), 4).key(), "retryable") << "beside status and error";
}

TEST(UrlHash, StableAndDistinct) {
  EXPECT_EQ(url_hash(""), 14695981039346656037ull);  // FNV-1a's offset basis: the format is fixed
  EXPECT_NE(url_hash("http://h/a"), url_hash("http://h/b"));
}

}  // namespace
}  // namespace imgpipe

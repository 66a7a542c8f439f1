// The webdataset tar writer: members, names, numbering, temporary then rename, no symlink
// following. Tars are read back with libarchive's reader here; the e2e tests read them with
// Python's tarfile.
#include "stages/tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "fixtures/temp_dir.h"
#include "stages/write.h"

namespace imgpipe {
namespace {

namespace fs = std::filesystem;
using Members = std::vector<std::pair<std::string, std::string>>;  // name, content, in tar order

Members read_tar(const fs::path& p) {
  Members out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_filename(a, p.c_str(), 10240), ARCHIVE_OK) << p;
  struct archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string data(static_cast<size_t>(archive_entry_size(e)), '\0');
    if (!data.empty()) archive_read_data(a, data.data(), data.size());
    EXPECT_EQ(archive_entry_filetype(e), AE_IFREG);
    out.emplace_back(archive_entry_pathname(e), data);
  }
  archive_read_free(a);
  return out;
}

// The regular files and symlinks directly in `dir`, hidden ones too.
std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& f : fs::directory_iterator(dir)) names.push_back(f.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

class TarTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    ::close(fd_);
    TempDirTest::TearDown();
  }

  // An ok item of line `line` with one thumbnail per --size of `image`, each holding `bytes`.
  static Item item(uint64_t line, const ImageOptions& image, const std::string& bytes) {
    Item it;
    it.line = line;
    for (Size s : image.sizes) {
      Thumb t;
      t.box = s;
      t.encoded.assign(bytes.begin(), bytes.end());
      it.thumbs.push_back(std::move(t));
    }
    return it;
  }

  int fd_ = -1;
};

TEST(TarNames, KeysAreZeroPaddedLineNumbersAndSizesGoBeforeTheExtension) {
  EXPECT_EQ(sample_key(42), "00000042");
  EXPECT_EQ(sample_key(123456789), "123456789");
  EXPECT_EQ(tar_name(3), "00003.tar");
  ImageOptions image;
  Item it;
  it.line = 7;
  Thumb t;
  t.box = {256, 256};
  EXPECT_EQ(member_name(it, t, image), "00000007.jpg");
  image.sizes = {{256, 256}, {320, 200}};
  image.format = Format::kWebp;
  EXPECT_EQ(member_name(it, t, image), "00000007.256.webp");
  t.box = {320, 200};
  EXPECT_EQ(member_name(it, t, image), "00000007.320x200.webp");
}

TEST_F(TarTest, AWriterKeepsItsTarUnderATemporaryNameUntilFinished) {
  std::string why;
  auto w = TarWriter::create(fd_, "00000.tar", &why);
  ASSERT_TRUE(w) << why;
  ASSERT_TRUE(w->add("00000001.jpg", "abc", 3, &why)) << why;
  ASSERT_TRUE(w->add("00000001.json", "{}", 2, &why)) << why;
  ASSERT_TRUE(w->add("00000001.txt", "", 0, &why)) << why;
  EXPECT_EQ(names_in(dir_), std::vector<std::string>{temporary_name("00000.tar", 0)});
  EXPECT_TRUE(is_temporary_name(temporary_name("00000.tar", 0))) << "--resume must remove it";
  ASSERT_TRUE(w->finish(&why)) << why;
  EXPECT_EQ(names_in(dir_), std::vector<std::string>{"00000.tar"});
  const Members want = {{"00000001.jpg", "abc"}, {"00000001.json", "{}"}, {"00000001.txt", ""}};
  EXPECT_EQ(read_tar(dir_ / "00000.tar"), want);
  const std::string raw = [&] {
    std::ifstream in(dir_ / "00000.tar", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  EXPECT_EQ(raw.compare(257, 5, "ustar"), 0) << "a plain ustar header, readable everywhere";
  EXPECT_EQ(raw.size() % 512, 0u);
}

TEST_F(TarTest, AnAbandonedTarLeavesNothing) {
  std::string why;
  {
    auto w = TarWriter::create(fd_, "00000.tar", &why);
    ASSERT_TRUE(w) << why;
    ASSERT_TRUE(w->add("00000001.jpg", "abc", 3, &why));
  }
  EXPECT_TRUE(names_in(dir_).empty());
}

// A symlink planted at the temporary name must not redirect the write outside OUTDIR; one
// planted at the final name is replaced by the rename, its target untouched.
TEST_F(TarTest, PlantedSymlinksAreNeverFollowed) {
  const fs::path outside = dir_ / "outside";
  std::ofstream(outside) << "keep";
  fs::create_directory(dir_ / "out");
  const int out_fd = ::open((dir_ / "out").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  fs::create_symlink(outside, dir_ / "out" / temporary_name("00000.tar", 0));
  std::string why;
  EXPECT_FALSE(TarWriter::create(out_fd, "00000.tar", &why));
  EXPECT_NE(why.find("cannot create"), std::string::npos) << why;
  fs::remove(dir_ / "out" / temporary_name("00000.tar", 0));

  fs::create_symlink(outside, dir_ / "out" / "00001.tar");
  auto w = TarWriter::create(out_fd, "00001.tar", &why);
  ASSERT_TRUE(w) << why;
  ASSERT_TRUE(w->add("00000001.jpg", "abc", 3, &why));
  ASSERT_TRUE(w->finish(&why)) << why;
  EXPECT_FALSE(fs::is_symlink(dir_ / "out" / "00001.tar"));
  EXPECT_EQ(read_tar(dir_ / "out" / "00001.tar").size(), 1u);
  std::ifstream in(outside);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "keep");
  ::close(out_fd);
}

// The sink: a sample's members back to back (images, json, txt), N samples a tar, the next
// number after a tar an earlier run completed, the item's row fields filled in.
TEST_F(TarTest, ASinkFillsNumberedTarsAndSkipsCompleteOnes) {
  std::ofstream(dir_ / "00001.tar") << "an earlier run's complete tar";
  ImageOptions image;
  image.sizes = {{256, 256}, {128, 128}};
  OutputOptions output;
  output.format = OutputFormat::kWebdataset;
  output.samples_per_tar = 2;
  output.caption_column = "caption";
  TarSink sink(fd_, image, output);
  for (uint64_t line : {5, 2, 9, 4, 7}) {
    Item it = item(line, image, "img" + std::to_string(line));
    if (line == 2) it.input_fields["caption"] = "two";
    if (line == 9) it.input_fields["caption"] = 9;
    sink.add_images(it);
    ASSERT_TRUE(it.ok()) << it.error;
    const char* want = line == 5 || line == 2 ? "00000.tar" : line == 7 ? "00003.tar" : "00002.tar";
    EXPECT_EQ(it.thumbs[0].path, want);
    EXPECT_EQ(it.thumbs[1].member, sample_key(line) + ".128.jpg");
    EXPECT_EQ(it.thumbs[1].bytes, 4u);
    EXPECT_TRUE(it.thumbs[1].encoded.empty()) << "released once written";
    EXPECT_EQ(it.bytes_out, 8u);
    ASSERT_TRUE(sink.add_record(it, "row" + std::to_string(line)));
    ASSERT_TRUE(sink.end_sample());
  }
  EXPECT_EQ(names_in(dir_), (std::vector<std::string>{temporary_name("00003.tar", 0), "00000.tar",
                                                      "00001.tar", "00002.tar"}));
  ASSERT_TRUE(sink.finish()) << sink.error();
  const Members first = {{"00000005.256.jpg", "img5"}, {"00000005.128.jpg", "img5"},
                         {"00000005.json", "row5"},    {"00000005.txt", ""},
                         {"00000002.256.jpg", "img2"}, {"00000002.128.jpg", "img2"},
                         {"00000002.json", "row2"},    {"00000002.txt", "two"}};
  EXPECT_EQ(read_tar(dir_ / "00000.tar"), first);
  EXPECT_EQ(read_tar(dir_ / "00002.tar")[3],
            std::make_pair(std::string("00000009.txt"), std::string("9")));
  EXPECT_EQ(read_tar(dir_ / "00003.tar").size(), 4u);
  EXPECT_EQ(names_in(dir_),
            (std::vector<std::string>{"00000.tar", "00001.tar", "00002.tar", "00003.tar"}));
}

// After a failure every later sample fails too, and the open tar is gone: its rows name a tar
// that does not exist, so --resume redoes them.
TEST_F(TarTest, AnAbandonedSinkFailsEveryLaterSample) {
  ImageOptions image;
  OutputOptions output;
  output.samples_per_tar = 0;
  TarSink sink(fd_, image, output);
  Item a = item(1, image, "a");
  sink.add_images(a);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(sink.add_record(a, "{}"));
  sink.abandon("the manifest could not be written");
  Item b = item(2, image, "b");
  sink.add_images(b);
  EXPECT_EQ(b.status, Status::kWriteError);
  EXPECT_NE(b.error.find("the manifest could not be written"), std::string::npos) << b.error;
  EXPECT_FALSE(sink.finish());
  EXPECT_TRUE(names_in(dir_).empty());
}

}  // namespace
}  // namespace imgpipe

// Tests for output naming and atomic thumbnail writes.
#include "stages/write.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "fixtures/temp_dir.h"
#include "stages/hash.h"

namespace imgpipe {
namespace {

namespace fs = std::filesystem;

class WriteTest : public TempDirTest {
 protected:
  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
};

TEST(TemporaryName, OnlyTheNamesWriteProducesAreTemporaries) {
  EXPECT_EQ(temporary_name("00000042.jpg", 42), ".00000042.jpg.42.tmp");
  EXPECT_TRUE(is_temporary_name(temporary_name("00000042.jpg", 42)));
  EXPECT_TRUE(is_temporary_name(temporary_name("a", 1)));
  for (const char* other : {".x.tmp", "..1.tmp", ".a.b.tmp", ".a..tmp", "a.1.tmp", ".a.1.tmpx",
                            ".git", ".notes.tmp", ".a.1x.tmp", ".tmp"})
    EXPECT_FALSE(is_temporary_name(other)) << other;
}

// --resume clears what a killed run left in the folders imgpipe writes, and nothing else: a
// user's hidden files, and folders imgpipe never writes to (a .git inside OUTDIR), keep even names
// that look like ours.
TEST_F(WriteTest, RemoveTemporariesOnlyInTheFoldersImgpipeWrites) {
  for (const char* sub : {"128/00000", "64", ".git/objects", "notes"})
    fs::create_directories(dir_ / sub);
  const std::string ours = temporary_name("00000001.jpg", 1);
  for (const char* sub : {"128", "128/00000", "64", ".git/objects", "notes"})
    std::ofstream(dir_ / sub / ours) << "cut short";
  std::ofstream(dir_ / ".notes.tmp") << "the user's";
  std::ofstream(dir_ / "128" / "00000001.jpg") << "whole";
  ImageOptions two_sizes;
  two_sizes.sizes = {{128, 128}, {64, 64}};
  OutputOptions numbered;
  numbered.files_per_folder = 1000;
  remove_temporaries(dir_.string(), two_sizes, numbered);
  for (const char* sub : {"128", "128/00000", "64"})
    EXPECT_FALSE(fs::exists(dir_ / sub / ours)) << sub;
  for (const char* sub : {".git/objects", "notes"})
    EXPECT_TRUE(fs::exists(dir_ / sub / ours)) << sub;
  EXPECT_TRUE(fs::exists(dir_ / ".notes.tmp"));
  EXPECT_TRUE(fs::exists(dir_ / "128" / "00000001.jpg"));
}

TEST(OutputName, ZeroPaddedLineNumberAndExtension) {
  EXPECT_EQ(output_name(1, Format::kJpeg), "00000001.jpg");
  EXPECT_EQ(output_name(42, Format::kPng), "00000042.png");
  EXPECT_EQ(output_name(99999999, Format::kJpeg), "99999999.jpg");
  EXPECT_EQ(output_name(123456789, Format::kJpeg), "123456789.jpg");  // grows, never collides
}

TEST(OutputName, SortsInListOrder) {
  EXPECT_LT(output_name(9, Format::kJpeg), output_name(10, Format::kJpeg));
  EXPECT_LT(output_name(99, Format::kJpeg), output_name(100, Format::kJpeg));
}

// An item with one encoded thumbnail of `bytes` for the default 256 box.
Item encoded_item(uint64_t line, std::vector<uint8_t> bytes) {
  Item item;
  item.line = line;
  item.thumbs.emplace_back();
  item.thumbs[0].encoded = std::move(bytes);
  return item;
}

ImageOptions jpeg_options() { return ImageOptions{}; }

TEST_F(WriteTest, WritesBytesAndLeavesNoTemporaryFile) {
  Item item = encoded_item(7, {1, 2, 3, 4});
  write(item, dir_.string(), jpeg_options(), {});
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_EQ(item.thumbs[0].path, "00000007.jpg");
  EXPECT_EQ(item.thumbs[0].bytes, 4u);
  EXPECT_EQ(item.bytes_out, 4u);
  EXPECT_EQ(read(dir_ / "00000007.jpg"), std::string("\1\2\3\4"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(WriteTest, ReplacesAPlantedSymlinkInsteadOfFollowingIt) {
  fs::path victim = dir_ / "victim";
  std::ofstream(victim) << "precious";
  fs::create_symlink(victim, dir_ / "00000003.jpg");
  Item item = encoded_item(3, {'n', 'e', 'w'});
  write(item, dir_.string(), jpeg_options(), {});
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_EQ(read(victim), "precious");
  EXPECT_FALSE(fs::is_symlink(dir_ / "00000003.jpg"));
  EXPECT_EQ(read(dir_ / "00000003.jpg"), "new");
}

TEST_F(WriteTest, SymlinkAtTemporaryNameIsRefused) {
  fs::path victim = dir_ / "victim";
  std::ofstream(victim) << "precious";
  fs::create_symlink(victim, dir_ / ".00000004.jpg.4.tmp");
  Item item = encoded_item(4, {'x'});
  write(item, dir_.string(), jpeg_options(), {});
  EXPECT_EQ(item.status, Status::kWriteError);
  EXPECT_EQ(read(victim), "precious");
  EXPECT_FALSE(fs::exists(dir_ / "00000004.jpg"));
}

// A symlink planted where a numbered subfolder goes must not carry the write out of OUTDIR.
TEST_F(WriteTest, SymlinkedSubfolderIsRefused) {
  fs::path outside = dir_ / "outside";
  fs::create_directories(outside);
  fs::create_directories(dir_ / "out");
  fs::create_directory_symlink(outside, dir_ / "out" / "00000");
  Item item = encoded_item(1, {'x'});
  OutputOptions o;
  o.files_per_folder = 10;
  write(item, (dir_ / "out").string(), jpeg_options(), o);
  EXPECT_EQ(item.status, Status::kWriteError);
  EXPECT_TRUE(fs::is_empty(outside));
}

TEST_F(WriteTest, MissingFolderIsAWriteError) {
  Item item = encoded_item(1, {1});
  write(item, (dir_ / "missing").string(), jpeg_options(), {});
  EXPECT_EQ(item.status, Status::kWriteError);
  EXPECT_NE(item.error.find("missing"), std::string::npos);
}

TEST_F(WriteTest, SeveralSizesGoToSizeFoldersAndNumberedSubfolders) {
  ImageOptions im;
  im.sizes = {{128, 128}, {320, 200}};
  im.format = Format::kPng;
  OutputOptions o;
  o.files_per_folder = 1000;
  Item item = encoded_item(1234, {'a'});
  item.thumbs.emplace_back();
  item.thumbs[0].box = im.sizes[0];
  item.thumbs[1].box = im.sizes[1];
  item.thumbs[1].encoded = {'b', 'c'};
  write(item, dir_.string(), im, o);
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_EQ(item.thumbs[0].path, "128/00001/00001234.png");
  EXPECT_EQ(item.thumbs[1].path, "320x200/00001/00001234.png");
  EXPECT_EQ(read(dir_ / item.thumbs[1].path), "bc");
  EXPECT_EQ(item.bytes_out, 3u);
}

TEST(OutputPath, HashAndUrlNaming) {
  Item item;
  item.line = 5;
  item.url = "https://example.com/a/../../etc/passwd?x=1#frag";
  item.sha256 = std::string(64, 'f');
  item.thumbs.emplace_back();
  OutputOptions o;
  o.naming = Naming::kHash;
  EXPECT_EQ(output_path(item, item.thumbs[0], {}, o), std::string(64, 'f') + ".jpg");
  o.naming = Naming::kUrl;
  std::string p = output_path(item, item.thumbs[0], {}, o);
  EXPECT_EQ(p.find('/'), std::string::npos) << p;
  EXPECT_NE(p.find("example.com_a_"), std::string::npos) << p;
}

TEST(UrlStem, NeverHiddenNeverASeparatorAndDistinctPerUrl) {
  for (const std::string& url :
       std::vector<std::string>{"http://x/../../a.jpg", "../..", "/", "", "http://h/.hidden.png",
                                std::string(5000, '/') + "a", "http://h/a b\n\x01\xff.jpg"}) {
    std::string s = url_stem(url);
    EXPECT_EQ(s.find('/'), std::string::npos) << url;
    EXPECT_NE(s[0], '.') << url;
    EXPECT_LE(s.size(), 133u) << url;  // 100 bytes of URL, '-', 32 hex digits
    for (char c : s)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')
          << url;
  }
  EXPECT_EQ(url_stem("https://example.com/photos/cat.jpeg").substr(0, 23),
            "example.com_photos_cat-");  // the extension goes; a hash of the URL follows
  EXPECT_NE(url_stem("http://h/a?1"), url_stem("http://h/a?2"));
}

// 32 bits of hash fell to a search in about a second (two URLs, one file name); 128 bits cannot.
TEST(UrlStem, EndsInA128BitHashOfTheUrl) {
  const std::string url = "https://example.com/a.jpg";
  const std::string s = url_stem(url);
  ASSERT_GE(s.size(), 33u);
  EXPECT_EQ(s.substr(s.size() - 33), "-" + sha256_hex(url.data(), url.size()).substr(0, 32));
}

// --name url: every line listing a URL shares its name. The same thumbnail again is fine; a
// different one never replaces the file another line wrote.
TEST_F(WriteTest, UrlNamesAreNeverReplacedByDifferentBytes) {
  OutputOptions by_url;
  by_url.naming = Naming::kUrl;
  Item first = encoded_item(1, {1, 2, 3}), same = encoded_item(2, {1, 2, 3}),
       other = encoded_item(3, {9, 9, 9, 9});
  for (Item* it : {&first, &same, &other}) it->url = "https://example.com/cat.jpg";
  write(first, dir_.string(), jpeg_options(), by_url);
  write(same, dir_.string(), jpeg_options(), by_url);
  write(other, dir_.string(), jpeg_options(), by_url);
  ASSERT_TRUE(first.ok()) << first.error;
  EXPECT_TRUE(same.ok()) << same.error;
  EXPECT_EQ(same.thumbs[0].path, first.thumbs[0].path);
  EXPECT_EQ(other.status, Status::kWriteError);
  EXPECT_NE(other.error.find("nothing was replaced"), std::string::npos) << other.error;
  EXPECT_EQ(read(dir_ / first.thumbs[0].path), std::string("\x01\x02\x03"));
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_FALSE(is_temporary_name(e.path().filename().string())) << e.path();
}

}  // namespace
}  // namespace imgpipe

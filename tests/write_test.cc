// Tests for output naming and atomic thumbnail writes.
#include "stages/write.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace imgpipe {
namespace {

namespace fs = std::filesystem;

class WriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("imgpipe_write_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  fs::path dir_;
};

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

TEST_F(WriteTest, WritesBytesAndLeavesNoTemporaryFile) {
  Item item;
  item.line = 7;
  item.encoded = {1, 2, 3, 4};
  write_output(item, dir_.string(), Format::kJpeg);
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_EQ(item.output_path, "00000007.jpg");
  EXPECT_EQ(item.bytes_out, 4u);
  EXPECT_EQ(read(dir_ / "00000007.jpg"), std::string("\1\2\3\4"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(WriteTest, ReplacesAPlantedSymlinkInsteadOfFollowingIt) {
  fs::path victim = dir_ / "victim";
  std::ofstream(victim) << "precious";
  fs::create_symlink(victim, dir_ / "00000003.jpg");
  Item item;
  item.line = 3;
  item.encoded = {'n', 'e', 'w'};
  write_output(item, dir_.string(), Format::kJpeg);
  ASSERT_TRUE(item.ok()) << item.error;
  EXPECT_EQ(read(victim), "precious");
  EXPECT_FALSE(fs::is_symlink(dir_ / "00000003.jpg"));
  EXPECT_EQ(read(dir_ / "00000003.jpg"), "new");
}

TEST_F(WriteTest, SymlinkAtTemporaryNameIsRefused) {
  fs::path victim = dir_ / "victim";
  std::ofstream(victim) << "precious";
  fs::create_symlink(victim, dir_ / ".00000004.jpg.tmp");
  Item item;
  item.line = 4;
  item.encoded = {'x'};
  write_output(item, dir_.string(), Format::kJpeg);
  EXPECT_EQ(item.status, Status::kWriteError);
  EXPECT_EQ(read(victim), "precious");
  EXPECT_FALSE(fs::exists(dir_ / "00000004.jpg"));
}

TEST_F(WriteTest, MissingFolderIsAWriteError) {
  Item item;
  item.line = 1;
  item.encoded = {1};
  write_output(item, (dir_ / "missing").string(), Format::kJpeg);
  EXPECT_EQ(item.status, Status::kWriteError);
  EXPECT_NE(item.error.find("missing"), std::string::npos);
}

}  // namespace
}  // namespace imgpipe

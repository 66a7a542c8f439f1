// Tests for OutputDir: the lock, the rules for a used folder, and the options record.
#include "pipeline/outdir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "fixtures/temp_dir.h"
#include "pipeline/pipeline.h"
#include "stages/manifest.h"

namespace imgpipe {
namespace {

struct Fd {
  int fd;
  ~Fd() { ::close(fd); }
};

class OutputDirTest : public TempDirTest {
 protected:
  Options options() const {
    Options o;
    o.output_dir = (dir_ / "out").string();
    return o;
  }
  // The SetupError message OutputDir::open throws, or "" if it opened.
  static std::string refusal(const Options& o) {
    try {
      OutputDir::open(o);
    } catch (const SetupError& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(OutputDirTest, OneRunAtATimeAndTheSecondIsToldWho) {
  auto first = OutputDir::open(options());
  const std::string why = refusal(options());
  EXPECT_NE(why.find("pid " + std::to_string(::getpid())), std::string::npos) << why;
  first.reset();
  EXPECT_EQ(refusal(options()), "") << "the lock goes with the run";
}

// lock_is_held sees a run's lock without disturbing it; and the moment it holds the lock shared
// (imgpipe status looking at a shard) does not make a run starting then fail.
TEST_F(OutputDirTest, TheLockIsSeenWithoutStoppingARunThatStartsMeanwhile) {
  auto run = OutputDir::open(options());
  Fd out{::open(options().output_dir.c_str(), O_RDONLY | O_DIRECTORY)};
  EXPECT_TRUE(lock_is_held(out.fd));
  EXPECT_TRUE(lock_is_held(out.fd)) << "looking does not take the lock away";
  run.reset();
  EXPECT_FALSE(lock_is_held(out.fd));

  Fd peek{::openat(out.fd, kLockName, O_RDONLY)};
  ASSERT_EQ(::flock(peek.fd, LOCK_SH | LOCK_NB), 0);  // as lock_is_held holds it, for 30 ms
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ::flock(peek.fd, LOCK_UN);
  });
  EXPECT_EQ(refusal(options()), "");
  release.join();
}

TEST_F(OutputDirTest, AUsedFolderNeedsResumeOrOverwrite) {
  OutputDir::open(options());
  std::ofstream(dir_ / "out" / kManifestName) << "{\"line\":1}\n";
  EXPECT_NE(refusal(options()).find("--overwrite"), std::string::npos);
  Options resume = options();
  resume.resume = true;
  EXPECT_EQ(refusal(resume), "");
  Options overwrite = options();
  overwrite.overwrite = true;
  EXPECT_EQ(refusal(overwrite), "");
}

TEST_F(OutputDirTest, ResumeWithOtherOptionsNamesEachDifference) {
  OutputDir::open(options());
  std::ofstream(dir_ / "out" / kManifestName) << "{\"line\":1}\n";
  Options changed = options();
  changed.resume = true;
  changed.image.sizes = {{128, 128}};
  changed.image.fit = Fit::kCover;
  const std::string why = refusal(changed);
  EXPECT_NE(why.find("--size [\"128x128\"] (was [\"256x256\"])"), std::string::npos) << why;
  EXPECT_NE(why.find("--fit \"cover\" (was \"contain\")"), std::string::npos) << why;
  EXPECT_EQ(why.find("--quality"), std::string::npos) << "only what differs: " << why;
}

TEST(OptionsRecord, NamesTheFlagsThatShapeOutputs) {
  Options o;
  const nlohmann::ordered_json r = options_record(o);
  for (const char* flag : {"size", "fit", "upscale", "background", "format", "quality", "codec",
                           "resizer", "name", "files-per-folder"})
    EXPECT_TRUE(r.contains(flag)) << flag;
  EXPECT_EQ(options_difference(r, r), "");
}

// A webdataset folder is never resumed as a files one, nor with tars of another size.
TEST(OptionsRecord, OutputFormatAndTarSizeDiffer) {
  Options files, tars, bigger;
  tars.output.format = bigger.output.format = OutputFormat::kWebdataset;
  bigger.output.samples_per_tar = 20000;
  EXPECT_EQ(options_difference(options_record(files), options_record(files)), "");
  EXPECT_NE(options_difference(options_record(files), options_record(tars))
                .find("--output-format \"webdataset\" (was \"files\")"),
            std::string::npos);
  EXPECT_EQ(options_difference(options_record(tars), options_record(bigger)),
            "--samples-per-shard 20000 (was 10000)");
}

// A folder an older imgpipe made lacks the newer options' keys: resumable while they are at their
// defaults, refused once one is not.
TEST(OptionsRecord, AKeyTheEarlierRunLackedMatchesOnlyItsDefault) {
  Options o;
  nlohmann::ordered_json older = options_record(o);
  older.erase("fail-on");
  older.erase("keep-profile");
  EXPECT_EQ(options_difference(older, options_record(o)), "");
  o.image.fail_on = FailOn::kNone;
  o.image.keep_profile = true;
  EXPECT_EQ(options_difference(older, options_record(o)),
            "--fail-on \"none\" (was not recorded), --keep-profile true (was not recorded)");
}

// Resuming with --keep-profile changed either way is refused: the thumbnails would mix converted
// and unconverted colours.
TEST(OptionsRecord, KeepProfileDiffersBothWays) {
  Options plain, keep;
  keep.image.keep_profile = true;
  const nlohmann::ordered_json a = options_record(plain), b = options_record(keep);
  EXPECT_EQ(options_difference(a, b), "--keep-profile true (was false)");
  EXPECT_EQ(options_difference(b, a), "--keep-profile false (was true)");
}

// --linear changes every thumbnail's pixels: resuming a run with the other setting would mix the
// two in one output folder, so it is recorded and a difference refused.
TEST_F(OutputDirTest, ResumeWithOtherLinearIsRefused) {
  OutputDir::open(options());
  std::ofstream(dir_ / "out" / kManifestName) << "{\"line\":1}\n";
  Options changed = options();
  changed.resume = true;
  changed.image.linear = true;
  const std::string why = refusal(changed);
  EXPECT_NE(why.find("--linear true (was false)"), std::string::npos) << why;
}

// A plan stores its options as a record, and each shard rebuilds them from it: every option the
// record names must come back as it was, and a value this imgpipe does not know is refused.
TEST(OptionsRecord, ReadsBackIntoTheSameOptions) {
  Options o;
  o.image.sizes = {Size{64, 48}, Size{300, 300}};
  o.image.fit = Fit::kPad;
  o.image.upscale = true;
  o.image.background = Rgba{1, 2, 3, 4};
  o.image.format = Format::kWebp;
  o.image.quality = 70;
  o.image.codec = Codec::kStb;
  o.image.resizer = Resizer::kStb;
  o.image.linear = true;
  o.output.naming = Naming::kUrl;
  o.output.files_per_folder = 100;
  o.image.min_size = 10;
  o.image.max_aspect = 2.5;
  o.image.max_pixels = 1234567;
  o.image.fail_on = FailOn::kError;
  o.image.keep_profile = true;
  o.output.format = OutputFormat::kWebdataset;
  o.output.samples_per_tar = 77;
  o.output.caption_column = "caption";
  nlohmann::ordered_json record = options_record(o);
  record["dedup"] = true;
  Options back;
  std::string why;
  ASSERT_TRUE(options_from_record(record, &back, &why)) << why;
  EXPECT_EQ(options_record(back), options_record(o));
  EXPECT_TRUE(back.output.dedup);
  EXPECT_EQ(back.output.samples_per_tar, 77);
  record["fit"] = "squash";
  EXPECT_FALSE(options_from_record(record, &back, &why));
  EXPECT_NE(why.find("fit"), std::string::npos) << why;
  record = options_record(o);
  record["tomorrow"] = 1;
  EXPECT_FALSE(options_from_record(record, &back, &why)) << "an unknown option is refused";
}

}  // namespace
}  // namespace imgpipe

// --output-format webdataset through the real binary: tars read back with Python's tarfile
// (tests/read_tars.py), checked against the manifest and the webdataset layout rules, for plain
// runs, numbered tars, several sizes, captions, shards, and runs killed with SIGKILL then redone.
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>

#include <set>

#include "fixtures/e2e_fixture.h"
#include "pipeline/shards.h"

namespace imgpipe {
namespace {

struct Member {
  std::string name, data;
};
struct Tar {
  std::vector<Member> members;  // in tar order
  std::string layout;           // the first breach of the webdataset layout, or ""
};

std::string from_base64(const std::string& text) {
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  size_t pad = 0;  // EVP_DecodeBlock counts the padding's zero bytes too
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) ++pad;
  out.resize(n < 0 ? 0 : static_cast<size_t>(n) - pad);
  return out;
}

std::string key_of(int line) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08d", line);
  return buf;
}

class WebdatasetE2eTest : public E2eTest {
 protected:
  // The *.tar files directly in `dir`, read with Python's tarfile, by file name.
  std::map<std::string, Tar> read_tars(const fs::path& dir) {
    std::string cmd = "/usr/bin/python3 " IMGPIPE_SOURCE_DIR "/tests/read_tars.py";
    for (const auto& f : fs::directory_iterator(dir))
      if (f.path().extension() == ".tar") cmd += " '" + f.path().string() + "'";
    std::string text;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
      char buf[65536];
      for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, n);
      EXPECT_EQ(::pclose(p), 0) << cmd;
    }
    std::map<std::string, Tar> tars;
    const json parsed = json::parse(text);  // items() of a temporary would dangle
    for (const auto& [name, t] : parsed.items()) {
      Tar& tar = tars[name];
      tar.layout = t["layout"];
      for (const auto& m : t["members"]) tar.members.push_back({m[0], from_base64(m[1])});
    }
    return tars;
  }

  // The manifest's rows as written (the exact text, without the newline), by line.
  static std::map<int, std::string> row_texts(const fs::path& out) {
    std::map<int, std::string> rows;
    std::ifstream in(out / "manifest.jsonl");
    for (std::string text; std::getline(in, text);) rows[json::parse(text)["line"]] = text;
    return rows;
  }

  // Hidden files imgpipe did not mean to leave: anything but its own .imgpipe* records.
  static std::vector<std::string> leftovers(const fs::path& dir) {
    std::vector<std::string> found;
    for (const auto& f : fs::directory_iterator(dir)) {
      const std::string name = f.path().filename();
      if (name[0] == '.' && name.rfind(".imgpipe", 0) != 0) found.push_back(name);
    }
    return found;
  }

  // Checks every sample of `tar` (named `tar_name`) against the manifest of `out`: its members
  // are the images (`exts`, in order), KEY.json holding the manifest row's exact text, and with
  // `captions` KEY.txt; its row is ok and names this tar and member. Adds each key to *keys.
  void check_samples(const std::string& tar_name, const Tar& tar, const fs::path& out,
                     const std::vector<std::string>& exts,
                     const std::map<int, std::string>* captions, std::multiset<std::string>* keys) {
    EXPECT_EQ(tar.layout, "") << tar_name;
    const std::map<int, std::string> rows = row_texts(out);
    const size_t per_sample = exts.size() + 1 + (captions ? 1 : 0);
    ASSERT_EQ(tar.members.size() % per_sample, 0u) << tar_name;
    for (size_t i = 0; i < tar.members.size(); i += per_sample) {
      const std::string key = tar.members[i].name.substr(0, 8);
      keys->insert(key);
      const int line = std::stoi(key);
      ASSERT_TRUE(rows.count(line)) << key << " has no manifest row";
      const json row = json::parse(rows.at(line));
      EXPECT_EQ(row["status"], "ok") << key;
      for (size_t e = 0; e < exts.size(); ++e) {
        const Member& m = tar.members[i + e];
        EXPECT_EQ(m.name, key + exts[e]) << tar_name;
        const json& out_row = exts.size() > 1 ? row["outputs"][e] : row;
        EXPECT_EQ(out_row["output"], tar_name) << key;
        EXPECT_EQ(out_row["member"], m.name) << key;
        EXPECT_EQ(out_row["output_bytes"], m.data.size()) << key;
        Item thumb;
        thumb.body.assign(m.data.begin(), m.data.end());
        decode(thumb, ImageOptions{});
        EXPECT_TRUE(thumb.ok()) << m.name << ": " << thumb.error;
        EXPECT_EQ(thumb.image.width, out_row["output_width"]) << m.name;
      }
      const Member& js = tar.members[i + exts.size()];
      EXPECT_EQ(js.name, key + ".json");
      EXPECT_EQ(js.data, rows.at(line)) << "KEY.json is the manifest row, byte for byte";
      if (!captions) continue;
      const Member& txt = tar.members[i + exts.size() + 1];
      EXPECT_EQ(txt.name, key + ".txt");
      EXPECT_EQ(txt.data, captions->count(line) ? captions->at(line) : "") << key;
    }
  }

  // Keys of the ok rows of `out`'s manifest.
  std::multiset<std::string> ok_keys(const fs::path& out) {
    std::multiset<std::string> keys;
    for (const auto& [line, row] : manifest(out))
      if (row["status"] == "ok") keys.insert(key_of(line));
    return keys;
  }
};

// One tar for a small run: per ok line KEY.jpg, KEY.json (its manifest row) and KEY.txt (the
// caption column), consecutive; failed lines in the manifest only; no temporary left.
TEST_F(WebdatasetE2eTest, APlainRunWritesEachOkLineAsOneSampleWithItsRowAndCaption) {
  std::string csv = "id,url,caption\n";
  std::map<int, std::string> captions;
  for (int i = 0; i < 6; ++i) {
    const int line = i + 2;  // the header is line 1
    const std::string url = i == 3 ? server_.url("/status/404")
                                   : server_.url("/image/" + std::to_string(30 + i) + "x20.jpg");
    csv += std::to_string(i) + "," + url + ",\"caption " + std::to_string(i) + ", with a comma\"\n";
    captions[line] = "caption " + std::to_string(i) + ", with a comma";
  }
  const fs::path list = dir_ / "list.csv", out = dir_ / "out";
  std::ofstream(list) << csv;
  Outcome r = run({"-i", list.string(), "-o", out.string(), "--quiet", "--output-format",
                   "webdataset", "--caption-column", "caption", "-s", "16"});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // the 404
  const auto rows = manifest(out);
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows.at(5)["status"], "http_error");
  EXPECT_EQ(rows.at(5)["output"], "");
  const auto tars = read_tars(out);
  ASSERT_EQ(tars.size(), 1u);
  ASSERT_TRUE(tars.count("00000.tar"));
  std::multiset<std::string> keys;
  check_samples("00000.tar", tars.at("00000.tar"), out, {".jpg"}, &captions, &keys);
  EXPECT_EQ(keys, ok_keys(out));
  EXPECT_EQ(keys.size(), 5u);
  EXPECT_EQ(keys.count(key_of(5)), 0u) << "a failed line is not in the tar";
  EXPECT_EQ(leftovers(out), std::vector<std::string>{});
  for (const auto& f : fs::directory_iterator(out))  // no loose thumbnails beside the tar
    EXPECT_NE(f.path().extension(), ".jpg") << f.path();
}

// --samples-per-shard N: numbered tars of N samples each (the last fewer), every ok line in
// exactly one of them.
TEST_F(WebdatasetE2eTest, SamplesPerShardGivesNumberedTars) {
  const fs::path out = dir_ / "out";
  Outcome r =
      run({"-i", write_list(small_images(server_, 7)).string(), "-o", out.string(), "--quiet",
           "--output-format", "webdataset", "--samples-per-shard", "3", "-j", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto tars = read_tars(out);
  ASSERT_EQ(tars.size(), 3u);
  std::multiset<std::string> keys;
  for (const char* name : {"00000.tar", "00001.tar", "00002.tar"}) {
    ASSERT_TRUE(tars.count(name)) << name;
    check_samples(name, tars.at(name), out, {".jpg"}, nullptr, &keys);
    EXPECT_EQ(tars.at(name).members.size(), std::string(name) == "00002.tar" ? 2u : 6u) << name;
  }
  EXPECT_EQ(keys, ok_keys(out));
  EXPECT_EQ(keys.size(), 7u);

  // The same folder again: --resume with another tar size is refused; --overwrite removes the
  // tars the manifest names before writing new ones.
  std::vector<std::string> again = {
      "-i",         (dir_ / "list.txt").string(), "-o", out.string(), "--quiet", "--output-format",
      "webdataset", "--samples-per-shard",        "10"};
  again.push_back("--resume");
  Outcome refused = run(again);
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("--samples-per-shard 10 (was 3)"), std::string::npos) << refused.err;
  again.back() = "--overwrite";
  ASSERT_EQ(run(again).exit_code, 0);
  const auto fresh = read_tars(out);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh.at("00000.tar").members.size(), 14u);
}

// Several --size: one member per size, KEY.SIZE.EXT, all of a sample's members consecutive.
TEST_F(WebdatasetE2eTest, SeveralSizesGiveOneMemberEach) {
  const fs::path out = dir_ / "out";
  Outcome r = run({"-i", write_list(small_images(server_, 3)).string(), "-o", out.string(),
                   "--quiet", "--output-format", "webdataset", "-s", "16", "-s", "8", "-f", "png"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto tars = read_tars(out);
  ASSERT_EQ(tars.size(), 1u);
  std::multiset<std::string> keys;
  check_samples("00000.tar", tars.at("00000.tar"), out, {".16.png", ".8.png"}, nullptr, &keys);
  EXPECT_EQ(keys, ok_keys(out));
  EXPECT_EQ(keys.size(), 3u);
  EXPECT_FALSE(fs::exists(out / "16")) << "no size folders";
}

// Options that make no sense with tars are refused before anything runs.
TEST_F(WebdatasetE2eTest, MeaninglessCombinationsAreRefused) {
  const std::string list = write_list(small_images(server_, 1)).string();
  const std::string out = (dir_ / "out").string();
  const std::vector<std::vector<std::string>> refused = {
      {"--output-format", "webdataset", "--dedup"},
      {"--output-format", "webdataset", "--name", "hash"},
      {"--output-format", "webdataset", "--files-per-folder", "10"},
      {"--output-format", "webdataset", "--caption-column", "caption"},  // a text list
      {"--caption-column", "caption"},                                   // files
  };
  for (const auto& extra : refused) {
    std::vector<std::string> args = {"-i", list, "-o", out, "--quiet"};
    args.insert(args.end(), extra.begin(), extra.end());
    Outcome r = run(args);
    EXPECT_EQ(r.exit_code, 2) << extra.back() << ": " << r.err;
  }
  const fs::path csv = dir_ / "list.csv";
  std::ofstream(csv) << "url,text\n" << server_.url("/image/20x20.jpg") << ",hello\n";
  for (const char* column : {"caption", "url"}) {
    Outcome r = run({"-i", csv.string(), "-o", out, "--quiet", "--output-format", "webdataset",
                     "--caption-column", column});
    EXPECT_EQ(r.exit_code, 2) << column << ": " << r.err;
  }
  EXPECT_EQ(server_.hits("/image/20x20.jpg"), 0);
}

// A plain run killed with SIGKILL, then --resume: the complete tars are kept, the lines of the
// unfinished one redone into new tars; every ok line in exactly one tar; no temporary left.
TEST_F(WebdatasetE2eTest, APlainRunKilledThenResumedHasEachLineInOneTar) {
  fixtures::FixtureServer slow(fixtures::ServerOptions{0, 40, 0});
  const fs::path list = write_list(small_images(slow, 40)), out = dir_ / "out";
  const std::vector<std::string> args = {
      "-i", list.string(),     "-o",         out.string(),          "--quiet", "-j",
      "2",  "--output-format", "webdataset", "--samples-per-shard", "4"};
  pid_t pid = spawn(args);
  ASSERT_GT(pid, 0);
  wait_rows(out / "manifest.jsonl", 14);
  ::kill(pid, SIGKILL);
  ASSERT_EQ(wait_exit(pid), 1000 + SIGKILL);
  const size_t before = rows_in(out / "manifest.jsonl");
  ASSERT_LT(before, 40u) << "the run finished before the kill: nothing to redo";
  EXPECT_GE(read_tars(out).size(), 3u) << "complete tars before the kill";

  std::vector<std::string> again = args;
  again.push_back("--resume");
  Outcome r = run(again);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(manifest(out).size(), 40u);
  std::multiset<std::string> keys;
  for (const auto& [name, tar] : read_tars(out))
    check_samples(name, tar, out, {".jpg"}, nullptr, &keys);
  EXPECT_EQ(keys, ok_keys(out));
  EXPECT_EQ(keys.size(), 40u);
  EXPECT_EQ(leftovers(out), std::vector<std::string>{});
}

class WebdatasetShardsE2eTest : public WebdatasetE2eTest {
 protected:
  fs::path job() const { return dir_ / "job"; }
  fs::path shard_dir(int k) const { return job() / "shards" / shard_name(k); }

  // Plans one webdataset shard of n images on `server` (slow, so it can be stopped mid-way) and
  // starts `imgpipe run` on it; returns once the shard's manifest has `rows` rows.
  pid_t start_shard(const fixtures::FixtureServer& server, int n, size_t rows) {
    const Outcome plan =
        run({"plan", "-i", write_list(small_images(server, n)).string(), "-o", job().string(),
             "--shard-size", std::to_string(n), "--output-format", "webdataset", "-s", "16"});
    EXPECT_EQ(plan.exit_code, 0) << plan.err;
    pid_t pid = spawn({"run", job().string(), "--shard", "0", "-j", "2", "--quiet"});
    if (pid > 0) wait_rows(shard_dir(0) / "manifest.jsonl", rows);
    return pid;
  }

  // Runs shard 0 to its end: one complete tar, each of its n lines in it once, nothing left over.
  void expect_redone_into_one_tar(int n) {
    Outcome r = run({"run", job().string(), "--shard", "0", "-j", "8", "--no-progress"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("shard 0: done, " + std::to_string(n) + " lines, 0 failed"),
              std::string::npos)
        << r.err;
    const auto tars = read_tars(shard_dir(0));
    ASSERT_EQ(tars.size(), 1u);
    ASSERT_TRUE(tars.count("00000.tar"));
    std::multiset<std::string> keys;
    check_samples("00000.tar", tars.at("00000.tar"), shard_dir(0), {".jpg"}, nullptr, &keys);
    EXPECT_EQ(keys, ok_keys(shard_dir(0)));
    EXPECT_EQ(keys.size(), static_cast<size_t>(n));
    EXPECT_EQ(leftovers(shard_dir(0)), std::vector<std::string>{});
  }
};

// Under `imgpipe run`, each shard writes one tar named after it, in its folder, holding the
// shard's ok lines; captions come through the plan from a JSONL field.
TEST_F(WebdatasetShardsE2eTest, EachShardWritesOneTarNamedAfterIt) {
  const fs::path list = dir_ / "list.jsonl";
  std::map<int, std::string> captions;
  {
    std::ofstream out(list);
    for (int i = 0; i < 7; ++i) {
      const std::string url =
          i == 4 ? "not a url" : server_.url("/image/" + std::to_string(20 + i) + "x20.jpg");
      json record = {{"url", url}};
      if (i != 2) record["text"] = "picture " + std::to_string(i);
      if (i != 2) captions[i + 1] = "picture " + std::to_string(i);
      out << record.dump() << "\n";
    }
  }
  ASSERT_EQ(run({"plan", "-i", list.string(), "-o", job().string(), "--shard-size", "3",
                 "--output-format", "webdataset", "--caption-column", "text", "-s", "16"})
                .exit_code,
            0);
  Outcome r = run({"run", job().string(), "--shard", "0-2", "--no-progress"});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // the bad line
  std::multiset<std::string> all;
  for (int k = 0; k < 3; ++k) {
    const auto tars = read_tars(shard_dir(k));
    ASSERT_EQ(tars.size(), 1u) << k;
    const std::string name = shard_name(k) + ".tar";
    ASSERT_TRUE(tars.count(name)) << k;
    std::multiset<std::string> keys;
    check_samples(name, tars.at(name), shard_dir(k), {".jpg"}, &captions, &keys);
    EXPECT_EQ(keys, ok_keys(shard_dir(k))) << k;
    all.insert(keys.begin(), keys.end());
    EXPECT_TRUE(fs::exists(shard_dir(k) / "done.json")) << k;
  }
  EXPECT_EQ(all.size(), 6u);
  EXPECT_EQ(all.count(key_of(5)), 0u);
  EXPECT_EQ(run({"status", job().string()}).exit_code, 0);
}

// A shard killed with SIGKILL mid-run, then run again: it is redone into a complete tar holding
// each ok line exactly once, with no temporary file left.
TEST_F(WebdatasetShardsE2eTest, AShardKilledWithSigkillIsRedoneIntoOneCompleteTar) {
  fixtures::FixtureServer slow(fixtures::ServerOptions{0, 40, 0});
  pid_t pid = start_shard(slow, 40, 10);
  ASSERT_GT(pid, 0);
  ::kill(pid, SIGKILL);
  ASSERT_EQ(wait_exit(pid), 1000 + SIGKILL);
  ASSERT_LT(rows_in(shard_dir(0) / "manifest.jsonl"), 40u) << "finished before the kill";
  EXPECT_FALSE(fs::exists(shard_dir(0) / "00000.tar")) << "no tar under its final name yet";
  EXPECT_FALSE(leftovers(shard_dir(0)).empty()) << "the unfinished tar, under its temporary name";
  expect_redone_into_one_tar(40);
}

// A shard stopped by SIGTERM (a scheduler's time limit) finishes the tar it has open, but has no
// done marker: its next run removes that tar and redoes the shard into a new one, so the shard
// still ends with one tar holding each ok line once.
TEST_F(WebdatasetShardsE2eTest, AnInterruptedShardsTarIsRedoneWhole) {
  fixtures::FixtureServer slow(fixtures::ServerOptions{0, 40, 0});
  pid_t pid = start_shard(slow, 30, 5);
  ASSERT_GT(pid, 0);
  ::kill(pid, SIGTERM);
  ASSERT_EQ(wait_exit(pid), 130);
  ASSERT_LT(rows_in(shard_dir(0) / "manifest.jsonl"), 30u) << "finished before the signal";
  ASSERT_TRUE(fs::exists(shard_dir(0) / "00000.tar")) << "the open tar was finished";
  EXPECT_FALSE(fs::exists(shard_dir(0) / "done.json"));
  expect_redone_into_one_tar(30);
  EXPECT_EQ(json::parse(slurp(shard_dir(0) / "done.json"))["resumed"], 0) << "redone whole";
}

}  // namespace
}  // namespace imgpipe

// Tests for the --trace writer: valid Chrome trace JSON under concurrent writers, exact intervals,
// one set of track metadata, escaping, close semantics and failure reporting.
#include "pipeline/trace.h"

#include <gtest/gtest.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "fixtures/temp_dir.h"

namespace imgpipe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::nanoseconds;

class TraceWriterTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    path_ = (dir_ / "trace.json").string();
  }

  std::unique_ptr<TraceWriter> create() {
    std::string why;
    auto writer = TraceWriter::create(path_, origin_, &why);
    EXPECT_NE(writer, nullptr) << why;
    return writer;
  }
  std::string read() const {
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  // The file parsed; fails the test (and returns null) if it is not valid JSON.
  json parse() const {
    json j = json::parse(read(), nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << read();
    return j;
  }
  static std::vector<json> events_with_ph(const json& trace, const std::string& ph) {
    std::vector<json> out;
    for (const json& e : trace["traceEvents"])
      if (e["ph"] == ph) out.push_back(e);
    return out;
  }

  std::string path_;
  const Clock::time_point origin_ = Clock::now();
};

// What thread t writes as its i-th event: alternating between its worker track and a download
// slot shared with other threads, with times derived from the line so they can be checked.
struct Expected {
  Track track;
  const char* name;
  uint64_t line;
  int64_t start_ns, dur_ns;
};
Expected expected_event(int t, int i) {
  uint64_t line = static_cast<uint64_t>(t) * 10000 + i + 1;
  bool download = i % 2 == 0;
  return {download ? Track{Track::kDownload, t % 3} : Track{Track::kWorker, t},
          download ? "download" : "decode", line, static_cast<int64_t>(line) * 1000 + 123,
          2500 + i};
}

TEST_F(TraceWriterTest, ConcurrentIntervalsEachAppearOnceWithOneSetOfMetadata) {
  constexpr int kThreads = 8, kPerThread = 2000;
  auto writer = create();
  ASSERT_NE(writer, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Expected e = expected_event(t, i);
        Clock::time_point start = origin_ + nanoseconds(e.start_ns);
        writer->interval(e.track, e.name, start, start + nanoseconds(e.dur_ns), e.line,
                         "http://example.com/" + std::to_string(e.line) + ".jpg", "ok");
      }
    });
  }
  for (std::thread& th : threads) th.join();
  std::string why;
  ASSERT_TRUE(writer->close(&why)) << why;

  json trace = parse();
  ASSERT_TRUE(trace.is_object());
  EXPECT_EQ(trace["displayTimeUnit"], "ms");

  std::map<uint64_t, json> by_line;
  for (const json& e : events_with_ph(trace, "X")) {
    uint64_t line = e["args"]["line"];
    EXPECT_TRUE(by_line.emplace(line, e).second) << "duplicate line " << line;
  }
  ASSERT_EQ(by_line.size(), size_t{kThreads} * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      Expected want = expected_event(t, i);
      const json& e = by_line[want.line];
      ASSERT_EQ(e["pid"], want.track.kind == Track::kDownload ? 1 : 2) << e;
      ASSERT_EQ(e["tid"], want.track.index + 1) << e;
      ASSERT_EQ(e["name"], want.name) << e;
      ASSERT_NEAR(e["ts"].get<double>(), want.start_ns / 1000.0, 1e-6) << e;
      ASSERT_NEAR(e["dur"].get<double>(), want.dur_ns / 1000.0, 1e-6) << e;
      ASSERT_EQ(e["args"]["url"], "http://example.com/" + std::to_string(want.line) + ".jpg");
      ASSERT_EQ(e["args"]["status"], "ok");
    }
  }

  // Metadata: once per process and once per track, named as viewers will show them.
  std::map<std::string, std::map<std::pair<int, int>, std::vector<json>>> meta;
  for (const json& e : events_with_ph(trace, "M"))
    meta[e["name"]][{e["pid"].get<int>(), e["tid"].get<int>()}].push_back(e["args"]);
  std::map<int, std::vector<std::string>> process_names;
  for (const auto& [key, args] : meta["process_name"])
    for (const json& a : args) process_names[key.first].push_back(a["name"]);
  EXPECT_EQ(process_names,
            (std::map<int, std::vector<std::string>>{{1, {"downloads"}}, {2, {"processing"}}}));
  size_t process_sorts = 0;
  for (const auto& [key, args] : meta["process_sort_index"]) {
    process_sorts += args.size();
    EXPECT_EQ(args[0]["sort_index"], key.first);
  }
  EXPECT_EQ(process_sorts, 2u);

  std::map<std::pair<int, int>, std::string> want_threads;
  for (int slot = 0; slot < 3; ++slot) want_threads[{1, slot + 1}] = "slot " + std::to_string(slot);
  for (int w = 0; w < kThreads; ++w) want_threads[{2, w + 1}] = "worker " + std::to_string(w);
  ASSERT_EQ(meta["thread_name"].size(), want_threads.size());
  ASSERT_EQ(meta["thread_sort_index"].size(), want_threads.size());
  for (const auto& [key, name] : want_threads) {
    const auto& names = meta["thread_name"][key];
    ASSERT_EQ(names.size(), 1u) << name;
    EXPECT_EQ(names[0]["name"], name);
    const auto& sorts = meta["thread_sort_index"][key];
    ASSERT_EQ(sorts.size(), 1u) << name;
    EXPECT_EQ(sorts[0]["sort_index"], key.second);
  }
}

TEST_F(TraceWriterTest, TrackIsNamedBeforeItsFirstInterval) {
  auto writer = create();
  ASSERT_NE(writer, nullptr);
  writer->interval({Track::kWorker, 5}, "resize", origin_, origin_, 1, "u", "ok");
  writer->interval({Track::kWorker, 5}, "encode", origin_, origin_, 1, "u", "ok");
  ASSERT_TRUE(writer->close(nullptr));
  json events = parse()["traceEvents"];
  ASSERT_EQ(events.size(), 6u);  // process name + sort, thread name + sort, two intervals
  for (int i = 0; i < 4; ++i) EXPECT_EQ(events[i]["ph"], "M") << events[i];
  EXPECT_EQ(events[2]["args"]["name"], "worker 5");
  EXPECT_EQ(events[4]["name"], "resize");
  EXPECT_EQ(events[5]["name"], "encode");
}

TEST_F(TraceWriterTest, TimesAreMicrosecondsFromOrigin) {
  auto writer = create();
  ASSERT_NE(writer, nullptr);
  Track slot{Track::kDownload, 0};
  writer->interval(slot, "download", origin_ + nanoseconds(1'234'567'891),
                   origin_ + nanoseconds(1'234'567'891 + 42'001), 1, "a", "ok");
  // Before the origin (a clock read that raced the run start) and end before start: both kept,
  // the latter as zero length rather than a negative duration viewers reject.
  writer->interval(slot, "download", origin_ - nanoseconds(1500), origin_ - nanoseconds(2000), 2,
                   "b", "ok");
  ASSERT_TRUE(writer->close(nullptr));
  std::vector<json> x = events_with_ph(parse(), "X");
  ASSERT_EQ(x.size(), 2u);
  EXPECT_DOUBLE_EQ(x[0]["ts"].get<double>(), 1234567.891);
  EXPECT_DOUBLE_EQ(x[0]["dur"].get<double>(), 42.001);
  EXPECT_DOUBLE_EQ(x[1]["ts"].get<double>(), -1.5);
  EXPECT_DOUBLE_EQ(x[1]["dur"].get<double>(), 0.0);
}

TEST_F(TraceWriterTest, HostileUrlSurvives) {
  auto writer = create();
  ASSERT_NE(writer, nullptr);
  const std::string url = "http://x/\"quoted\"\nnew\tline\\back\x01 \xff\xfe end";
  writer->interval({Track::kDownload, 1}, "download", origin_, origin_, 7, url, "bad_url");
  ASSERT_TRUE(writer->close(nullptr));
  std::vector<json> x = events_with_ph(parse(), "X");
  ASSERT_EQ(x.size(), 1u);
  // Invalid UTF-8 bytes become U+FFFD; everything else comes back exactly.
  EXPECT_EQ(x[0]["args"]["url"],
            "http://x/\"quoted\"\nnew\tline\\back\x01 \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_EQ(x[0]["args"]["status"], "bad_url");
  EXPECT_EQ(x[0]["args"]["line"], 7);
}

TEST_F(TraceWriterTest, EmptyTraceIsValid) {
  auto writer = create();
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->close(nullptr));
  json trace = parse();
  EXPECT_EQ(trace, json::parse(R"({"traceEvents":[],"displayTimeUnit":"ms"})"));
}

TEST_F(TraceWriterTest, CloseTwiceIsFineAndLaterIntervalsAreDropped) {
  auto writer = create();
  ASSERT_NE(writer, nullptr);
  writer->interval({Track::kWorker, 0}, "write", origin_, origin_, 1, "u", "ok");
  std::string why = "stale";
  EXPECT_TRUE(writer->close(&why));
  EXPECT_EQ(why, "");
  std::string closed = read();
  writer->interval({Track::kWorker, 1}, "write", origin_, origin_, 2, "u", "ok");
  EXPECT_TRUE(writer->close(&why));
  EXPECT_EQ(why, "");
  EXPECT_EQ(read(), closed);
  EXPECT_EQ(events_with_ph(parse(), "X").size(), 1u);
}

TEST_F(TraceWriterTest, DestructorClosesTheFile) {
  {
    auto writer = create();
    ASSERT_NE(writer, nullptr);
    writer->interval({Track::kWorker, 0}, "write", origin_, origin_, 1, "u", "ok");
  }
  EXPECT_EQ(events_with_ph(parse(), "X").size(), 1u);
}

TEST(TraceWriter, CreateOnUnwritablePathFails) {
  std::string why;
  const std::string path = "/nonexistent-imgpipe-dir/trace.json";
  EXPECT_EQ(TraceWriter::create(path, Clock::now(), &why), nullptr);
  EXPECT_NE(why.find(path), std::string::npos) << why;
  EXPECT_NE(why.find("No such file"), std::string::npos) << why;
}

TEST(TraceWriter, WriteFailureIsReportedByClose) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  std::string why;
  auto writer = TraceWriter::create("/dev/full", Clock::now(), &why);
  ASSERT_NE(writer, nullptr) << why;
  writer->interval({Track::kWorker, 0}, "write", Clock::now(), Clock::now(), 1, "u", "ok");
  EXPECT_FALSE(writer->close(&why));
  EXPECT_NE(why.find("No space"), std::string::npos) << why;
  std::string again;
  EXPECT_FALSE(writer->close(&again));
  EXPECT_EQ(again, why);
}

TEST(TraceWorkerIndex, ArenaSlotOnTbbThreadsNotInitializedElsewhere) {
  // The caller of execute() takes the arena's reserved slot 0. Not parallel_for: tasks handed
  // between threads inside uninstrumented libtbb are false races in the TSan build.
  tbb::task_arena arena(4);
  int inside = -1;
  arena.execute([&] { inside = current_worker_index(); });
  EXPECT_EQ(inside, 0);
  int outside = 0;
  std::thread([&] { outside = current_worker_index(); }).join();
  // Copied, not passed by reference: libtbb has no out-of-line definition of the constant.
  const int not_initialized = tbb::task_arena::not_initialized;
  EXPECT_EQ(outside, not_initialized);
}

}  // namespace
}  // namespace imgpipe

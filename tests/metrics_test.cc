// Tests for metrics arithmetic: percentiles, spans, effective concurrency, overlap, report totals.
#include "pipeline/metrics.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace imgpipe {
namespace {

using std::chrono::milliseconds;

TEST(LatencyHistogram, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile(50), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.count(), 0u);
}

TEST(LatencyHistogram, SingleValueIsExact) {
  LatencyHistogram h;
  h.add(12.5);
  EXPECT_DOUBLE_EQ(h.percentile(0), 12.5);
  EXPECT_DOUBLE_EQ(h.percentile(50), 12.5);
  EXPECT_DOUBLE_EQ(h.percentile(100), 12.5);
}

TEST(LatencyHistogram, PercentilesWithinTwoPercent) {
  LatencyHistogram h;
  for (int i = 1; i <= 1000; ++i) h.add(i);  // 1..1000 ms
  EXPECT_NEAR(h.percentile(50), 500, 500 * 0.02);
  EXPECT_NEAR(h.percentile(95), 950, 950 * 0.02);
  EXPECT_NEAR(h.percentile(99), 990, 990 * 0.02);
  EXPECT_DOUBLE_EQ(h.max(), 1000);
  EXPECT_DOUBLE_EQ(h.percentile(100), 1000);
  EXPECT_EQ(h.count(), 1000u);
}

TEST(LatencyHistogram, SkewedDistribution) {
  LatencyHistogram h;
  for (int i = 0; i < 90; ++i) h.add(1);
  for (int i = 0; i < 10; ++i) h.add(1000);
  EXPECT_NEAR(h.percentile(50), 1, 0.02);
  EXPECT_NEAR(h.percentile(90), 1, 0.02);
  EXPECT_NEAR(h.percentile(95), 1000, 20);
}

TEST(LatencyHistogram, ZeroAndNegativeCountAsZero) {
  LatencyHistogram h;
  h.add(0);
  h.add(-5);
  EXPECT_EQ(h.percentile(50), 0);
  EXPECT_EQ(h.max(), 0);
}

TEST(Derive, ZeroSpanHasNoRates) {
  LatencyHistogram h;
  StageReport s = derive("x", 3, 1, 0.5, 0.0, h);
  EXPECT_EQ(s.items_per_s, 0);
  EXPECT_EQ(s.effective_concurrency, 0);
  EXPECT_EQ(s.ok, 3u);
  EXPECT_EQ(s.failed, 1u);
}

TEST(Derive, EffectiveConcurrencyIsBusyOverSpan) {
  LatencyHistogram h;
  StageReport s = derive("x", 8, 2, 6.0, 2.0, h);
  EXPECT_DOUBLE_EQ(s.effective_concurrency, 3.0);
  EXPECT_DOUBLE_EQ(s.items_per_s, 5.0);
}

TEST(Metrics, StageSpanAndBusyFromSamples) {
  Metrics m;
  auto t0 = Clock::now();
  // Two 100 ms items side by side over 100 ms: busy 0.2 s, span 0.1 s, 2× concurrency.
  m.record_stage(Stage::kDecode, {t0, t0 + milliseconds(100), 100, true, 10, 20});
  m.record_stage(Stage::kDecode, {t0, t0 + milliseconds(100), 100, false, 5, 0});
  Report r = m.report();
  const StageReport& d = r.stages[static_cast<int>(Stage::kDecode)];
  EXPECT_EQ(d.name, "decode");
  EXPECT_EQ(d.ok, 1u);
  EXPECT_EQ(d.failed, 1u);
  EXPECT_EQ(d.bytes_in, 15u);
  EXPECT_EQ(d.bytes_out, 20u);
  EXPECT_NEAR(d.busy_s, 0.2, 1e-9);
  EXPECT_NEAR(d.span_s, 0.1, 1e-9);
  EXPECT_NEAR(d.effective_concurrency, 2.0, 1e-9);
  const StageReport& e = r.stages[static_cast<int>(Stage::kEncode)];
  EXPECT_EQ(e.ok + e.failed, 0u);
  EXPECT_EQ(e.span_s, 0);  // nothing ran: zero span, no division by zero
}

TEST(Metrics, ProcessingRowCombinesCpuStagesOnly) {
  Metrics m;
  auto t0 = Clock::now();
  m.record_stage(Stage::kDownload, {t0, t0 + milliseconds(1000), 1000, true, 50, 50});
  // Two items hashed and decoded side by side, then written: 0.4 s of CPU work within a 0.2 s
  // span. The first CPU stage (hash) gives the row's input.
  m.record_stage(Stage::kHash, {t0, t0, 0, true, 50, 50});
  m.record_stage(Stage::kHash, {t0, t0, 0, true, 50, 50});
  m.record_stage(Stage::kDecode, {t0, t0 + milliseconds(100), 100, true, 50, 900});
  m.record_stage(Stage::kDecode, {t0, t0 + milliseconds(100), 100, true, 50, 900});
  m.record_stage(Stage::kWrite, {t0 + milliseconds(100), t0 + milliseconds(200), 100, true, 9, 9});
  m.record_stage(Stage::kWrite, {t0 + milliseconds(100), t0 + milliseconds(200), 100, false, 9, 0});
  Report r = m.report();
  EXPECT_EQ(r.processing.name, "process");
  EXPECT_NEAR(r.processing.busy_s, 0.4, 1e-9);
  EXPECT_NEAR(r.processing.span_s, 0.2, 1e-9);
  EXPECT_NEAR(r.processing.effective_concurrency, 2.0, 1e-9);
  EXPECT_EQ(r.processing.ok, 1u);
  EXPECT_EQ(r.processing.failed, 1u);
  EXPECT_EQ(r.processing.bytes_in, 100u);
}

TEST(Metrics, ItemOutcomesAddUpToInputs) {
  Metrics m;
  Item ok, bad, worse;
  bad.fail(Status::kHttpError, "404");
  worse.fail(Status::kHttpError, "500");
  for (Item* it : {&ok, &bad, &worse}) m.record_item(*it, Clock::now());
  Report r = m.report();
  EXPECT_EQ(r.inputs, 3u);
  EXPECT_EQ(r.total.ok, 1u);
  EXPECT_EQ(r.total.failed, 2u);
  EXPECT_EQ(r.by_status[static_cast<int>(Status::kHttpError)], 2u);
  nlohmann::ordered_json j = to_json(r);
  EXPECT_EQ(j["inputs"], 3);
  EXPECT_EQ(j["by_status"]["http_error"], 2);
  EXPECT_EQ(j["by_status"]["ok"], 1);
  EXPECT_NE(format_table(r).find("http_error=2"), std::string::npos);
}

TEST(OverlapTracker, CountsOnlyTimeWhenBothRun) {
  OverlapTracker t;
  auto t0 = Clock::now();
  t.begin(Activity::kDownload, t0);
  t.begin(Activity::kProcess, t0 + milliseconds(30));
  t.end(Activity::kDownload, t0 + milliseconds(60));
  t.end(Activity::kProcess, t0 + milliseconds(90));
  EXPECT_NEAR(t.active_s(Activity::kDownload), 0.060, 1e-9);
  EXPECT_NEAR(t.active_s(Activity::kProcess), 0.060, 1e-9);
  EXPECT_NEAR(t.both_s(), 0.030, 1e-9);
}

TEST(OverlapTracker, NestedSameActivityCountsOnce) {
  OverlapTracker t;
  auto t0 = Clock::now();
  t.begin(Activity::kProcess, t0);
  t.begin(Activity::kProcess, t0 + milliseconds(5));
  t.end(Activity::kProcess, t0 + milliseconds(10));
  t.end(Activity::kProcess, t0 + milliseconds(20));
  EXPECT_NEAR(t.active_s(Activity::kProcess), 0.020, 1e-9);  // wall time, not summed per runner
  EXPECT_EQ(t.both_s(), 0);
}

}  // namespace
}  // namespace imgpipe

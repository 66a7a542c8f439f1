// Tests for the report's timeline: the activity it keeps adds up to what was added, whatever the
// order and the bucket width, its bucket count stays bounded for any run length, and concurrent
// adders lose nothing.
#include "pipeline/timeline.h"

#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <thread>
#include <vector>

namespace imgpipe {
namespace {

// The seconds of activity samples() describes: average × width, the last bucket's width ending
// at end_s.
double area(const TimelineSamples& t, const std::vector<double>& v) {
  double sum = 0;
  for (size_t b = 0; b < v.size(); ++b)
    sum += v[b] * std::min(t.bucket_s, t.end_s - static_cast<double>(b) * t.bucket_s);
  return sum;
}

TEST(TimelineTest, AveragesAreTheActivityPerBucket) {
  Timeline t(Clock::now());
  t.add_s(Track::kDownload, 0, 0.0005);    // half of the first 1 ms bucket
  t.add_s(Track::kDownload, 0, 0.002);     // two whole buckets
  t.add_s(Track::kWorker, 0.001, 0.0015);  // half of the second
  TimelineSamples s = t.samples();
  EXPECT_DOUBLE_EQ(s.bucket_s, Timeline::kFirstBucketS);
  ASSERT_EQ(s.transfers.size(), 2u);
  EXPECT_NEAR(s.transfers[0], 1.5, 1e-9);  // 1.5 transfers on average in the first ms
  EXPECT_NEAR(s.transfers[1], 1.0, 1e-9);
  EXPECT_NEAR(s.workers[0], 0.0, 1e-9);
  EXPECT_NEAR(s.workers[1], 0.5, 1e-9);
}

TEST(TimelineTest, TheLastBucketIsAveragedOverWhatItCovers) {
  Timeline t(Clock::now());
  t.add_s(Track::kWorker, 0, 0.0015);  // ends halfway through the second bucket: 1 worker there
  TimelineSamples s = t.samples();
  ASSERT_EQ(s.workers.size(), 2u);
  EXPECT_NEAR(s.workers[1], 1.0, 1e-9);
  EXPECT_NEAR(area(s, s.workers), 0.0015, 1e-12);
}

TEST(TimelineTest, WideningKeepsEverySecondAndTheOrderDoesNotMatter) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> start(0, 100), length(0, 5);
  std::vector<std::pair<double, double>> intervals;
  for (int i = 0; i < 20000; ++i) {
    const double s = start(rng);
    intervals.push_back({s, s + length(rng)});
  }
  Timeline forward(Clock::now()), backward(Clock::now());
  double total = 0;
  for (const auto& [s, e] : intervals) forward.add_s(Track::kDownload, s, e), total += e - s;
  for (auto it = intervals.rbegin(); it != intervals.rend(); ++it)
    backward.add_s(Track::kDownload, it->first, it->second);
  const TimelineSamples a = forward.samples(), b = backward.samples();
  EXPECT_NEAR(area(a, a.transfers), total, total * 1e-9);
  ASSERT_EQ(a.transfers.size(), b.transfers.size());
  EXPECT_EQ(a.bucket_s, b.bucket_s);
  for (size_t i = 0; i < a.transfers.size(); ++i)
    EXPECT_NEAR(a.transfers[i], b.transfers[i], 1e-6) << i;
}

// The bound the report's size rests on: a million intervals over ten hours still give at most
// kBuckets buckets, and at least half of them are used (the chart keeps its resolution).
TEST(TimelineTest, AMillionIntervalsOverTenHoursStayWithinTheBucketBound) {
  Timeline t(Clock::now());
  constexpr double kRunS = 36000;
  for (int i = 0; i < 1000000; ++i) {
    const double s = kRunS * i / 1e6;
    t.add_s(i % 2 ? Track::kWorker : Track::kDownload, s, s + 0.2);
  }
  const TimelineSamples s = t.samples();
  EXPECT_LE(s.transfers.size(), Timeline::kBuckets);
  EXPECT_GE(s.transfers.size(), Timeline::kBuckets / 2);
  EXPECT_EQ(s.transfers.size(), s.workers.size());
  EXPECT_NEAR(area(s, s.transfers), 500000 * 0.2, 1e-3);
  EXPECT_LE(sizeof(Timeline), 2 * Timeline::kBuckets * sizeof(double) + 256);
}

TEST(TimelineTest, NothingBackwardsEmptyOrBeforeTheStartIsCountedTwice) {
  const auto origin = Clock::now();
  Timeline t(origin);
  EXPECT_TRUE(t.samples().empty());
  t.add_s(Track::kDownload, 0.5, 0.4);  // backwards: nothing
  t.add_s(Track::kDownload, 0.5, 0.5);  // empty: nothing
  EXPECT_TRUE(t.samples().empty());
  t.add(Track::kWorker, origin - std::chrono::seconds(1), origin + std::chrono::milliseconds(2));
  const TimelineSamples s = t.samples();
  EXPECT_NEAR(area(s, s.workers), 0.002, 1e-9);  // the part before the origin is not the run's
}

TEST(TimelineTest, ConcurrentAddersLoseNothing) {
  Timeline t(Clock::now());
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&t, k] {
      for (int i = 0; i < 5000; ++i) t.add_s(Track::kWorker, i * 0.001 + k, i * 0.001 + k + 0.01);
    });
  for (auto& th : threads) th.join();
  const TimelineSamples s = t.samples();
  EXPECT_NEAR(area(s, s.workers), 4 * 5000 * 0.01, 1e-6);
}

}  // namespace
}  // namespace imgpipe

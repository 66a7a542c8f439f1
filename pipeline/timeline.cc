// The report's timeline: intervals spread over doubling time buckets.
#include "pipeline/timeline.h"

#include <algorithm>
#include <cmath>

namespace imgpipe {

void Timeline::add(Track::Kind kind, Clock::time_point start, Clock::time_point end) {
  add_s(kind, std::chrono::duration<double>(start - origin_).count(),
        std::chrono::duration<double>(end - origin_).count());
}

void Timeline::add_s(Track::Kind kind, double start_s, double end_s) {
  start_s = std::max(start_s, 0.0);
  if (!(end_s > start_s)) return;  // empty, backwards or NaN: no activity
  std::lock_guard<std::mutex> lock(mu_);
  widen_to(end_s);
  end_s_ = std::max(end_s_, end_s);
  auto& busy = busy_s_[kind];
  const double w = bucket_s_;
  const size_t first = static_cast<size_t>(start_s / w);
  const size_t last = std::min(static_cast<size_t>(end_s / w), kBuckets - 1);
  for (size_t b = first; b <= last && b < kBuckets; ++b) {
    const double from = std::max(start_s, static_cast<double>(b) * w);
    const double to = std::min(end_s, static_cast<double>(b + 1) * w);
    if (to > from) busy[b] += to - from;
  }
}

// Doubles the bucket width, merging neighbours, until end_s fits: each bucket's seconds of
// activity stay in the merged bucket that covers them, so nothing already added is lost.
void Timeline::widen_to(double end_s) {
  while (end_s > bucket_s_ * kBuckets) {
    for (auto& busy : busy_s_) {
      for (size_t b = 0; b < kBuckets / 2; ++b) busy[b] = busy[2 * b] + busy[2 * b + 1];
      std::fill(busy.begin() + kBuckets / 2, busy.end(), 0.0);
    }
    bucket_s_ *= 2;
  }
}

TimelineSamples Timeline::samples() const {
  std::lock_guard<std::mutex> lock(mu_);
  TimelineSamples t;
  t.bucket_s = bucket_s_;
  t.end_s = end_s_;
  if (end_s_ <= 0) return t;
  const size_t n = std::min(kBuckets, static_cast<size_t>(std::ceil(end_s_ / bucket_s_)));
  for (size_t b = 0; b < n; ++b) {
    // The last bucket ends at end_s_, not at its full width: its average is over what it covers.
    const double width = std::min(bucket_s_, end_s_ - static_cast<double>(b) * bucket_s_);
    const double w = width > 0 ? width : bucket_s_;
    t.transfers.push_back(busy_s_[Track::kDownload][b] / w);
    t.workers.push_back(busy_s_[Track::kWorker][b] / w);
  }
  return t;
}

}  // namespace imgpipe

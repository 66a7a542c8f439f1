// Timeline: the --report's picture over the run's time — transfers in flight and busy processing
// workers — kept as a fixed number of time buckets, fed the same intervals as --trace.
//
// Each bucket holds the seconds of activity that fell inside it, per kind; activity ÷ bucket width
// is the average number of transfers (or workers) at work then, so the area under the curve is the
// stage's busy time exactly, however coarse the buckets. The buckets start 1 ms wide and double
// (neighbours merged) whenever an interval ends past the last one, so their count never exceeds
// kBuckets: memory is ~8 KiB whatever the list's length or the run's duration, and the report's
// chart stays a few KiB of SVG. Ownership: one per run, owned by the pipeline's context and
// outliving the curl thread and the graph. Thread-safety: add() and samples() may be called from
// any thread (one mutex; add() costs a few buckets' arithmetic under it).
#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <vector>

#include "core/item.h"
#include "pipeline/trace.h"

namespace imgpipe {

// What a report draws: averages over equal buckets from time zero (the run's start).
struct TimelineSamples {
  double bucket_s = 0;            // width of every bucket but the last
  double end_s = 0;               // the latest interval's end: the last bucket stops here
  std::vector<double> transfers;  // per bucket: transfers in flight, on average
  std::vector<double> workers;    // per bucket: processing workers busy, on average
  bool empty() const { return transfers.empty(); }
};

class Timeline {
 public:
  // 512: twice the chart's usual width in buckets for a run of a second or more (it ends with
  // 256..512 of them used), and 8 KiB of doubles.
  static constexpr size_t kBuckets = 512;
  static constexpr double kFirstBucketS = 0.001;

  explicit Timeline(Clock::time_point origin) : origin_(origin) {}

  // One interval of a transfer attempt (Track::kDownload) or of a stage on a worker
  // (Track::kWorker). Times before the origin count from it; end < start counts as nothing.
  void add(Track::Kind kind, Clock::time_point start, Clock::time_point end);
  // The same in seconds since the origin (what add() converts to; tests feed it directly).
  void add_s(Track::Kind kind, double start_s, double end_s);

  TimelineSamples samples() const;

 private:
  void widen_to(double end_s);  // caller holds mu_

  const Clock::time_point origin_;
  mutable std::mutex mu_;
  double bucket_s_ = kFirstBucketS;  // guarded by mu_, as are the two below
  double end_s_ = 0;
  std::array<std::array<double, kBuckets>, 2> busy_s_{};  // [Track::Kind][bucket]
};

}  // namespace imgpipe

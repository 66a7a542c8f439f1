// Metrics: per-stage counters, latency percentiles and download/processing overlap of one run.
//
// Memory is fixed (log-bucketed histograms, no per-item samples) so a list of millions of lines
// costs the same as ten. Ownership: one Metrics per run, owned by the pipeline and outliving the
// graph and the curl thread. Thread-safety: every non-const method may be called from any thread
// (a mutex per stage / per tracker); report() wants the run to have finished.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/item.h"
#include "core/status.h"

namespace imgpipe {

// Latencies in ms, kept as counts in buckets 2% wide: percentiles within 2%, exact for min/max.
// Not thread-safe by itself.
class LatencyHistogram {
 public:
  LatencyHistogram();
  void add(double ms);
  // Nearest-rank percentile, p in [0, 100]; 0 when empty.
  double percentile(double p) const;
  double max() const { return max_; }
  uint64_t count() const { return count_; }

 private:
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  double min_ = 0, max_ = 0;
};

// How long two kinds of activity were each under way, and both at once, measured online.
enum class Activity { kDownload, kProcess };
class OverlapTracker {
 public:
  // `now` is for tests; callers leave it to the clock.
  void begin(Activity a, Clock::time_point now = Clock::now());
  void end(Activity a, Clock::time_point now = Clock::now());
  double active_s(Activity a) const;
  double both_s() const;

 private:
  void advance(Clock::time_point now);  // caller holds mu_
  mutable std::mutex mu_;
  int running_[2] = {0, 0};
  Clock::time_point last_ = Clock::now();
  double active_s_[2] = {0, 0};
  double both_s_ = 0;
};

struct StageReport {
  std::string name;
  uint64_t ok = 0, failed = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
  double busy_s = 0;                     // summed over items
  double span_s = 0;                     // first start to last end
  double items_per_s = 0, mb_per_s = 0;  // over the span; MB/s counts bytes_in
  double p50_ms = 0, p95_ms = 0, max_ms = 0;
  double effective_concurrency = 0;  // busy / span: the speedup over one-at-a-time
};

struct Report {
  std::vector<StageReport> stages;  // one per Stage, in data-flow order
  // The CPU stages (hash..write) together: effective concurrency here is the speedup over one
  // core, which no single CPU stage shows since they share the cores.
  StageReport processing;
  StageReport total;  // end to end; busy sums all stages, span is the wall time
  uint64_t inputs = 0;
  std::array<uint64_t, kStatusCount> by_status{};
  double download_active_s = 0, process_active_s = 0, overlap_s = 0;
  // Transfer attempts, the connections they opened and the HTTP versions they were answered in:
  // what keep-alive and HTTP/2 multiplexing saved.
  uint64_t transfers = 0, connections = 0;
  std::array<uint64_t, static_cast<int>(HttpVersion::kCount)> http_versions{};
  bool tls_verified = true;  // false under --insecure: said in the table and the JSON
};

// Fills a StageReport's derived fields (rates, percentiles, effective concurrency) from raw sums.
StageReport derive(std::string name, uint64_t ok, uint64_t failed, double busy_s, double span_s,
                   const LatencyHistogram& latency);

// One item's pass through one stage.
struct StageSample {
  Clock::time_point start, end;
  double busy_ms = 0;  // time actually working: end - start, less waits (download retry backoff)
  bool ok = true;      // the item is still ok afterwards
  uint64_t bytes_in = 0, bytes_out = 0;
};

class Metrics {
 public:
  Metrics();
  // One item passed through one stage.
  void record_stage(Stage stage, const StageSample& sample);
  // One transfer attempt ended (on the curl thread).
  void record_transfer(const TransferTimings& t);
  // One item reached the end of the pipeline, with its final status.
  void record_item(const Item& item, Clock::time_point end);
  OverlapTracker& overlap() { return overlap_; }
  // Time zero of the run: its wall time (total.span_s) is measured from here.
  Clock::time_point start() const { return run_start_; }
  Report report() const;

 private:
  struct StageSums {
    mutable std::mutex mu;
    uint64_t ok = 0, failed = 0, bytes_in = 0, bytes_out = 0;
    double busy_s = 0;
    Clock::time_point first{Clock::time_point::max()}, last{Clock::time_point::min()};
    LatencyHistogram latency;
  };
  Clock::time_point run_start_;
  std::array<StageSums, kStageCount> stages_;
  StageSums total_;                      // first/last unused: the span is the run's wall time
  LatencyHistogram processing_latency_;  // per item, CPU stages summed; guarded by total_.mu
  std::array<uint64_t, kStatusCount> by_status_{};
  mutable std::mutex transfers_mu_;  // guards the three below
  uint64_t transfers_ = 0, connections_ = 0;
  std::array<uint64_t, static_cast<int>(HttpVersion::kCount)> http_versions_{};
  OverlapTracker overlap_;
};

// The human table (stdout) and the machine form (--metrics-json; keys carry their units).
std::string format_table(const Report& r);
nlohmann::ordered_json to_json(const Report& r);

}  // namespace imgpipe

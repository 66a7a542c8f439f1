// Metrics arithmetic: histograms, overlap accounting, and the two report formats.
#include "pipeline/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace imgpipe {
namespace {

// Buckets grow by 2% from 1 µs; 1200 of them reach past 3 hours, longer than any sane transfer.
constexpr double kBucketBase = 0.001;  // ms
constexpr double kBucketRatio = 1.02;
constexpr size_t kBucketCount = 1200;

size_t bucket_of(double ms) {
  if (ms <= kBucketBase) return 0;
  auto i = static_cast<size_t>(std::log(ms / kBucketBase) / std::log(kBucketRatio)) + 1;
  return std::min(i, kBucketCount - 1);
}

// The geometric middle of bucket i: at most 1% from any value in it.
double bucket_value(size_t i) {
  if (i == 0) return kBucketBase;
  return kBucketBase * std::pow(kBucketRatio, static_cast<double>(i) - 0.5);
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

LatencyHistogram::LatencyHistogram() : buckets_(kBucketCount, 0) {}

void LatencyHistogram::add(double ms) {
  ms = std::max(ms, 0.0);
  min_ = count_ == 0 ? ms : std::min(min_, ms);
  max_ = count_ == 0 ? ms : std::max(max_, ms);
  ++count_;
  ++buckets_[bucket_of(ms)];
}

double LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(p / 100.0 * count_)));
  if (rank >= count_) return max_;
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::clamp(bucket_value(i), min_, max_);
  }
  return max_;
}

void OverlapTracker::advance(Clock::time_point now) {
  double dt = std::max(0.0, seconds(now - last_));  // callers race to the lock: never go back
  last_ = now;
  for (int a = 0; a < 2; ++a)
    if (running_[a] > 0) active_s_[a] += dt;
  if (running_[0] > 0 && running_[1] > 0) both_s_ += dt;
}

void OverlapTracker::begin(Activity a, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  advance(now);
  ++running_[static_cast<int>(a)];
}

void OverlapTracker::end(Activity a, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  advance(now);
  --running_[static_cast<int>(a)];
}

double OverlapTracker::active_s(Activity a) const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_s_[static_cast<int>(a)];
}

double OverlapTracker::both_s() const {
  std::lock_guard<std::mutex> lock(mu_);
  return both_s_;
}

StageReport derive(std::string name, uint64_t ok, uint64_t failed, double busy_s, double span_s,
                   const LatencyHistogram& latency) {
  StageReport s;
  s.name = std::move(name);
  s.ok = ok;
  s.failed = failed;
  s.busy_s = busy_s;
  s.span_s = span_s;
  s.p50_ms = latency.percentile(50);
  s.p95_ms = latency.percentile(95);
  s.max_ms = latency.max();
  if (span_s > 0) {  // a zero span (nothing ran, or one instant) has no rate
    s.items_per_s = static_cast<double>(ok + failed) / span_s;
    s.effective_concurrency = busy_s / span_s;
  }
  return s;
}

Metrics::Metrics() : run_start_(Clock::now()) {}

void Metrics::record_stage(Stage stage, const StageSample& x) {
  StageSums& s = stages_[static_cast<int>(stage)];
  std::lock_guard<std::mutex> lock(s.mu);
  (x.ok ? s.ok : s.failed)++;
  s.bytes_in += x.bytes_in;
  s.bytes_out += x.bytes_out;
  s.busy_s += x.busy_ms / 1000;
  s.first = std::min(s.first, x.start);
  s.last = std::max(s.last, x.end);
  s.latency.add(x.busy_ms);
}

void Metrics::record_transfer(const TransferTimings& t) {
  std::lock_guard<std::mutex> lock(transfers_mu_);
  ++transfers_;
  connections_ += static_cast<uint64_t>(std::max(0, t.connections));
  ++http_versions_[static_cast<int>(t.http)];
}

void Metrics::record_item(const Item& item, Clock::time_point end) {
  std::lock_guard<std::mutex> lock(total_.mu);
  (item.ok() ? total_.ok : total_.failed)++;
  total_.bytes_in += item.bytes_in;
  total_.bytes_out += item.bytes_out;
  total_.last = std::max(total_.last, end);
  if (item.started != Clock::time_point{})
    total_.latency.add(std::chrono::duration<double, std::milli>(end - item.started).count());
  double cpu_ms = 0;
  for (int s = static_cast<int>(kFirstCpuStage); s < kStageCount; ++s) cpu_ms += item.stage_ms[s];
  if (cpu_ms > 0) processing_latency_.add(cpu_ms);
  ++by_status_[static_cast<int>(item.status)];
}

Report Metrics::report() const {
  Report r;
  double busy_total = 0, busy_cpu = 0;
  Clock::time_point cpu_first = Clock::time_point::max(), cpu_last = Clock::time_point::min();
  for (int i = 0; i < kStageCount; ++i) {
    const StageSums& s = stages_[i];
    std::lock_guard<std::mutex> lock(s.mu);
    double span = s.last > s.first ? seconds(s.last - s.first) : 0;
    r.stages.push_back(derive(kStageNames[i], s.ok, s.failed, s.busy_s, span, s.latency));
    r.stages.back().bytes_in = s.bytes_in;
    r.stages.back().bytes_out = s.bytes_out;
    r.stages.back().mb_per_s = span > 0 ? s.bytes_in / 1e6 / span : 0;
    busy_total += s.busy_s;
    if (i == static_cast<int>(Stage::kDownload)) continue;
    busy_cpu += s.busy_s;
    cpu_first = std::min(cpu_first, s.first);
    cpu_last = std::max(cpu_last, s.last);
  }
  std::lock_guard<std::mutex> lock(total_.mu);
  const StageReport& first = r.stages[static_cast<int>(kFirstCpuStage)];
  const StageReport& write = r.stages[static_cast<int>(Stage::kWrite)];
  double cpu_span = cpu_last > cpu_first ? seconds(cpu_last - cpu_first) : 0;
  r.processing = derive("process", write.ok, first.ok + first.failed - write.ok, busy_cpu, cpu_span,
                        processing_latency_);
  r.processing.bytes_in = first.bytes_in;
  r.processing.bytes_out = write.bytes_out;
  r.processing.mb_per_s = cpu_span > 0 ? first.bytes_in / 1e6 / cpu_span : 0;
  double wall = total_.last > run_start_ ? seconds(total_.last - run_start_) : 0;
  r.total = derive("total", total_.ok, total_.failed, busy_total, wall, total_.latency);
  r.total.bytes_in = total_.bytes_in;
  r.total.bytes_out = total_.bytes_out;
  r.total.mb_per_s = wall > 0 ? total_.bytes_in / 1e6 / wall : 0;
  r.inputs = total_.ok + total_.failed;
  r.by_status = by_status_;
  r.download_active_s = overlap_.active_s(Activity::kDownload);
  r.process_active_s = overlap_.active_s(Activity::kProcess);
  r.overlap_s = overlap_.both_s();
  std::lock_guard<std::mutex> transfers_lock(transfers_mu_);
  r.transfers = transfers_;
  r.connections = connections_;
  r.http_versions = http_versions_;
  return r;
}

namespace {

std::string table_row(const StageReport& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%-9s %7llu %6llu %8.1f %8.1f %8.2f %7.2f %8.1f %7.1f %7.1f %7.1f %8.1f %6.2fx\n",
                s.name.c_str(), static_cast<unsigned long long>(s.ok),
                static_cast<unsigned long long>(s.failed), s.bytes_in / 1e6, s.bytes_out / 1e6,
                s.busy_s, s.span_s, s.items_per_s, s.mb_per_s, s.p50_ms, s.p95_ms, s.max_ms,
                s.effective_concurrency);
  return buf;
}

double percent(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0; }

}  // namespace

std::string format_table(const Report& r) {
  std::string out =
      "stage          ok failed    MB in   MB out   busy s  span s  items/s    MB/s  p50 ms  p95 ms"
      "   max ms  eff.conc\n";
  for (const StageReport& s : r.stages) out += table_row(s);
  out += table_row(r.processing);
  out += table_row(r.total);
  out +=
      "\neff.conc = busy / span. download: the speedup over one transfer at a time. process\n"
      "(hash..write together): the speedup over one core.\n";
  if (r.total.failed > 0) {
    out += "\nfailures:";
    for (int i = 0; i < kStatusCount; ++i)
      if (i != static_cast<int>(Status::kOk) && r.by_status[i] > 0)
        out += " " + std::string(status_name(static_cast<Status>(i))) + "=" +
               std::to_string(r.by_status[i]);
    out += "\n";
  }
  if (r.transfers > 0) {
    out += "\nconnections: " + std::to_string(r.connections) + " opened for " +
           std::to_string(r.transfers) + " transfers (HTTP";
    const char* sep = " ";
    for (int v = 1; v < static_cast<int>(HttpVersion::kCount); ++v)
      if (r.http_versions[v] > 0) {
        out += sep + std::string(kHttpVersionNames[v]) + ": " + std::to_string(r.http_versions[v]);
        sep = ", ";
      }
    out += ")\n";
  }
  if (!r.tls_verified) out += "\nTLS certificates were NOT verified (--insecure)\n";
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "\noverlap: downloading %.2f s, processing %.2f s, both at once %.2f s "
                "(%.0f%% of the %.2f s wall)\n",
                r.download_active_s, r.process_active_s, r.overlap_s,
                percent(r.overlap_s, r.total.span_s), r.total.span_s);
  return out + buf;
}

namespace {

nlohmann::ordered_json stage_json(const StageReport& s) {
  return {{"name", s.name},
          {"ok", s.ok},
          {"failed", s.failed},
          {"bytes_in", s.bytes_in},
          {"bytes_out", s.bytes_out},
          {"busy_s", s.busy_s},
          {"span_s", s.span_s},
          {"throughput_items_per_s", s.items_per_s},
          {"throughput_mb_per_s", s.mb_per_s},
          {"latency_p50_ms", s.p50_ms},
          {"latency_p95_ms", s.p95_ms},
          {"latency_max_ms", s.max_ms},
          {"effective_concurrency", s.effective_concurrency}};
}

}  // namespace

nlohmann::ordered_json to_json(const Report& r) {
  nlohmann::ordered_json j;
  j["inputs"] = r.inputs;
  j["stages"] = nlohmann::ordered_json::array();
  for (const StageReport& s : r.stages) j["stages"].push_back(stage_json(s));
  j["processing"] = stage_json(r.processing);
  j["total"] = stage_json(r.total);
  j["wall_s"] = r.total.span_s;
  nlohmann::ordered_json failures = nlohmann::ordered_json::object();
  for (int i = 0; i < kStatusCount; ++i)
    if (r.by_status[i] > 0)
      failures[std::string(status_name(static_cast<Status>(i)))] = r.by_status[i];
  j["by_status"] = failures;
  j["overlap"] = {{"download_active_s", r.download_active_s},
                  {"process_active_s", r.process_active_s},
                  {"both_s", r.overlap_s},
                  {"both_percent_of_wall", percent(r.overlap_s, r.total.span_s)}};
  nlohmann::ordered_json versions = nlohmann::ordered_json::object();
  for (int v = 0; v < static_cast<int>(HttpVersion::kCount); ++v)
    if (r.http_versions[v] > 0) versions[kHttpVersionNames[v]] = r.http_versions[v];
  j["connections"] = {{"transfers", r.transfers},
                      {"opened", r.connections},
                      {"http_versions", versions},
                      {"tls_verified", r.tls_verified}};
  return j;
}

}  // namespace imgpipe

// PixelBudget: the run-wide cap on bytes of decoded images alive at once (--decode-memory). An
// item reserves its estimated peak before its first pixel buffer exists and releases it once its
// pixels are gone; an item that would not fit waits for others to release.
//
// Why a budget and not only per-image limits: --max-pixels bounds one image, but every worker
// may hold one at once, so memory grew with the thread count (four hostile 144-byte files pinned
// 2 GB on four cores). With the budget it is bounded by the flag, whatever the thread count.
//
// Waiting cannot deadlock as long as no holder waits for a waiter: the caller must hold a
// reservation only while it works on its item on its own thread (pipeline.cc runs decode, resize
// and encode of an item in one node body for this reason), and must never reserve twice.
//
// Thread-safety: every member may be called from any thread. A mutex and a condition variable,
// no TBB: stages/ stays free of it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace imgpipe {

class PixelBudget {
 public:
  explicit PixelBudget(uint64_t limit_bytes) : limit_(limit_bytes) {}
  PixelBudget(const PixelBudget&) = delete;
  PixelBudget& operator=(const PixelBudget&) = delete;

  uint64_t limit() const { return limit_; }

  // Blocks until `bytes` fit beside what others hold, then takes them. First come, first served:
  // a large request is not overtaken forever by a stream of small ones. False at once, taking
  // nothing, when `bytes` exceed the whole limit (they could never fit).
  bool acquire(uint64_t bytes);
  void release(uint64_t bytes);

  uint64_t in_use() const;
  uint64_t peak() const;     // the most ever held at once, for tests and metrics
  uint64_t waiting() const;  // requests in line, not yet served, for tests

 private:
  const uint64_t limit_;
  mutable std::mutex mutex_;
  std::condition_variable released_;
  uint64_t in_use_ = 0, peak_ = 0;
  uint64_t next_ticket_ = 0, serving_ = 0;  // the FIFO: tickets in arrival order
};

// What one item holds: released when destroyed or reset.
class Reservation {
 public:
  Reservation() = default;
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation() { reset(); }

  // Releases what this held, then acquires `bytes` from `budget` (see PixelBudget::acquire).
  bool acquire(PixelBudget& budget, uint64_t bytes);
  void reset();
  uint64_t bytes() const { return bytes_; }
  // How long the last acquire waited: idle time, which the caller keeps out of its stage timings.
  std::chrono::steady_clock::duration waited() const { return waited_; }

 private:
  PixelBudget* budget_ = nullptr;
  uint64_t bytes_ = 0;
  std::chrono::steady_clock::duration waited_{};
};

// Physical memory, or the cgroup's memory limit when that is lower (a container): what the
// machine can give this process. 0 if unknown.
uint64_t available_memory_bytes();

}  // namespace imgpipe

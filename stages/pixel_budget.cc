// PixelBudget: a first-come-first-served counting budget, and what the machine has to give.
#include "stages/pixel_budget.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace imgpipe {

bool PixelBudget::acquire(uint64_t bytes) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (bytes > limit_) return false;
  const uint64_t ticket = next_ticket_++;
  released_.wait(lock, [&] { return serving_ == ticket && in_use_ + bytes <= limit_; });
  in_use_ += bytes;
  peak_ = std::max(peak_, in_use_);
  ++serving_;
  released_.notify_all();  // the next in line may fit beside this one
  return true;
}

void PixelBudget::release(uint64_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    in_use_ -= std::min(bytes, in_use_);
  }
  released_.notify_all();
}

uint64_t PixelBudget::in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_use_;
}

uint64_t PixelBudget::peak() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_;
}

uint64_t PixelBudget::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_ticket_ - serving_;
}

bool Reservation::acquire(PixelBudget& budget, uint64_t bytes) {
  reset();
  const auto start = std::chrono::steady_clock::now();
  const bool got = budget.acquire(bytes);
  waited_ = std::chrono::steady_clock::now() - start;
  if (!got) return false;
  budget_ = &budget;
  bytes_ = bytes;
  return true;
}

void Reservation::reset() {
  if (budget_) budget_->release(bytes_);
  budget_ = nullptr;
  bytes_ = 0;
}

namespace {

// A cgroup memory limit file: a number of bytes, or "max" (none). 0 when absent or unlimited.
uint64_t cgroup_limit(const char* path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text.find_first_not_of("0123456789") != std::string::npos) return 0;
  try {
    return std::stoull(text);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

uint64_t available_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  uint64_t bytes = pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
  // cgroup v2, then v1; v1 reports "no limit" as a huge number, which the min below ignores.
  for (const char* path :
       {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    const uint64_t limit = cgroup_limit(path);
    if (limit > 0) bytes = bytes > 0 ? std::min(bytes, limit) : limit;
  }
  return bytes;
}

}  // namespace imgpipe

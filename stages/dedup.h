// Dedup: --dedup's bookkeeping — which line first brought given bytes, and what became of it, so
// identical bytes are decoded, resized and written once and every other line points at that file.
//
// Memory: one entry per distinct sha256 (its first line, outcome and file paths, a few hundred
// bytes): the one structure of a run that grows with the list, which is why --dedup is opt-in.
// Ownership: one per run, owned by the pipeline, outliving the graph. Thread-safety: check() and
// settle() may be called from any thread (one mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/item.h"

namespace imgpipe {

class Dedup {
 public:
  // After hashing, before decoding: when an earlier line had the same sha256, marks `item` as its
  // duplicate (duplicate_of) and releases the body, so no later stage works on it. Items without
  // a sha256 (no bytes were read) are left alone.
  void check(Item& item);

  // At the end of the pipeline: the items whose manifest rows can be written now, in this order.
  // A first occurrence publishes its outcome and comes back together with the duplicates that
  // waited for it, their outcome copied. A duplicate whose first occurrence has finished comes back
  // with that outcome copied; one whose first occurrence is still in the pipeline is kept (holding
  // its in-flight slot) and nothing comes back. An item without a sha256 comes straight back.
  std::vector<std::shared_ptr<Item>> settle(std::shared_ptr<Item> item);

 private:
  struct Entry {
    uint64_t line = 0;  // the first occurrence
    bool done = false;  // its outcome below is final
    Status status = Status::kOk;
    std::string error;
    int width = 0, height = 0;
    std::vector<Thumb> thumbs;                  // paths and sizes only: the pixels are long gone
    std::vector<std::shared_ptr<Item>> parked;  // duplicates that arrived before it finished
  };
  static void copy_outcome(const Entry& e, Item& dup);

  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // by sha256; guarded by mu_
};

}  // namespace imgpipe

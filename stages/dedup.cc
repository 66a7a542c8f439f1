// --dedup: first occurrences by sha256, and duplicates parked until their first one finishes.
#include "stages/dedup.h"

namespace imgpipe {
namespace {

// A written thumbnail's record without its (already released) pixels and bytes.
Thumb file_record(const Thumb& t) {
  return {t.box, {}, t.width, t.height, {}, t.path, t.bytes, t.member};
}

}  // namespace

void Dedup::check(Item& item) {
  if (item.sha256.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto [entry, first] = entries_.try_emplace(item.sha256);
  if (first) {
    entry->second.line = item.line;
  } else {
    item.duplicate_of = entry->second.line;
    item.body = {};
  }
}

void Dedup::copy_outcome(const Entry& e, Item& dup) {
  dup.status = e.status;
  dup.error = e.error;
  dup.source_width = e.width;
  dup.source_height = e.height;
  dup.thumbs.clear();
  for (const Thumb& t : e.thumbs) dup.thumbs.push_back(file_record(t));
}

std::vector<std::shared_ptr<Item>> Dedup::settle(std::shared_ptr<Item> item) {
  if (item->sha256.empty()) return {std::move(item)};
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entries_.at(item->sha256);
  if (item->duplicate_of) {
    if (!e.done) {
      e.parked.push_back(std::move(item));
      return {};
    }
    copy_outcome(e, *item);
    return {std::move(item)};
  }
  e.done = true;
  e.status = item->status;
  e.error = item->error;
  e.width = item->source_width;
  e.height = item->source_height;
  for (const Thumb& t : item->thumbs) e.thumbs.push_back(file_record(t));
  std::vector<std::shared_ptr<Item>> ready{std::move(item)};
  for (auto& dup : e.parked) {
    copy_outcome(e, *dup);
    ready.push_back(std::move(dup));
  }
  e.parked = {};  // frees the vector's memory too
  return ready;
}

}  // namespace imgpipe

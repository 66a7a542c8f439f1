// --resume's done lines: binary search by line number, URL hash compared.
#include "stages/resume.h"

#include <algorithm>

namespace imgpipe {

void ResumeSet::assign(DoneLines done) {
  done_ = std::move(done);
  for (DoneLine& d : done_) d.state = kUnseen;
}

DoneLine* ResumeSet::find(uint64_t line) {
  auto it = std::lower_bound(done_.begin(), done_.end(), line,
                             [](const DoneLine& d, uint64_t n) { return d.line < n; });
  return it != done_.end() && it->line == line ? &*it : nullptr;
}

bool ResumeSet::skip(uint64_t number, const std::string& url) {
  DoneLine* d = find(number);
  if (!d) return false;
  if (d->url_hash == url_hash(url)) {
    d->state = kSkipped;
    skipped_.fetch_add(1);
    if (d->failed) skipped_failed_.fetch_add(1);
    return true;
  }
  d->state = kStale;
  any_stale_ = true;
  return false;
}

void ResumeSet::list_ended() {
  for (DoneLine& d : done_)
    if (d.state == kUnseen) {
      d.state = kStale;
      any_stale_ = true;
    }
}

bool ResumeSet::stale(uint64_t line) const {
  auto it = std::lower_bound(done_.begin(), done_.end(), line,
                             [](const DoneLine& d, uint64_t n) { return d.line < n; });
  return it != done_.end() && it->line == line && it->state == kStale;
}

}  // namespace imgpipe

// Streaming URL-list reader.
#include "stages/reader.h"

namespace imgpipe {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

void trim(std::string* s) {
  size_t b = 0, e = s->size();
  while (b < e && is_space((*s)[b])) ++b;
  while (e > b && is_space((*s)[e - 1])) --e;
  *s = s->substr(b, e - b);
}

}  // namespace

bool ListReader::read_raw(ListLine* out) {
  std::streambuf* buf = in_.rdbuf();
  out->text.clear();
  out->too_long = false;
  bool any = false;
  for (int c = buf->sbumpc(); c != std::char_traits<char>::eof(); c = buf->sbumpc()) {
    any = true;
    if (c == '\n') break;
    if (out->text.size() < kMaxLineBytes)
      out->text.push_back(static_cast<char>(c));
    else
      out->too_long = true;
  }
  if (!any) return false;
  out->number = ++line_number_;
  return true;
}

bool ListReader::next(ListLine* out) {
  while (read_raw(out)) {
    trim(&out->text);
    if (!out->text.empty() && out->text[0] != '#') return true;
  }
  return false;
}

LineFeeder::LineFeeder(std::istream& in, std::function<void()> on_line)
    : reader_(in), on_line_(std::move(on_line)), thread_([this] { read_all(); }) {}

LineFeeder::~LineFeeder() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  space_.notify_all();
  thread_.join();
}

void LineFeeder::read_all() {
  ListLine line;
  while (reader_.next(&line)) {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [this] { return stopping_ || queue_.size() < kQueueLines; });
    if (stopping_) return;
    queue_.push_back(std::move(line));
    lock.unlock();
    on_line_();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ended_ = true;
  }
  on_line_();
}

NextLine LineFeeder::try_next(ListLine* out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.empty()) return ended_ ? NextLine::kEnd : NextLine::kNotYet;
  *out = std::move(queue_.front());
  queue_.pop_front();
  space_.notify_one();
  return NextLine::kLine;
}

}  // namespace imgpipe

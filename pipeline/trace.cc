// Chrome trace-event JSON, written one event at a time.
#include "pipeline/trace.h"

#include <tbb/task_arena.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

namespace imgpipe {
namespace {

// Big enough that millions of events cost few write(2) calls, small enough not to matter.
constexpr size_t kBufferBytes = 1 << 20;

// pid per track kind: downloads first, so viewers list them above processing.
int pid_of(Track::Kind kind) { return kind == Track::kDownload ? 1 : 2; }
const char* process_name(Track::Kind kind) {
  return kind == Track::kDownload ? "downloads" : "processing";
}
// +1: viewers treat tid 0 as the idle (swapper) thread.
int tid_of(Track track) { return track.index + 1; }

// A JSON string literal. replace: a URL line with invalid UTF-8 must still give valid JSON, not
// an exception.
std::string json_string(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
std::string json_string(const char* s) { return json_string(std::string(s ? s : "")); }

// Microseconds with ns precision, from integers: printf's %f follows the C locale's decimal point.
void append_us(std::string* out, Clock::duration d) {
  int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%lld.%03d", ns < 0 ? "-" : "",
                static_cast<long long>(std::abs(ns) / 1000), static_cast<int>(std::abs(ns) % 1000));
  *out += buf;
}

std::string metadata(const char* what, int pid, int tid, const std::string& args) {
  return std::string("{\"name\":\"") + what + "\",\"ph\":\"M\",\"pid\":" + std::to_string(pid) +
         ",\"tid\":" + std::to_string(tid) + ",\"args\":" + args + "}";
}

}  // namespace

int current_worker_index() { return tbb::this_task_arena::current_thread_index(); }

std::unique_ptr<TraceWriter> TraceWriter::create(const std::string& path, Clock::time_point origin,
                                                 std::string* why) {
  std::FILE* f = std::fopen(path.c_str(), "we");
  if (!f) {
    *why = "cannot create " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  // Our own buffer: glibc ignores the size when setvbuf is given none.
  auto buffer = std::make_unique<char[]>(kBufferBytes);
  std::setvbuf(f, buffer.get(), _IOFBF, kBufferBytes);
  std::unique_ptr<TraceWriter> writer(new TraceWriter(f, std::move(buffer), origin));
  std::lock_guard<std::mutex> lock(writer->mu_);
  writer->write("{\"traceEvents\":[");
  return writer;
}

TraceWriter::TraceWriter(std::FILE* file, std::unique_ptr<char[]> buffer, Clock::time_point origin)
    : origin_(origin), buffer_(std::move(buffer)), file_(file) {}

TraceWriter::~TraceWriter() { close(nullptr); }

void TraceWriter::interval(Track track, const char* name, Clock::time_point start,
                           Clock::time_point end, uint64_t line, const std::string& url,
                           const char* status) {
  // Formatted before taking the lock: escaping and number formatting are the costly part.
  std::string event = "{\"name\":" + json_string(name) +
                      ",\"ph\":\"X\",\"pid\":" + std::to_string(pid_of(track.kind)) +
                      ",\"tid\":" + std::to_string(tid_of(track)) + ",\"ts\":";
  append_us(&event, start - origin_);
  event += ",\"dur\":";
  append_us(&event, std::max(end - start, Clock::duration::zero()));
  event += ",\"args\":{\"line\":" + std::to_string(line) + ",\"url\":" + json_string(url) +
           ",\"status\":" + json_string(status) + "}}";

  std::lock_guard<std::mutex> lock(mu_);
  if (!file_) return;
  name_track(track);
  write_event(event);
}

void TraceWriter::name_track(Track track) {
  if (!named_tracks_.insert({track.kind, track.index}).second) return;
  int pid = pid_of(track.kind), tid = tid_of(track);
  if (!named_process_[track.kind]) {
    named_process_[track.kind] = true;
    write_event(metadata("process_name", pid, tid,
                         "{\"name\":\"" + std::string(process_name(track.kind)) + "\"}"));
    write_event(
        metadata("process_sort_index", pid, tid, "{\"sort_index\":" + std::to_string(pid) + "}"));
  }
  std::string thread =
      (track.kind == Track::kDownload ? "slot " : "worker ") + std::to_string(track.index);
  write_event(metadata("thread_name", pid, tid, "{\"name\":" + json_string(thread) + "}"));
  write_event(
      metadata("thread_sort_index", pid, tid, "{\"sort_index\":" + std::to_string(tid) + "}"));
}

void TraceWriter::write_event(const std::string& event) {
  write(first_event_ ? "\n" : ",\n");
  first_event_ = false;
  write(event);
}

void TraceWriter::write(const std::string& bytes) {
  if (!error_.empty()) return;  // the file is incomplete already; close() reports why
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size())
    error_ = std::string("trace write failed: ") + std::strerror(errno);
}

bool TraceWriter::close(std::string* why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (file_) {
    write("\n],\"displayTimeUnit\":\"ms\"}\n");
    // fclose flushes the buffer: a full disk usually shows up only here.
    if (std::fclose(file_) != 0 && error_.empty())
      error_ = std::string("trace close failed: ") + std::strerror(errno);
    file_ = nullptr;
  }
  if (why) *why = error_;
  return error_.empty();
}

}  // namespace imgpipe

// The pipeline: setup checks, the curl thread, and the oneTBB flow graph wired in data-flow order.
//
// The threads a run starts, and who owns each:
//   - the caller's thread: sets up, then works inside the graph (wait_for_all) until it is empty;
//   - threads - 1 oneTBB workers (global_control below), running the graph's node bodies;
//   - the curl thread (start_curl_thread): the Downloader and the list reader, joined by run_graph;
//   - the interrupt watcher (InterruptWatcher), owned by run() for the whole run;
//   - with a progress line: its drawing thread (ProgressLine) and the line counter
//     (count_lines), both owned and joined by run().
// Stages know none of this: they are plain functions this file calls from the node bodies.
#include "pipeline/pipeline.h"

#include <curl/curl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <tbb/flow_graph.h>
#include <tbb/global_control.h>
#include <tbb/info.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <thread>

#include "pipeline/interrupt.h"
#include "pipeline/outdir.h"
#include "pipeline/progress.h"
#include "pipeline/trace.h"
#include "stages/decode.h"
#include "stages/dedup.h"
#include "stages/download.h"
#include "stages/encode.h"
#include "stages/hash.h"
#include "stages/local.h"
#include "stages/manifest.h"
#include "stages/pixel_budget.h"
#include "stages/reader.h"
#include "stages/resize.h"
#include "stages/resume.h"
#include "stages/tar.h"
#include "stages/write.h"

namespace imgpipe {
namespace {

namespace flow = tbb::flow;
using Msg = std::shared_ptr<Item>;  // flow-graph messages must be copyable
using Gateway = flow::async_node<flow::continue_msg, Msg>::gateway_type;

// What every node needs; outlives the graph (node bodies are copied, so state lives here).
struct Context {
  explicit Context(const Options& o)
      : options(o),
        budget(o.image.decode_memory > 0 ? uint64_t(o.image.decode_memory)
                                         : default_decode_memory(o.image)) {}
  const Options& options;
  Metrics metrics;
  std::unique_ptr<OutputDir> own_outdir;  // opened by run() itself, else null
  OutputDir* outdir = nullptr;            // locked for the run; outlives the manifest
  std::unique_ptr<Manifest> manifest;
  std::unique_ptr<TarSink> tar;  // --output-format webdataset, else null; used by emit() only
  std::unique_ptr<Downloader> downloader;
  std::unique_ptr<TraceWriter> trace;  // --trace, else null
  std::unique_ptr<Timeline> timeline;  // --report, else null: the same intervals, bucketed
  ResumeSet resume;                    // --resume: lines already done; empty without it
  // Set when the run must stop early (a signal, or a bug). Our own flag: graph::is_cancelled()
  // reads a plain bool that wait_for_all() writes, a data race when polled from the curl thread.
  std::atomic<bool> stop{false};
  // Items handed to the graph and items finished: equal after a complete run. The check that no
  // line can silently go without a manifest row.
  std::atomic<uint64_t> handed{0}, finished{0}, failed{0};
  std::atomic<uint64_t> total_lines{0};  // for the progress line; 0 while unknown
  std::string download_error;  // the download thread failed: written by it, read after its join
  Dedup dedup;                 // --dedup's table; unused without it
  PixelBudget budget;          // --decode-memory, shared by every item's decode
};

// Bytes an item holds right now, for a stage's MB in and out. A written thumbnail counts its
// file's bytes: write releases the encoded bytes, but they are what it gave out.
uint64_t payload_bytes(const Item& item) {
  uint64_t n = item.body.size() + item.image.bytes();
  for (const Thumb& t : item.thumbs) n += t.image.bytes() + t.encoded.size() + t.bytes;
  return n;
}

// One interval of an item's life, for --trace and the report's timeline: both draw the same events.
void record_interval(Context* ctx, Track track, const char* name, Clock::time_point start,
                     Clock::time_point end, const Item& item, Status status) {
  if (ctx->trace)
    ctx->trace->interval(track, name, start, end, item.line, item.url, status_name(status).data());
  if (ctx->timeline) ctx->timeline->add(track.kind, start, end);
}

// Runs one stage function on an item: times it, records it (metrics, overlap, trace), and turns
// any exception into a failed item (an exception escaping a node would cancel the whole graph).
// With `held`, the time its reservation waited for --decode-memory inside fn is idle, not work:
// the recorded interval starts that much later, so waiting never shows as a slow decode.
template <typename Fn>
void run_step(Stage stage, Context* ctx, Item& item, Fn fn, const Reservation* held = nullptr) {
  const Activity activity = stage == Stage::kDownload ? Activity::kDownload : Activity::kProcess;
  ctx->metrics.overlap().begin(activity);
  uint64_t in = payload_bytes(item);
  auto start = Clock::now();
  try {
    fn(item);
  } catch (const std::exception& e) {
    item.fail(Status::kProcessError, e.what());
  } catch (...) {
    item.fail(Status::kProcessError, "unknown exception");
  }
  auto end = Clock::now();
  ctx->metrics.overlap().end(activity);
  if (held) start = std::min(end, start + held->waited());
  double ms = std::chrono::duration<double, std::milli>(end - start).count();
  item.stage_ms[static_cast<int>(stage)] += ms;
  ctx->metrics.record_stage(stage, {start, end, ms, item.ok(), in, payload_bytes(item)});
  record_interval(ctx, {Track::kWorker, current_worker_index()},
                  kStageNames[static_cast<int>(stage)], start, end, item, item.status);
}

// A node body for a CPU stage: failed items and --dedup duplicates pass straight through.
template <typename Fn>
auto step(Stage stage, Context* ctx, Fn fn) {
  return [stage, ctx, fn](Msg item) -> Msg {
    if (item->ok() && !item->duplicate_of) run_step(stage, ctx, *item, fn);
    return item;
  };
}

// Decode, resize and encode of one item, back to back on this worker, each timed and recorded
// as its own stage. The --decode-memory reservation decode takes is held only inside this body and
// released when it returns, once the pixels are gone. So every holder is running on a worker and
// will release: were the stages separate nodes, items holding reservations could sit in a queue
// while every worker waited for memory, and the run would deadlock.
Msg pixels_node(Context* ctx, Msg item) {
  if (!item->ok() || item->duplicate_of) return item;
  const ImageOptions& io = ctx->options.image;
  Reservation held;
  run_step(
      Stage::kDecode, ctx, *item, [&](Item& it) { decode(it, io, &ctx->budget, &held); }, &held);
  if (item->ok()) run_step(Stage::kResize, ctx, *item, [&io](Item& it) { resize(it, io); });
  if (item->ok()) run_step(Stage::kEncode, ctx, *item, [&io](Item& it) { encode(it, io); });
  item->image = {};  // a failed item's pixels go now, not with the item, as the budget assumes
  for (Thumb& t : item->thumbs) t.image = {};
  return item;
}

// Local files are read here, on a worker, timed as their download.
Msg read_local_node(Context* ctx, Msg item) {
  if (item->ok() && !item->local_path.empty()) {
    item->started = Clock::now();
    run_step(Stage::kDownload, ctx, *item,
             [ctx](Item& it) { read_local(it, ctx->options.download.max_bytes); });
  }
  return item;
}

// A transfer's items, as the downloader hands them on: recorded like every other stage.
void record_download(Context* ctx, const Item& item) {
  if (item.attempts == 0) return;  // invalid lines and local files: no transfer ran
  const double ms = item.stage_ms[static_cast<int>(Stage::kDownload)];
  ctx->metrics.record_stage(
      Stage::kDownload, {item.started, Clock::now(), ms, item.ok(), item.bytes_in, item.bytes_in});
}

// Webdataset: the sample into the open tar — its thumbnails (timed as its write stage), then its
// row as KEY.json (and KEY.txt), then the row into the manifest, and only then, if the tar is
// full, the tar's finish and rename: a complete tar's rows are always in the manifest already, so
// a kill can never leave a line both in a complete tar and without its row (--resume would then
// put it into a second tar). Only items that arrive ok touch the sink, and they come only from the
// serial finish node (a failed item may also come from the curl thread), so it needs no lock.
// Memory: the sink holds this one sample and libarchive's 10 KiB block (tar.h), never a tar.
// False once the manifest or the tar failed.
bool record_sample(Context* ctx, Item& item) {
  TarSink& tar = *ctx->tar;
  const bool sample = item.ok();
  if (sample) run_step(Stage::kWrite, ctx, item, [&tar](Item& it) { tar.add_images(it); });
  const std::string row = manifest_text(item);
  if (sample && item.ok()) tar.add_record(item, row);
  const bool row_written = ctx->manifest->append_text(row);
  if (!sample) return row_written;
  if (!row_written)
    tar.abandon("the manifest could not be written");  // the tar would hold a line without a row
  else if (item.ok())
    tar.end_sample();
  return tar.error().empty();
}

// Writes the row, counts the outcome, frees the in-flight slot. The slot is freed even if
// recording throws (out of memory): a lost slot would stall the downloader forever.
void emit(Context* ctx, Item& item) {
  try {
    if (!(ctx->tar ? record_sample(ctx, item) : ctx->manifest->append(item))) {
      // disk full: stop; --resume finishes once there is room
      ctx->stop = true;
      ctx->downloader->wake();
    }
    ctx->metrics.record_item(item, Clock::now());
  } catch (const std::exception& e) {
    std::cerr << "imgpipe: line " << item.line << ": could not record the result: " << e.what()
              << "\n";
  }
  if (!item.ok()) ctx->failed.fetch_add(1);
  ctx->finished.fetch_add(1);
  ctx->downloader->release_slot(item);
}

// The one place every item ends. With --dedup, a duplicate may wait here for its first occurrence,
// and a first occurrence releases the duplicates that waited for it (Dedup::settle).
void finish(Context* ctx, Msg item) {
  if (!ctx->options.output.dedup) return emit(ctx, *item);
  for (const Msg& ready : ctx->dedup.settle(std::move(item))) emit(ctx, *ready);
}

// --resume: skips lines already done (same line, same URL), so the downloader never sees them.
// Without --resume, or with nothing done, every line goes straight on.
NextLine next_undone(Context* ctx, LineFeeder& feeder, ListLine* line) {
  for (;;) {
    NextLine next = feeder.try_next(line);
    if (next == NextLine::kEnd) ctx->resume.list_ended();
    if (next != NextLine::kLine || ctx->resume.done() == 0) return next;
    // The manifest records URLs without their user:password@, so that is what must match.
    if (!ctx->resume.skip(line->number, without_userinfo(line->text))) return next;
  }
}

// The open URL list: the stream and the reader parsing it.
struct List {
  std::shared_ptr<std::istream> stream;
  std::unique_ptr<ListReader> reader;
};

// Runs the downloader on its own thread, feeding the gateway. The reserve_wait()/release_wait()
// pair keeps wait_for_all() from returning while the thread may still put items.
std::thread start_curl_thread(flow::graph& g, Gateway& gateway, Context* ctx, List list) {
  gateway.reserve_wait();
  return std::thread([&g, &gateway, ctx, list = std::move(list)]() mutable {
    Downloader* downloader = ctx->downloader.get();
    LineFeeder feeder(
        std::move(list.reader), [downloader] { downloader->wake(); }, std::move(list.stream));
    DownloadCallbacks cb;
    cb.next_line = [ctx, &feeder](ListLine* line) { return next_undone(ctx, feeder, line); };
    cb.done = [&gateway, ctx](Msg item) {
      record_download(ctx, *item);
      ctx->handed.fetch_add(1);
      if (!gateway.try_put(item)) {  // the graph refused it: still one row, never a silent loss
        item->fail(Status::kProcessError, "internal error: the processing graph refused the item");
        emit(ctx, *item);
      }
    };
    cb.cancelled = [ctx] { return ctx->stop.load(); };
    cb.attempt_started = [ctx] { ctx->metrics.overlap().begin(Activity::kDownload); };
    cb.attempt_done = [ctx](int slot, const Item& item, Status attempt, Clock::time_point s,
                            Clock::time_point e) {
      ctx->metrics.overlap().end(Activity::kDownload);
      ctx->metrics.record_transfer(item.timings);
      record_interval(ctx, {Track::kDownload, slot}, "download", s, e, item, attempt);
    };
    // The downloader has handed every line it took on as a row before it throws: let the graph
    // finish them (no cancel), and make the run report the failure (exit 2).
    try {
      ctx->downloader->run(cb);
    } catch (const std::exception& e) {
      ctx->download_error = std::string("the download thread failed: ") + e.what();
    } catch (...) {
      ctx->download_error = "the download thread failed";
    }
    gateway.release_wait();  // always reached, so wait_for_all() always returns
  });
}

void run_graph(Context* ctx, List list, int threads) {
  const ImageOptions& io = ctx->options.image;
  const OutputOptions& oo = ctx->options.output;
  const std::string& dir = ctx->options.output_dir;
  flow::graph g;
  flow::async_node<flow::continue_msg, Msg> gateway(
      g, flow::serial, [](const flow::continue_msg&, Gateway&) {});  // fed only by the curl thread
  flow::function_node<Msg, Msg> read_node(g, threads,
                                          [ctx](Msg item) { return read_local_node(ctx, item); });
  flow::function_node<Msg, Msg> hash_node(g, threads, step(Stage::kHash, ctx, [ctx](Item& it) {
                                            hash(it);
                                            if (ctx->options.output.dedup) ctx->dedup.check(it);
                                          }));
  flow::function_node<Msg, Msg> pixels(g, threads,
                                       [ctx](Msg item) { return pixels_node(ctx, item); });
  // Files are written here, in parallel; webdataset samples in emit(), into the one open tar.
  auto files = step(Stage::kWrite, ctx, [&](Item& it) { write(it, dir, io, oo); });
  flow::function_node<Msg, Msg> write_node(
      g, threads, [ctx, files](Msg item) { return ctx->tar ? item : files(item); });
  flow::function_node<Msg, flow::continue_msg> finish_node(g, flow::serial, [ctx](Msg item) {
    finish(ctx, std::move(item));
    return flow::continue_msg();
  });

  flow::make_edge(gateway, read_node);
  flow::make_edge(read_node, hash_node);
  flow::make_edge(hash_node, pixels);
  flow::make_edge(pixels, write_node);
  flow::make_edge(write_node, finish_node);

  std::thread curl_thread = start_curl_thread(g, gateway.gateway(), ctx, std::move(list));
  try {
    g.wait_for_all();  // the main thread works here: outside puts need a thread in the arena
  } catch (...) {      // node bodies catch everything, so only a bug gets here: stop, then report
    ctx->stop = true;
    curl_thread.join();
    throw;
  }
  curl_thread.join();
  // wait_for_all() must not return while items are still inside; should it ever do so, wait again
  // as long as they keep finishing, so every line still gets its row.
  for (uint64_t before = ~0ull; ctx->finished < ctx->handed && ctx->finished != before;) {
    before = ctx->finished;
    g.wait_for_all();
  }
}

// A transfer holds at most 2 descriptors: while its name resolves, libcurl's resolver thread's
// socket pair (closed before connecting); while it connects, up to 2 sockets (happy eyeballs
// tries IPv6 and IPv4 at once); then 1. 64 more cover the list, OUTDIR, its lock and manifest,
// the trace, stdio and the thread pool.
int descriptors_needed(const Options& o) { return 2 * o.download.concurrency + 64; }

// The soft limit on open files (often 1024) goes up to the hard limit, which any process may do;
// if --concurrency still cannot fit, say so now rather than as "Couldn't connect" rows later.
void raise_file_limit(const Options& o) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  const rlim_t need = static_cast<rlim_t>(descriptors_needed(o));
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < need)
    throw SetupError("--concurrency " + std::to_string(o.download.concurrency) + " needs about " +
                     std::to_string(need) + " open files, and this process may open only " +
                     std::to_string(lim.rlim_cur) +
                     " (ulimit -Hn): lower --concurrency or raise the hard limit");
}

// Setup checks: loud and early, before any thread starts.
List open_reader(const Options& o) {
  std::string why;
  List list;
  list.stream = open_list(o.input, &why);
  if (!list.stream) throw SetupError(why);
  ListFormat format = o.input_format ? *o.input_format : format_from_path(o.input);
  list.reader = std::make_unique<ListReader>(*list.stream, format, o.url_column);
  if (!list.reader->read_header(&why)) throw SetupError(o.input + ": " + why);
  check_caption_column(o, format, *list.reader);
  return list;
}

// OUTDIR locked and checked (outdir.h); with --resume, the done lines found and the leftovers of a
// killed run removed; then the manifest, opened for this run.
void open_output(const Options& o, Context* ctx, OutputDir* given) {
  if (!given) ctx->own_outdir = OutputDir::open(o);
  ctx->outdir = given ? given : ctx->own_outdir.get();
  const int dir = ctx->outdir->fd();
  std::string why;
  if (o.resume) {
    DoneLines done;
    if (!keep_done_rows(dir, o.retry_failed == RetryFailed::kRetryable, &done, &why))
      throw SetupError(why);
    ctx->resume.assign(std::move(done));
    remove_temporaries(o.output_dir, o.image, o.output);
  }
  ctx->manifest = Manifest::create(dir, &why, o.resume);
  if (!ctx->manifest)
    throw SetupError("output folder " + o.output_dir + " is not writable: " + why);
  if (o.output.format == OutputFormat::kWebdataset)
    ctx->tar = std::make_unique<TarSink>(dir, o.image, o.output);
}

// The end of a webdataset run, interrupted or not: the open tar holds only samples whose rows are
// written, so it is finished and renamed like a full one.
void finish_tar(Context* ctx, std::string* error) {
  if (ctx->tar && !ctx->tar->finish() && error->empty())
    *error = "webdataset tar: " + ctx->tar->error() +
             "; its lines are redone by --resume once the problem is fixed";
}

// After a --resume run: the old rows of lines the list now gives another URL (or no longer has)
// go, so the manifest holds one row per line again.
void drop_stale(Context* ctx, std::string* error) {
  if (!ctx->options.resume || !ctx->resume.any_stale() || !error->empty()) return;
  const ResumeSet& resume = ctx->resume;
  drop_stale_rows(
      ctx->outdir->fd(), ctx->manifest->initial_bytes(),
      [&resume](uint64_t line) { return resume.stale(line); }, error);
}

std::unique_ptr<TraceWriter> open_trace(const Options& o, Clock::time_point origin) {
  if (o.trace.empty()) return nullptr;
  std::string why;
  auto trace = TraceWriter::create(o.trace, origin, &why);
  if (!trace) throw SetupError("cannot write trace " + o.trace + ": " + why);
  return trace;
}

// For the progress line's total: counts the list's records on a thread of its own, by reading the
// file a second time. Only a regular file can be read twice: a pipe, a FIFO, /dev/stdin or
// <(zcat list.gz) would be drained by two readers at once, each getting half the lines. Their
// total stays unknown.
std::thread count_lines(Context* ctx) {
  const Options& o = ctx->options;
  struct stat st {};
  if (o.input == "-" || ::stat(o.input.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  return std::thread([ctx, &o] {
    std::string why;
    auto in = open_list(o.input, &why);
    if (!in) return;
    ListReader reader(*in, o.input_format ? *o.input_format : format_from_path(o.input),
                      o.url_column);
    if (!reader.read_header(&why)) return;
    ListLine line;
    uint64_t n = 0;
    while (!ctx->stop && reader.next(&line)) ++n;
    ctx->total_lines = n;
  });
}

ProgressCounts progress_counts(const Context& ctx) {
  ProgressCounts c;
  c.done = ctx.finished + ctx.resume.skipped();
  c.failed = ctx.failed + ctx.resume.skipped_failed();
  c.total = ctx.total_lines;
  c.transfers = ctx.downloader->running();
  c.in_graph = ctx.handed - ctx.finished;
  return c;
}

}  // namespace

int effective_threads(const Options& options) {
  return options.threads > 0 ? options.threads : tbb::info::default_concurrency();
}

RunResult run(const Options& options) { return run(options, nullptr); }

void check_output_options(const Options& o) {
  const OutputOptions& out = o.output;
  if (out.format != OutputFormat::kWebdataset) {
    if (!out.caption_column.empty())
      throw SetupError(
          "--caption-column writes KEY.txt into webdataset tars: it needs "
          "--output-format webdataset");
    return;
  }
  // A sample's key is its line number, and a tar holds each sample's own bytes.
  if (out.dedup)
    throw SetupError(
        "--dedup cannot go with --output-format webdataset: every sample in a tar "
        "holds its own image");
  if (out.naming != Naming::kIndex)
    throw SetupError(
        "--name cannot go with --output-format webdataset: a sample's key is always "
        "its line number");
  if (out.files_per_folder > 0)
    throw SetupError(
        "--files-per-folder cannot go with --output-format webdataset: samples go "
        "into tars, not folders");
}

void check_caption_column(const Options& o, ListFormat format, const ListReader& reader) {
  const std::string& column = o.output.caption_column;
  if (column.empty() || format == ListFormat::kShard) return;  // plan checked the list
  const std::string flag = "--caption-column " + column + ": ";
  if (format == ListFormat::kTxt)
    throw SetupError(flag + o.input +
                     " is a text list, which has no columns (use CSV, TSV or "
                     "JSONL)");
  if (column == o.url_column) throw SetupError(flag + "that is the URL's column");
  if (format == ListFormat::kJsonl) return;  // per record: one without the field, no caption
  const std::vector<std::string>& names = reader.columns();
  if (std::find(names.begin(), names.end(), column) != names.end()) return;
  std::string found;
  for (const std::string& n : names) found += (found.empty() ? "" : ", ") + n;
  throw SetupError(flag + "not a column of " + o.input + " (its columns: " + found + ")");
}

RunResult run(const Options& options, OutputDir* outdir) {
  check_output_options(options);
  static std::once_flag curl_once;  // curl_global_init: once, before any thread uses curl
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::string proxy_note;
  const std::string proxy_refused = proxy_setup_problem(options.download, &proxy_note);
  if (!proxy_refused.empty()) throw SetupError(proxy_refused);
  if (!proxy_note.empty()) std::cerr << "imgpipe: " << proxy_note << "\n";
  if (options.download.insecure)
    std::cerr << "imgpipe: warning: --insecure: TLS certificates and host names are not "
                 "verified; anyone on the path can serve these images\n";

  raise_file_limit(options);
  List list = open_reader(options);
  Context ctx(options);
  open_output(options, &ctx, outdir);
  ctx.trace = open_trace(options, Clock::now());
  // From the metrics' time zero, so the chart's time axis is the metrics' wall time.
  if (!options.report.empty()) ctx.timeline = std::make_unique<Timeline>(ctx.metrics.start());
  const int threads = effective_threads(options);
  // In-flight bound: every running transfer, plus up to 4 downloaded items per core waiting for
  // or inside the CPU stages — enough to keep each core fed when downloads finish in bursts, and
  // the reason memory is O(concurrency + threads) items, never O(list length).
  const int max_in_flight = options.download.concurrency + 4 * threads;
  ctx.downloader = std::make_unique<Downloader>(options.download, max_in_flight);

  RunResult result;
  {
    // Before any thread starts, so every thread inherits the blocked signals.
    InterruptWatcher interrupts([&ctx] {
      ctx.stop = true;
      ctx.downloader->wake();
    });
    std::unique_ptr<ProgressLine> progress;
    std::thread counter;
    if (progress_wanted(options.quiet || options.json, options.progress)) {
      counter = count_lines(&ctx);
      progress = std::make_unique<ProgressLine>([&ctx] { return progress_counts(ctx); });
    }
    {
      // N-1 TBB workers plus the main thread, for the whole run.
      tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, threads);
      run_graph(&ctx, std::move(list), threads);
    }
    result.interrupted = interrupts.interrupted();
    ctx.stop = true;  // ends the counter early if the list was long
    if (counter.joinable()) counter.join();
  }
  finish_tar(&ctx, &result.error);
  std::string manifest_error;
  ctx.manifest->close(&manifest_error);
  if (!manifest_error.empty()) result.error = manifest_error;
  drop_stale(&ctx, &result.error);
  if (ctx.trace && result.error.empty()) ctx.trace->close(&result.error);
  if (!ctx.download_error.empty() && result.error.empty())
    result.error = ctx.download_error +
                   "; every line it had read has a row, the rest of the list "
                   "was not read";
  if (ctx.finished != ctx.handed && result.error.empty())
    result.error = "internal error: " + std::to_string(ctx.handed - ctx.finished) +
                   " items were lost without a manifest row";
  result.resumed = ctx.resume.skipped();
  result.resumed_failed = ctx.resume.skipped_failed();
  result.report = ctx.metrics.report();
  result.report.tls_verified = !options.download.insecure;
  if (ctx.timeline) result.timeline = ctx.timeline->samples();
  return result;
}

}  // namespace imgpipe

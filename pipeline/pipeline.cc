// The pipeline: setup checks, the curl thread, and the oneTBB flow graph wired in data-flow order.
#include "pipeline/pipeline.h"

#include <curl/curl.h>
#include <sys/stat.h>
#include <tbb/flow_graph.h>
#include <tbb/global_control.h>
#include <tbb/info.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "stages/decode.h"
#include "stages/download.h"
#include "stages/encode.h"
#include "stages/manifest.h"
#include "stages/reader.h"
#include "stages/resize.h"
#include "stages/write.h"

namespace imgpipe {
namespace {

namespace flow = tbb::flow;
using Msg = std::shared_ptr<Item>;  // flow-graph messages must be copyable
using Gateway = flow::async_node<flow::continue_msg, Msg>::gateway_type;

// What every node needs; outlives the graph (node bodies are copied, so state lives here).
struct Context {
  const Options& options;
  Metrics metrics;
  std::unique_ptr<Manifest> manifest;
  std::unique_ptr<Downloader> downloader;
  // Set when the run must stop early. Our own flag: graph::is_cancelled() reads a plain bool that
  // wait_for_all() writes, a data race when polled from the curl thread.
  std::atomic<bool> stop{false};
};

// Bytes an item holds right now: what a stage took in and gave out, for the metrics.
uint64_t payload_bytes(const Item& item) {
  return item.body.size() + item.image.bytes() + item.encoded.size();
}

// Wraps a stage function as a node body: skips failed items, times the stage, and turns any
// exception into a failed item (an exception escaping a node would cancel the whole graph).
template <typename Fn>
auto timed_step(Stage stage, Context* ctx, Fn fn) {
  return [stage, ctx, fn](Msg item) -> Msg {
    if (!item->ok()) return item;
    ctx->metrics.overlap().begin(Activity::kProcess);
    uint64_t in = payload_bytes(*item);
    auto start = Clock::now();
    try {
      fn(*item);
    } catch (const std::exception& e) {
      item->fail(Status::kProcessError, e.what());
    } catch (...) {
      item->fail(Status::kProcessError, "unknown exception");
    }
    auto end = Clock::now();
    ctx->metrics.overlap().end(Activity::kProcess);
    double ms = std::chrono::duration<double, std::milli>(end - start).count();
    item->stage_ms[static_cast<int>(stage)] = ms;
    ctx->metrics.record_stage(stage, {start, end, ms, item->ok(), in, payload_bytes(*item)});
    return item;
  };
}

// The one place every item ends: manifest row, outcome counted, in-flight slot freed. The slot is
// freed even if recording throws (out of memory): a lost slot would stall the downloader forever.
void finish(Context* ctx, const Item& item) {
  try {
    ctx->manifest->append(item);
    ctx->metrics.record_item(item, Clock::now());
  } catch (const std::exception& e) {
    std::cerr << "imgpipe: line " << item.line << ": could not record the result: " << e.what()
              << "\n";
  }
  ctx->downloader->release_slot();
}

// Runs the downloader on its own thread, feeding the gateway. The reserve_wait()/release_wait()
// pair keeps wait_for_all() from returning while the thread may still put items.
std::thread start_curl_thread(flow::graph& g, Gateway& gateway, Context* ctx, std::istream& in) {
  gateway.reserve_wait();
  return std::thread([&g, &gateway, ctx, &in] {
    Downloader* downloader = ctx->downloader.get();
    LineFeeder feeder(in, [downloader] { downloader->wake(); });
    DownloadCallbacks cb;
    cb.next_line = [&feeder](ListLine* line) { return feeder.try_next(line); };
    cb.done = [&gateway](Msg item) { gateway.try_put(std::move(item)); };
    cb.cancelled = [ctx] { return ctx->stop.load(); };
    try {
      ctx->downloader->run(cb);
    } catch (const std::exception& e) {  // a bug, not an input problem: say so, but don't hang
      std::cerr << "imgpipe: download thread failed: " << e.what() << "\n";
      g.cancel();
    }
    gateway.release_wait();  // always reached, so wait_for_all() always returns
  });
}

void run_graph(Context* ctx, std::istream& in, int threads) {
  const ImageOptions& io = ctx->options.image;
  flow::graph g;
  flow::async_node<flow::continue_msg, Msg> gateway(
      g, flow::serial, [](const flow::continue_msg&, Gateway&) {});  // fed only by the curl thread
  flow::function_node<Msg, Msg> decode_node(
      g, threads, timed_step(Stage::kDecode, ctx, [&io](Item& it) { decode(it, io); }));
  flow::function_node<Msg, Msg> resize_node(
      g, threads, timed_step(Stage::kResize, ctx, [&io](Item& it) { resize_to_box(it, io); }));
  flow::function_node<Msg, Msg> encode_node(
      g, threads, timed_step(Stage::kEncode, ctx, [&io](Item& it) { encode(it, io); }));
  flow::function_node<Msg, Msg> write_node(g, threads,
                                           timed_step(Stage::kWrite, ctx, [ctx, &io](Item& it) {
                                             write_output(it, ctx->options.output_dir, io.format);
                                           }));
  flow::function_node<Msg, flow::continue_msg> finish_node(g, flow::serial, [ctx](Msg item) {
    finish(ctx, *item);
    return flow::continue_msg();
  });

  flow::make_edge(gateway, decode_node);
  flow::make_edge(decode_node, resize_node);
  flow::make_edge(resize_node, encode_node);
  flow::make_edge(encode_node, write_node);
  flow::make_edge(write_node, finish_node);

  std::thread curl_thread = start_curl_thread(g, gateway.gateway(), ctx, in);
  try {
    g.wait_for_all();  // the main thread works here: outside puts need a thread in the arena
  } catch (...) {      // node bodies catch everything, so only a bug gets here: stop, then report
    ctx->stop = true;
    curl_thread.join();
    throw;
  }
  curl_thread.join();
}

// Setup checks: loud and early, before any thread starts.
std::unique_ptr<std::istream> open_input(const std::string& path) {
  if (path == "-") return nullptr;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw SetupError("cannot read URL list " + path + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw SetupError("URL list " + path + " is a directory");
  auto in = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*in) throw SetupError("cannot read URL list " + path + ": " + std::strerror(errno));
  return in;
}

std::unique_ptr<Manifest> open_output(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw SetupError("cannot create output folder " + dir + ": " + ec.message());
  std::string why;
  auto manifest = Manifest::create(dir + "/manifest.jsonl", &why);  // doubles as the write probe
  if (!manifest) throw SetupError("output folder " + dir + " is not writable: " + why);
  return manifest;
}

}  // namespace

int effective_threads(const Options& options) {
  return options.threads > 0 ? options.threads : tbb::info::default_concurrency();
}

RunResult run(const Options& options) {
  static std::once_flag curl_once;  // curl_global_init: once, before any thread uses curl
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  auto file = open_input(options.input);
  std::istream& in = file ? *file : std::cin;
  Context ctx{options, {}, open_output(options.output_dir), nullptr};
  const int threads = effective_threads(options);
  // In-flight bound: every running transfer, plus up to 4 downloaded items per core waiting for
  // or inside the CPU stages — enough to keep each core fed when downloads finish in bursts, and
  // the reason memory is O(concurrency + threads) items, never O(list length).
  const int max_in_flight = options.download.concurrency + 4 * threads;
  ctx.downloader = std::make_unique<Downloader>(options.download, max_in_flight, &ctx.metrics);

  {
    // N-1 TBB workers plus the main thread, for the whole run.
    tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, threads);
    run_graph(&ctx, in, threads);
  }
  RunResult result;
  ctx.manifest->close(&result.error);
  result.report = ctx.metrics.report();
  return result;
}

}  // namespace imgpipe

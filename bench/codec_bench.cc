// Google Benchmark microbenchmarks: one thumbnail (decode → resize → encode) per codec path.
//
// Inputs are generated (fixtures) unless IMGPIPE_BENCH_CORPUS names a folder of real images, in
// which case every file there is one iteration's input, round-robin. Run:
//   build/codec_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fixtures/images.h"
#include "fixtures/kinds.h"
#include "stages/decode.h"
#include "stages/encode.h"
#include "stages/hash.h"
#include "stages/resize.h"

namespace imgpipe {
namespace {

using Bytes = std::vector<uint8_t>;

// Real images of one extension from IMGPIPE_BENCH_CORPUS, or empty.
std::vector<Bytes> corpus_files(const std::string& ext) {
  std::vector<Bytes> files;
  const char* dir = std::getenv("IMGPIPE_BENCH_CORPUS");
  if (!dir) return files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ext) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    files.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return files;
}

std::vector<Bytes> inputs(const std::string& ext) {
  std::vector<Bytes> files = corpus_files(ext);
  if (!files.empty()) return files;
  auto to_bytes = [](const std::vector<unsigned char>& v) { return Bytes(v.begin(), v.end()); };
  if (ext == ".jpg") return {to_bytes(fixtures::make_jpeg(1600, 1067, 3, 85))};
  if (ext == ".png") return {to_bytes(fixtures::make_png(800, 600, 3))};
  return {to_bytes(fixtures::make_webp(1200, 800, false))};
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// One thumbnail per iteration; counters give the average ms each stage took.
void thumbnail(benchmark::State& state, const std::string& ext, Codec codec, Resizer resizer) {
  const std::vector<Bytes> files = inputs(ext);
  ImageOptions options;
  options.codec = codec;
  options.resizer = resizer;
  size_t next = 0;
  double decode_ms = 0, resize_ms = 0, encode_ms = 0;
  for (auto _ : state) {
    Item item;
    item.body = files[next++ % files.size()];
    auto t = std::chrono::steady_clock::now();
    decode(item, options);
    decode_ms += ms_since(t);
    t = std::chrono::steady_clock::now();
    resize(item, options);
    resize_ms += ms_since(t);
    t = std::chrono::steady_clock::now();
    encode(item, options);
    encode_ms += ms_since(t);
    if (!item.ok()) state.SkipWithError(item.error.c_str());
    if (!item.thumbs.empty()) benchmark::DoNotOptimize(item.thumbs[0].encoded.data());
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["decode_ms"] = decode_ms / n;
  state.counters["resize_ms"] = resize_ms / n;
  state.counters["encode_ms"] = encode_ms / n;
  state.counters["images"] = static_cast<double>(files.size());
}

// One iteration = every corpus image (all formats) through the per-image work of a default run,
// on one core: sha256 of the bytes, decode, resize, encode. Counters give each stage's seconds
// per pass, for RESULTS.md's budget against the decode floor. Without a corpus, the fixtures.
void corpus_pass(benchmark::State& state) {
  std::vector<Bytes> files;
  for (const char* ext : {".jpg", ".png", ".webp"})
    for (Bytes& b : inputs(ext)) files.push_back(std::move(b));
  const ImageOptions options;
  double hash_s = 0, decode_s = 0, resize_s = 0, encode_s = 0;
  for (auto _ : state) {
    for (const Bytes& file : files) {
      Item item;
      item.body = file;
      auto t = std::chrono::steady_clock::now();
      hash(item);
      hash_s += ms_since(t) / 1e3;
      t = std::chrono::steady_clock::now();
      decode(item, options);
      decode_s += ms_since(t) / 1e3;
      t = std::chrono::steady_clock::now();
      resize(item, options);
      resize_s += ms_since(t) / 1e3;
      t = std::chrono::steady_clock::now();
      encode(item, options);
      encode_s += ms_since(t) / 1e3;
      if (!item.ok()) state.SkipWithError(item.error.c_str());
    }
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["hash_s"] = hash_s / n;
  state.counters["decode_s"] = decode_s / n;
  state.counters["resize_s"] = resize_s / n;
  state.counters["encode_s"] = encode_s / n;
  state.counters["images"] = static_cast<double>(files.size());
}
// One pass is seconds of work: more iterations would only lengthen the benchmark.
BENCHMARK(corpus_pass)->Iterations(1)->Unit(benchmark::kSecond);

#define THUMBNAIL_BENCH(name, ext, codec, resizer)                                     \
  BENCHMARK_CAPTURE(thumbnail, name, std::string(ext), Codec::codec, Resizer::resizer) \
      ->Unit(benchmark::kMillisecond)
THUMBNAIL_BENCH(jpeg_fast_lanczos, ".jpg", kFast, kLanczos);
THUMBNAIL_BENCH(jpeg_fast_stbresize, ".jpg", kFast, kStb);
THUMBNAIL_BENCH(jpeg_stb, ".jpg", kStb, kStb);
THUMBNAIL_BENCH(png_fast_lanczos, ".png", kFast, kLanczos);
THUMBNAIL_BENCH(png_fast_stbresize, ".png", kFast, kStb);
THUMBNAIL_BENCH(png_stb, ".png", kStb, kStb);
THUMBNAIL_BENCH(webp_fast_lanczos, ".webp", kFast, kLanczos);
THUMBNAIL_BENCH(webp_stb, ".webp", kStb, kStb);

}  // namespace
}  // namespace imgpipe

BENCHMARK_MAIN();

// Decode floor: decodes every corpus image once, on one core, the cheapest correct way, so the
// benchmark can say how close a thumbnailer gets to the unavoidable CPU cost of its inputs.
// Usage: decode_floor PATHS_FILE [TARGET_LONG_EDGE=512]
//   JPEG: TurboJPEG with DCT scaling (smallest of 1/8,1/4,1/2 whose long edge stays >= target).
//   WebP: libwebp scaled decode to a long edge of at least the target.
//   PNG:  full size (PNG has no cheaper partial decode), in the stored layout, checksums not
//         verified, as imgpipe does (image/png.cc): 8-bit gray, RGB and RGBA through imgpipe's
//         one-buffer decode (image/png_stored.h), other layouts through lodepng, both inflating
//         with libdeflate.
//         Interlaced PNGs count as failures (the corpus has none).
// Files are read into memory before the clock starts: the floor is decode CPU, not disk I/O.
// Prints per-format and total seconds; the last line is machine-readable for bench/run.sh.
#include <libdeflate.h>
#include <lodepng.h>
#include <turbojpeg.h>
#include <webp/decode.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "image/png_stored.h"

namespace {

enum class Format { kJpeg, kPng, kWebp, kOther };

Format sniff(const std::vector<unsigned char>& b) {
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return Format::kJpeg;
  if (b.size() >= 8 && std::memcmp(b.data(), "\x89PNG\r\n\x1a\n", 8) == 0) return Format::kPng;
  if (b.size() >= 12 && std::memcmp(b.data(), "RIFF", 4) == 0 &&
      std::memcmp(b.data() + 8, "WEBP", 4) == 0)
    return Format::kWebp;
  return Format::kOther;
}

// Keeps the decoded pixels observable so the compiler can't drop the work.
unsigned long long g_checksum = 0;

bool decode_jpeg(tjhandle tj, const std::vector<unsigned char>& b, int target,
                 std::vector<unsigned char>& px) {
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, b.data(), b.size(), &w, &h, &subsamp, &colorspace) != 0) return false;
  // Smallest of 1/8, 1/4, 1/2 whose scaled long edge is still >= target; else full size.
  int num = 1, denom = 1;
  const int long_edge = std::max(w, h);
  for (int d : {8, 4, 2}) {
    if ((long_edge + d - 1) / d >= target) {
      denom = d;
      break;
    }
  }
  const int sw = TJSCALED(w, (tjscalingfactor{num, denom}));
  const int sh = TJSCALED(h, (tjscalingfactor{num, denom}));
  // Grayscale stays one channel: converting to RGB would be work a real thumbnailer skips.
  const int pf = colorspace == TJCS_GRAY ? TJPF_GRAY : TJPF_RGB;
  px.resize(static_cast<size_t>(sw) * sh * tjPixelSize[pf]);
  if (tjDecompress2(tj, b.data(), b.size(), px.data(), sw, 0, sh, pf, TJFLAG_FASTDCT) != 0) {
    // Warnings (e.g. a truncated tail) still produce pixels; only a hard error fails.
    if (tjGetErrorCode(tj) == TJERR_FATAL) return false;
  }
  g_checksum += px[px.size() / 2];
  return true;
}

bool decode_webp(const std::vector<unsigned char>& b, int target, std::vector<unsigned char>& px) {
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) return false;
  if (WebPGetFeatures(b.data(), b.size(), &config.input) != VP8_STATUS_OK) return false;
  const int w = config.input.width, h = config.input.height;
  const int long_edge = std::max(w, h);
  int sw = w, sh = h;
  if (long_edge > target) {
    // Round up so the long edge lands at >= target.
    sw = std::max(
        1, static_cast<int>((static_cast<long long>(w) * target + long_edge - 1) / long_edge));
    sh = std::max(
        1, static_cast<int>((static_cast<long long>(h) * target + long_edge - 1) / long_edge));
    config.options.use_scaling = 1;
    config.options.scaled_width = sw;
    config.options.scaled_height = sh;
  }
  const bool alpha = config.input.has_alpha;
  config.output.colorspace = alpha ? MODE_RGBA : MODE_RGB;
  px.resize(static_cast<size_t>(sw) * sh * (alpha ? 4 : 3));
  config.output.is_external_memory = 1;
  config.output.u.RGBA.rgba = px.data();
  config.output.u.RGBA.stride = sw * (alpha ? 4 : 3);
  config.output.u.RGBA.size = px.size();
  const bool ok = WebPDecode(b.data(), b.size(), &config) == VP8_STATUS_OK;
  WebPFreeDecBuffer(&config.output);
  if (ok) g_checksum += px[px.size() / 2];
  return ok;
}

// lodepng's inflate hook, backed by libdeflate (as image/png.cc does: ~2.7x zlib's speed).
// The corpus PNGs carry no compressed metadata, so only IDAT comes here; its inflated size is
// known from IHDR (non-interlaced: a filter byte plus the packed row, per row).
unsigned inflate_exact(unsigned char** out, size_t* out_size, const unsigned char* in,
                       size_t in_size, const LodePNGDecompressSettings* settings) {
  const size_t size = *static_cast<const size_t*>(settings->custom_context);
  *out = static_cast<unsigned char*>(std::malloc(size));
  if (!*out) return 1;
  return libdeflate_zlib_decompress(imgpipe::thread_inflater(), in, in_size, *out, size,
                                    out_size) != LIBDEFLATE_SUCCESS;
}

bool decode_png(const std::vector<unsigned char>& b) {
  unsigned w = 0, h = 0;
  LodePNGState state;
  lodepng_state_init(&state);
  bool ok = lodepng_inspect(&w, &h, &state, b.data(), b.size()) == 0 &&
            state.info_png.interlace_method == 0;
  if (ok) {
    const LodePNGColorMode& color = state.info_png.color;
    if (color.bitdepth == 8 && (color.colortype == LCT_GREY || color.colortype == LCT_RGB ||
                                color.colortype == LCT_RGBA)) {
      // Stored as 8-bit samples: imgpipe's one-buffer decode (image/png_stored.h) is cheaper.
      const int channels = int(lodepng_get_channels(&color));
      unsigned char* out = nullptr;
      const char* why = "";
      ok = imgpipe::decode_stored_png(b.data(), b.size(), h, size_t(w) * channels, channels, &out,
                                      &why);
      if (ok) g_checksum += out[size_t(w) * h / 2];
      std::free(out);
      lodepng_state_cleanup(&state);
      return ok;
    }
    size_t idat = h * (1 + (size_t(w) * lodepng_get_bpp(&state.info_png.color) + 7) / 8);
    state.decoder.zlibsettings.custom_zlib = inflate_exact;
    state.decoder.zlibsettings.custom_context = &idat;
    state.decoder.zlibsettings.ignore_adler32 = 1;
    state.decoder.ignore_crc = 1;
    state.decoder.read_text_chunks = 0;
    state.decoder.color_convert = 0;  // the stored layout, unconverted: the least work
    unsigned char* out = nullptr;
    ok = lodepng_decode(&out, &w, &h, &state, b.data(), b.size()) == 0;
    if (ok) g_checksum += out[size_t(w) * h / 2];
    std::free(out);
  }
  lodepng_state_cleanup(&state);
  return ok;
}

struct Tally {
  int count = 0;
  int failed = 0;
  double seconds = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PATHS_FILE [TARGET_LONG_EDGE=512]\n", argv[0]);
    return 2;
  }
  const int target = argc > 2 ? std::atoi(argv[2]) : 512;
  std::ifstream list(argv[1]);
  if (!list) {
    std::fprintf(stderr, "decode_floor: cannot read %s\n", argv[1]);
    return 2;
  }
  std::vector<std::vector<unsigned char>> files;
  for (std::string path; std::getline(list, path);) {
    if (path.empty()) continue;
    std::ifstream f(path, std::ios::binary);
    if (!f) {
      std::fprintf(stderr, "decode_floor: cannot read %s\n", path.c_str());
      return 2;
    }
    files.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }

  tjhandle tj = tjInitDecompress();
  std::map<std::string, Tally> by_format;
  std::vector<unsigned char> px;  // reused: allocation is not what we measure
  using Clock = std::chrono::steady_clock;
  for (const auto& b : files) {
    const Format fmt = sniff(b);
    const auto t0 = Clock::now();
    bool ok = false;
    const char* name = "other";
    switch (fmt) {
      case Format::kJpeg:
        ok = decode_jpeg(tj, b, target, px);
        name = "jpeg";
        break;
      case Format::kWebp:
        ok = decode_webp(b, target, px);
        name = "webp";
        break;
      case Format::kPng:
        ok = decode_png(b);
        name = "png";
        break;
      case Format::kOther:
        break;
    }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    Tally& t = by_format[name];
    t.count++;
    t.seconds += s;
    if (!ok) t.failed++;
  }
  tjDestroy(tj);

  Tally total;
  std::printf("%-6s %6s %7s %10s %10s\n", "format", "images", "failed", "decode s", "images/s");
  for (const auto& [name, t] : by_format) {
    std::printf("%-6s %6d %7d %10.3f %10.1f\n", name.c_str(), t.count, t.failed, t.seconds,
                t.seconds > 0 ? t.count / t.seconds : 0.0);
    total.count += t.count;
    total.failed += t.failed;
    total.seconds += t.seconds;
  }
  std::printf("%-6s %6d %7d %10.3f %10.1f\n", "total", total.count, total.failed, total.seconds,
              total.seconds > 0 ? total.count / total.seconds : 0.0);
  std::printf("FLOOR total_s=%.4f images=%d failed=%d checksum=%llu\n", total.seconds, total.count,
              total.failed, g_checksum);
  return total.failed ? 1 : 0;
}

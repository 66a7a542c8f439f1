// TurboJPEG decode/encode.
#include "image/jpeg.h"

#include <turbojpeg.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "image/icc.h"

namespace imgpipe {
namespace {

// One TurboJPEG handle per thread and direction: creating one costs more than a small decode.
// After a fatal error the handle is replaced: a handle that failed on a corrupt file was seen
// to fail the next, valid one with the same error.
class TjHandle {
 public:
  explicit TjHandle(bool compress) : compress_(compress) { reset(); }
  ~TjHandle() {
    if (h_) tjDestroy(h_);
  }
  tjhandle get() const { return h_; }
  void reset() {
    if (h_) tjDestroy(h_);
    h_ = compress_ ? tjInitCompress() : tjInitDecompress();
  }

 private:
  const bool compress_;
  tjhandle h_ = nullptr;
};

TjHandle& decompressor_handle() {
  thread_local TjHandle h(false);
  return h;
}

tjhandle decompressor() { return decompressor_handle().get(); }

tjhandle compressor() {
  thread_local TjHandle h(true);
  return h.get();
}

// The error text for the last call on the decompressor, which is then replaced (see TjHandle).
std::string decompress_error(const char* what) {
  std::string why = std::string(what) + tjGetErrorStr2(decompressor());
  decompressor_handle().reset();
  return why;
}

// CMYK JPEGs store inverted ink values (0 = full ink, as Photoshop writes them under its APP14
// "Adobe" marker): R = C·K/255 and so on. Browsers and Pillow read every CMYK JPEG so, marker or
// not; vips only with the marker, but CMYK JPEGs without one are rare.
void cmyk_to_rgb(const uint8_t* in, uint8_t* out, size_t pixels) {
  for (size_t i = 0; i < pixels; ++i, in += 4, out += 3) {
    unsigned k = in[3];
    out[0] = static_cast<uint8_t>(in[0] * k / 255);
    out[1] = static_cast<uint8_t>(in[1] * k / 255);
    out[2] = static_cast<uint8_t>(in[2] * k / 255);
  }
}

// Calls visit(marker, payload, length) for every segment before the first scan, walking the
// markers as libjpeg-turbo's reader does (see find_frame); stops early when visit returns false.
template <typename Visit>
void for_each_segment(const std::vector<uint8_t>& d, Visit visit) {
  size_t i = 2;  // after SOI
  while (i < d.size()) {
    while (i < d.size() && d[i] != 0xFF) ++i;
    while (i < d.size() && d[i] == 0xFF) ++i;
    if (i >= d.size()) return;
    const uint8_t m = d[i++];
    if (m == 0 || m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) continue;
    if (m == 0xD9 || m == 0xDA || i + 2 > d.size()) return;
    const size_t length = size_t(d[i]) << 8 | d[i + 1];
    if (length < 2 || i + length > d.size()) return;
    if (!visit(m, &d[i + 2], length - 2)) return;
    i += length;
  }
}

// CMYK samples (4 a pixel, in place) to RGB: through the profile when it serves, else naive.
void convert_cmyk(uint8_t* px, size_t pixels, JpegCmyk* cmyk) {
  if (cmyk && cmyk->profile && !cmyk->profile->empty()) {
    std::string why;
    cmyk->converted = icc_cmyk_to_srgb(*cmyk->profile, px, px, pixels, &why);
    if (cmyk->converted) return;
    cmyk->warning = "the embedded ICC profile was ignored: " + why + "; CMYK by the naive formula";
  }
  cmyk_to_rgb(px, px, pixels);
}

bool tj_header(const std::vector<uint8_t>& data, JpegHeader* out, std::string* why) {
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  // A warning (junk bytes before a marker, say) still leaves a header read; the decode reports it.
  if (tjDecompressHeader3(decompressor(), data.data(), data.size(), &w, &h, &subsamp,
                          &colorspace) != 0 &&
      (tjGetErrorCode(decompressor()) != TJERR_WARNING || w <= 0 || h <= 0)) {
    *why = decompress_error("JPEG header: ");
    return false;
  }
  out->width = w;
  out->height = h;
  out->gray = colorspace == TJCS_GRAY;
  out->cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  return true;
}

bool is_frame_marker(uint8_t m) {  // SOF0..15 but DHT (C4), JPG (C8) and DAC (CC)
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

// Finds the frame header (SOFn) as libjpeg-turbo's marker reader does: bytes before an 0xFF are
// skipped, as are fill 0xFFs and 0xFF00, and every segment but SOI, TEM and RSTn has a length.
// Returns the offset of the segment's length field, or 0 if a scan or the end comes first.
size_t find_frame(const std::vector<uint8_t>& d, uint8_t* marker) {
  size_t i = 2;  // after SOI
  while (i < d.size()) {
    while (i < d.size() && d[i] != 0xFF) ++i;
    while (i < d.size() && d[i] == 0xFF) ++i;
    if (i >= d.size()) break;
    const uint8_t m = d[i++];
    if (m == 0 || m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) continue;
    if (m == 0xD9 || m == 0xDA || i + 2 > d.size()) break;
    if (is_frame_marker(m)) {
      *marker = m;
      return i;
    }
    i += size_t(d[i]) << 8 | d[i + 1];
  }
  return 0;
}

uint64_t round_up(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

// Blocks and coefficient buffer from the frame header's sampling factors, as libjpeg-turbo sizes
// them (jdinput.c, jdcoefct.c). False if the header is not one libjpeg-turbo would accept.
bool read_frame(const std::vector<uint8_t>& d, JpegHeader* h) {
  uint8_t marker = 0;
  const size_t at = find_frame(d, &marker);
  if (at == 0 || at + 8 > d.size()) return false;
  const int n = d[at + 7];
  if (n < 1 || n > 10 || at + 8 + 3 * size_t(n) > d.size()) return false;
  int hs[10], vs[10], hmax = 1, vmax = 1;
  for (int c = 0; c < n; ++c) {
    hs[c] = d[at + 9 + 3 * c] >> 4, vs[c] = d[at + 9 + 3 * c] & 15;
    if (hs[c] < 1 || hs[c] > 4 || vs[c] < 1 || vs[c] > 4) return false;
    hmax = std::max(hmax, hs[c]), vmax = std::max(vmax, vs[c]);
  }
  h->blocks = h->coefficient_bytes = 0;
  for (int c = 0; c < n; ++c) {
    const uint64_t wb = (uint64_t(h->width) * hs[c] + 8 * hmax - 1) / (8 * hmax);
    const uint64_t hb = (uint64_t(h->height) * vs[c] + 8 * vmax - 1) / (8 * vmax);
    h->blocks += wb * hb;
    h->coefficient_bytes += round_up(wb, hs[c]) * round_up(hb, vs[c]) * 64 * sizeof(short);
  }
  h->progressive = marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE;
  h->arithmetic = marker >= 0xC9;
  return true;
}

// Counts the SOS markers, and notes whether an EOI follows the last one.
void scan_markers(const std::vector<uint8_t>& d, JpegHeader* h) {
  int n = 0;
  bool eoi = false;
  const uint8_t* p = d.data();
  const uint8_t* const end = p + d.size();
  while (p + 1 < end && (p = static_cast<const uint8_t*>(std::memchr(p, 0xFF, end - p - 1)))) {
    n += p[1] == 0xDA;
    eoi = p[1] == 0xD9 || (eoi && p[1] != 0xDA);
    ++p;
  }
  h->sos_markers = n;
  h->ends_early = !eoi;
}

}  // namespace

bool jpeg_header(const std::vector<uint8_t>& data, JpegHeader* out, std::string* why) {
  if (!tj_header(data, out, why)) return false;
  scan_markers(data, out);
  if (!read_frame(data, out)) {
    // libjpeg-turbo read a header we could not: assume the costliest layout (full-resolution
    // components, several scans) and no lower bound on the data.
    const int n = out->gray ? 1 : out->cmyk ? 4 : 3;
    const uint64_t blocks = uint64_t((out->width + 7) / 8) * ((out->height + 7) / 8) * n;
    out->progressive = out->arithmetic = true;
    out->blocks = blocks;
    out->coefficient_bytes = blocks * 64 * sizeof(short);
  }
  return true;
}

uint64_t jpeg_min_bytes(const JpegHeader& h) { return h.arithmetic ? 0 : (h.blocks + 7) / 8; }

uint64_t jpeg_peak_bytes(const JpegHeader& h, int denominator) {
  const tjscalingfactor scale{1, denominator};
  const uint64_t channels = h.gray ? 1 : h.cmyk ? 4 : 3;
  const uint64_t out = uint64_t(TJSCALED(h.width, scale)) * TJSCALED(h.height, scale) * channels;
  const bool buffered = h.progressive || h.sos_markers > 1;
  // Row buffers: an MCU row of every component (up to 4 × 8 rows at 4× sampling), twice over for
  // the upsampler's context, plus the Huffman tables and the like.
  const uint64_t rows = uint64_t(h.width) * 64 * channels + (1 << 20);
  return out + (buffered ? h.coefficient_bytes : 0) + rows;
}

bool jpeg_decode(const std::vector<uint8_t>& data, int denominator, Image* out, std::string* why,
                 std::string* warning, JpegCmyk* cmyk) {
  JpegHeader hdr;
  if (!tj_header(data, &hdr, why)) return false;
  const tjscalingfactor scale{1, denominator};
  const int w = TJSCALED(hdr.width, scale), h = TJSCALED(hdr.height, scale);
  const int channels = hdr.gray ? 1 : 3;
  const int decoded_channels = hdr.cmyk ? 4 : channels;
  const int format = hdr.gray ? TJPF_GRAY : hdr.cmyk ? TJPF_CMYK : TJPF_RGB;
  PixelBuffer pixels(static_cast<uint8_t*>(std::malloc(size_t(w) * h * decoded_channels)));
  if (!pixels) {
    *why = "out of memory";
    return false;
  }
  // LIMITSCANS: refuse progressive files with absurd scan counts (a CPU-exhaustion trick).
  // FASTDCT: the integer IDCT's small error vanishes in a thumbnail, its speed does not.
  int rc = tjDecompress2(decompressor(), data.data(), data.size(), pixels.get(), w, 0, h, format,
                         TJFLAG_LIMITSCANS | TJFLAG_FASTDCT);
  if (rc != 0 && tjGetErrorCode(decompressor()) != TJERR_WARNING) {
    *why = decompress_error("JPEG: ");
    return false;
  }
  if (rc != 0 && warning) *warning = tjGetErrorStr2(decompressor());
  if (hdr.cmyk) convert_cmyk(pixels.get(), size_t(w) * h, cmyk);  // in place: 4 → 3 bytes
  out->pixels = std::move(pixels);
  out->width = w;
  out->height = h;
  out->channels = channels;
  return true;
}

bool jpeg_encode(const Image& image, int quality, std::vector<uint8_t>* out, std::string* why) {
  if (image.channels != 1 && image.channels != 3) {
    *why = "JPEG encode wants 1 or 3 channels";
    return false;
  }
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  const bool gray = image.channels == 1;
  int rc = tjCompress2(compressor(), image.pixels.get(), image.width, 0, image.height,
                       gray ? TJPF_GRAY : TJPF_RGB, &buf, &size, gray ? TJSAMP_GRAY : TJSAMP_420,
                       quality, 0);
  if (rc != 0) {
    *why = std::string("JPEG encode: ") + tjGetErrorStr2(compressor());
    tjFree(buf);
    return false;
  }
  out->assign(buf, buf + size);
  tjFree(buf);
  return true;
}

namespace {

constexpr uint8_t kIccTag[12] = {'I', 'C', 'C', '_', 'P', 'R', 'O', 'F', 'I', 'L', 'E', 0};
// A segment's length field counts itself (2), the tag (12), sequence number and count (2).
constexpr size_t kIccChunk = 65535 - 2 - 14;

// The ICC chunks by sequence number (1..count), pointing into the file.
struct IccChunks {
  std::array<std::pair<const uint8_t*, size_t>, 256> part{};
  int count = 0;
  std::string problem;
};

bool add_chunk(IccChunks* c, const uint8_t* p, size_t n) {
  const int seq = p[12], count = p[13];
  if (count == 0 || seq == 0 || seq > count || (c->count && count != c->count)) {
    c->problem = "its chunks are numbered inconsistently";
    return false;
  }
  if (c->part[seq].first) {
    c->problem = "chunk " + std::to_string(seq) + " appears twice";
    return false;
  }
  c->count = count;
  c->part[seq] = {p + 14, n - 14};
  return true;
}

}  // namespace

std::vector<uint8_t> jpeg_icc_profile(const std::vector<uint8_t>& data, std::string* warning) {
  IccChunks c;
  for_each_segment(data, [&c](uint8_t m, const uint8_t* p, size_t n) {
    if (m != 0xE2 || n < 14 || std::memcmp(p, kIccTag, 12) != 0) return true;
    return add_chunk(&c, p, n);
  });
  size_t total = 0;
  for (int i = 1; i <= c.count && c.problem.empty(); ++i) {
    if (!c.part[i].first) c.problem = "chunk " + std::to_string(i) + " is missing";
    total += c.part[i].second;
  }
  if (c.problem.empty() && total > kMaxIccBytes)
    c.problem = std::to_string(total) + " bytes, over the limit of " + std::to_string(kMaxIccBytes);
  if (!c.problem.empty()) {
    *warning = "the embedded ICC profile was ignored: " + c.problem;
    return {};
  }
  std::vector<uint8_t> profile;
  profile.reserve(total);
  for (int i = 1; i <= c.count; ++i)
    profile.insert(profile.end(), c.part[i].first, c.part[i].first + c.part[i].second);
  return profile;
}

bool jpeg_embed_icc(std::vector<uint8_t>* jpeg, const std::vector<uint8_t>& profile) {
  const size_t count = (profile.size() + kIccChunk - 1) / kIccChunk;
  std::vector<uint8_t>& j = *jpeg;
  if (count == 0 || count > 255 || j.size() < 4 || j[0] != 0xFF || j[1] != 0xD8) return false;
  size_t at = 2;  // after SOI, and after a JFIF APP0, which must come first
  if (j[2] == 0xFF && j[3] == 0xE0 && j.size() >= 6) at = 4 + (size_t(j[4]) << 8 | j[5]);
  if (at > j.size()) return false;
  std::vector<uint8_t> segments;
  segments.reserve(profile.size() + count * 18);
  for (size_t i = 0; i < count; ++i) {
    const size_t n = std::min(kIccChunk, profile.size() - i * kIccChunk);
    const size_t length = n + 16;
    const uint8_t head[4] = {0xFF, 0xE2, uint8_t(length >> 8), uint8_t(length)};
    segments.insert(segments.end(), head, head + 4);
    segments.insert(segments.end(), kIccTag, kIccTag + 12);
    segments.push_back(static_cast<uint8_t>(i + 1));
    segments.push_back(static_cast<uint8_t>(count));
    segments.insert(segments.end(), profile.begin() + i * kIccChunk,
                    profile.begin() + i * kIccChunk + n);
  }
  j.insert(j.begin() + at, segments.begin(), segments.end());
  return true;
}

}  // namespace imgpipe

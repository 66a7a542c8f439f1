// Plain PNM and 1-bit PBM: a bounds-checked tokenizer over the header and the samples (see pnm.h
// for why imgpipe has its own).
#include "image/pnm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace imgpipe {
namespace {

bool is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

// Reads whitespace-separated decimal numbers; '#' starts a comment up to the end of the line.
class Tokens {
 public:
  Tokens(const std::vector<uint8_t>& d, uint64_t at) : d_(d), at_(at) {}
  uint64_t at() const { return at_; }
  bool at_end() {
    skip();
    return at_ >= d_.size();
  }
  // The next number, at most `max_digits` long (P1 samples are single digits that may touch);
  // false at the end of the data, or at a byte that starts no number (*bad then set).
  bool next(uint64_t* value, int max_digits, bool* bad) {
    skip();
    if (at_ >= d_.size()) return false;
    if (!is_digit(d_[at_])) return *bad = true, false;
    uint64_t v = 0;
    for (int n = 0; n < max_digits && at_ < d_.size() && is_digit(d_[at_]); ++n)
      v = std::min<uint64_t>(v * 10 + (d_[at_++] - '0'), uint64_t{1} << 40);  // no overflow
    *value = v;
    return true;
  }

 private:
  void skip() {
    while (at_ < d_.size() && (is_space(d_[at_]) || d_[at_] == '#')) {
      if (d_[at_] == '#')
        while (at_ < d_.size() && d_[at_] != '\n') ++at_;
      else
        ++at_;
    }
  }
  const std::vector<uint8_t>& d_;
  uint64_t at_;
};

// Samples in a plain file: the sample digits allowed (P1's touch one another), and where they are.
int sample_digits(const PnmHeader& h) { return h.kind == 1 ? 1 : 20; }
uint64_t sample_count(const PnmHeader& h) { return uint64_t(h.width) * h.height * h.channels; }

// Counts the samples a plain file holds (up to the claimed number), checking each against
// maxval; false at a byte that is not part of a number.
bool count_samples(const std::vector<uint8_t>& data, const PnmHeader& h, uint64_t* count,
                   std::string* why) {
  Tokens t(data, h.data_offset);
  const uint64_t want = sample_count(h);
  uint64_t v = 0;
  bool bad = false;
  for (*count = 0; *count < want && t.next(&v, sample_digits(h), &bad); ++*count) {
    if (v > h.maxval) {
      *why = "PNM sample " + std::to_string(v) + " is above maxval " + std::to_string(h.maxval);
      return false;
    }
  }
  if (bad) *why = "PNM sample data holds a byte that is not a digit";
  return !bad;
}

// The header's fields up to the samples: magic, sides, maxval, and the one whitespace byte that
// ends a header (raw data starts right after it).
bool read_fields(const std::vector<uint8_t>& data, PnmHeader* h, std::string* why) {
  if (!is_plain_or_bitmap_pnm(data)) {
    *why = "not a P1-P4 PNM";
    return false;
  }
  h->kind = data[1] - '0';
  h->channels = h->kind == 3 ? 3 : 1;
  Tokens t(data, 2);
  uint64_t w = 0, ht = 0, maxval = 1;
  bool bad = false;
  const bool bitmap = h->kind == 1 || h->kind == 4;
  if (!t.next(&w, 20, &bad) || !t.next(&ht, 20, &bad) || (!bitmap && !t.next(&maxval, 20, &bad)) ||
      w == 0 || ht == 0 || w > INT32_MAX || ht > INT32_MAX || maxval == 0 || maxval > 65535) {
    *why = "PNM header has no valid width, height and maxval";
    return false;
  }
  h->width = static_cast<int>(w), h->height = static_cast<int>(ht);
  h->maxval = static_cast<uint32_t>(maxval);
  h->data_offset = t.at() + 1;  // the single whitespace byte after the last header number
  h->peak_bytes = uint64_t(w) * ht * h->channels;
  // Capped first, so that 2 × samples cannot wrap (sides up to 2^31 − 1, 3 channels); at least 1.
  const uint64_t samples = std::min(sample_count(*h), uint64_t{1} << 61);
  if (h->kind == 4)
    h->min_bytes = h->data_offset + (w + 7) / 8 * ht;
  else
    h->min_bytes = h->data_offset + (h->kind == 1 ? samples : 2 * samples - 1);
  return true;
}

uint8_t scale(uint64_t v, uint32_t maxval) {
  return static_cast<uint8_t>((v * 255 + maxval / 2) / maxval);
}

// P4: rows of whole bytes, most significant bit first, 1 black; a missing byte reads as 0.
void decode_bitmap(const std::vector<uint8_t>& data, const PnmHeader& h, uint8_t* out) {
  const uint64_t row = (uint64_t(h.width) + 7) / 8;
  for (uint64_t y = 0; y < uint64_t(h.height); ++y)
    for (uint64_t x = 0; x < uint64_t(h.width); ++x) {
      const uint64_t at = h.data_offset + y * row + x / 8;
      const bool black = at < data.size() && (data[at] >> (7 - x % 8)) & 1;
      out[y * h.width + x] = black ? 0 : 255;
    }
}

void decode_plain(const std::vector<uint8_t>& data, const PnmHeader& h, uint8_t* out) {
  Tokens t(data, h.data_offset);
  const uint64_t want = sample_count(h);
  uint64_t v = 0;
  bool bad = false;
  for (uint64_t i = 0; i < want && t.next(&v, sample_digits(h), &bad); ++i)
    out[i] = h.kind == 1 ? (v ? 0 : 255) : scale(std::min<uint64_t>(v, h.maxval), h.maxval);
}

}  // namespace

bool is_plain_or_bitmap_pnm(const std::vector<uint8_t>& data) {
  return data.size() >= 3 && data[0] == 'P' && data[1] >= '1' && data[1] <= '4' &&
         (is_space(data[2]) || data[2] == '#');
}

bool pnm_header(const std::vector<uint8_t>& data, PnmHeader* out, std::string* why) {
  *out = PnmHeader();
  if (!read_fields(data, out, why)) return false;
  if (out->kind == 4) return true;  // min_bytes is exact: the caller's size check is enough
  uint64_t count = 0;
  if (!count_samples(data, *out, &count, why)) return false;
  out->truncated = count < sample_count(*out);
  return true;
}

bool pnm_decode(const std::vector<uint8_t>& data, Image* out, std::string* why) {
  PnmHeader h;
  if (!read_fields(data, &h, why)) return false;
  // Missing samples stay 0, never old heap bytes.
  PixelBuffer pixels(static_cast<uint8_t*>(std::calloc(h.peak_bytes, 1)));
  if (!pixels) {
    *why = "out of memory";
    return false;
  }
  if (h.kind == 4)
    decode_bitmap(data, h, pixels.get());
  else
    decode_plain(data, h, pixels.get());
  out->pixels = std::move(pixels);
  out->width = h.width, out->height = h.height, out->channels = h.channels;
  return true;
}

}  // namespace imgpipe

// decode: downloaded bytes → pixels, refusing oversized images before allocating them, and
// shrinking on load toward the thumbnail where the codec can (JPEG DCT scaling, WebP scaling).
//
// A plain function on one Item; no shared state, so any number of threads may decode different
// items at once.
#pragma once

#include "core/item.h"
#include "core/options.h"
#include "stages/pixel_budget.h"

namespace imgpipe {

// The most scans a JPEG may have. libjpeg-turbo decodes every scan over the whole image's
// coefficients, so a file's CPU cost grows with scans × image size: a valid 656 KB progressive
// JPEG with 500 scans (TurboJPEG's own TJFLAG_LIMITSCANS stops only above 500) took 13 s. Real
// encoders write about 10 (libjpeg's and mozjpeg's progressive scripts: 10 for colour, 6 for
// gray; Photoshop 3 to 5); 64 leaves room for unusual scripts and for the few 0xFF 0xDA pairs
// metadata may hold (see JpegHeader::sos_markers), while capping the cost at a few full decodes.
constexpr int kMaxJpegScans = 64;

// The largest reservation an item can need under these options: a --max-pixels image at the
// costliest decode per pixel, and its thumbnails. The --decode-memory default never goes below
// it, so the budget alone never refuses an image the other limits accept.
uint64_t largest_item_bytes(const ImageOptions& options);

// --decode-memory's default: a quarter of the machine's memory (available_memory_bytes), which
// leaves the rest for downloaded bodies, encoders and everything else on the machine; but never
// less than largest_item_bytes.
uint64_t default_decode_memory(const ImageOptions& options);

// The shrink-on-load policy. decode_target: the size the decoder must keep at least (stored
// orientation), the largest scaled size any of the --size boxes needs under the fit mode, so one
// decode serves every thumbnail. The codec then takes the cheapest decode that still leaves at
// least twice that on each side, so the final filter has real pixels to work with (as libvips and
// Pillow's draft mode do).
Size decode_target(int src_width, int src_height, int orientation, const ImageOptions& options);
// JPEG: the largest DCT scale denominator (1, 2, 4 or 8) that keeps that margin.
int jpeg_shrink_denominator(int src_width, int src_height, Size target);
// WebP: twice the target when the source is larger than that, else {0, 0} (decode in full).
Size webp_scaled_size(int src_width, int src_height, Size target);

// Decodes item.body into item.image and releases the body; sets source_width/height (as
// displayed, as soon as the header is read, failures included) and orientation. The image may
// come out smaller than the source (never below twice the thumbnail).
//
// Before any pixel buffer exists, judged from the header and the body's size alone, it refuses:
// too_large for an image over max_pixels, a JPEG with more than kMaxJpegScans scans or a GIF whose
// LZW codes would take far more steps than its pixels (CPU bombs); decode_error for a file shorter
// than the smallest its header allows (its data cannot fill the claimed size), and for a file
// stb_image would turn into uninitialised memory.
//
// With a budget, it then reserves into *held the item's estimated peak memory (the decode and the
// resize after it), waiting while other items hold the budget; an item that can never fit fails
// with too_large. The caller keeps *held until the item's pixels are gone (after encode). Without
// one (tests, fuzzing) nothing is reserved.
//
// The embedded ICC profile (JPEG, PNG, WebP) goes to item.icc_profile when it fits the source's
// colours (gray, RGB, CMYK); a CMYK JPEG is converted to sRGB through its profile here, since an
// Image holds no CMYK. A profile that is unreadable or does not fit is dropped with a line in
// item.warnings: never a failure.
//
// Other failures: not_an_image (no format recognised) or decode_error.
void decode(Item& item, const ImageOptions& options, PixelBudget* budget = nullptr,
            Reservation* held = nullptr);

}  // namespace imgpipe

// The one translation unit holding the stb implementations, so we choose their build settings
// (formats, limits, assertions) instead of linking Debian's prebuilt libstb.so.

// Formats a web thumbnailer sees; HDR and PIC are left out (no web use, more attack surface).
// No JPEG and no PNG, found by fuzz_image (inputs in fuzz/regressions/fuzz_image/stb-*): Debian's
// stb_image 2.27 writes and reads out of bounds on hostile JPEG Huffman tables, and reallocates
// whatever a PNG's IDAT length claims (a 1.2 GB allocation from a few hundred bytes). Every JPEG
// goes to libjpeg-turbo and every PNG to image/png.cc, even with --codec stb, and stb cannot be
// reached with either.
#define STBI_ONLY_GIF
#define STBI_ONLY_BMP
#define STBI_ONLY_TGA
#define STBI_ONLY_PSD
#define STBI_ONLY_PNM
#define STBI_NO_STDIO  // we decode from memory only
// Defence in depth behind our own --max-pixels check: stb refuses any side over 64 Ki px.
#define STBI_MAX_DIMENSIONS (1 << 16)
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

// stb_image_resize v1 asserts on some filter/size pairs (seen with the triangle filter): an
// assertion would kill the whole run for one image. We use only the default filters, which
// resize_test.cc checks over many size pairs for sane output.
#define STBIR_ASSERT(x) ((void)0)
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>

#define STBI_WRITE_NO_STDIO
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

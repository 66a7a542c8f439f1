// Writes the fuzzers' seed corpora with the tests' own image generators: every format and
// variant the tests use (progressive/CMYK/EXIF JPEG, 16-bit/palette PNG, WebP, animated GIF and
// WebP, BMP, PNM, TGA, PSD, HEIC, AVIF, TIFF, and the hostile files of the decoders' safety checks:
// header-only files, a JPEG with many scans, a GIF LZW bomb, huge canvases), plus small lists in
// every format. Usage: make_seeds IMAGE_DIR LIST_DIR
#include <fstream>
#include <string>
#include <vector>

#include "fixtures/containers.h"
#include "fixtures/images.h"
#include "fixtures/kinds.h"
#include "fixtures/profiles.h"
#include "stages/reader.h"

namespace {

using Bytes = std::vector<unsigned char>;

void put(const std::string& path, uint8_t knobs, const Bytes& body) {
  std::ofstream out(path, std::ios::binary);
  out.put(static_cast<char>(knobs));
  out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
}

void put_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

void le(Bytes& b, size_t at, uint32_t v, int n) {
  for (int i = 0; i < n; ++i) b[at + i] = static_cast<unsigned char>(v >> (8 * i));
}

// A BMP for image/bmp.cc: a `header_size`-byte info header, `palette` BGRX entries, then `pixels`
// (raw rows, bit fields or an RLE stream, as `compression` says).
Bytes bmp(int w, int h, int bpp, int compression, int palette, const Bytes& pixels,
          uint32_t header_size = 40) {
  Bytes b(14 + header_size + 4 * palette, 0);
  b[0] = 'B', b[1] = 'M';
  le(b, 10, static_cast<uint32_t>(b.size()), 4);
  le(b, 14, header_size, 4);
  le(b, 18, static_cast<uint32_t>(w), 4), le(b, 22, static_cast<uint32_t>(h), 4);
  le(b, 26, 1, 2), le(b, 28, static_cast<uint32_t>(bpp), 2);
  le(b, 30, static_cast<uint32_t>(compression), 4), le(b, 46, static_cast<uint32_t>(palette), 4);
  for (size_t i = 14 + header_size; i < b.size(); ++i) b[i] = static_cast<unsigned char>(i * 7);
  for (unsigned char c : pixels) b.push_back(c);
  return b;
}

Bytes text(const std::string& s) { return {s.begin(), s.end()}; }

// A GIF with no colour table at all: a 4x2 frame of indices 0 1 2 3 / 3 2 1 0 (LZW code size 2:
// clear, the eight literals, end).
Bytes gif_without_palette() {
  return {'G',  'I', 'F',  '8',  '9',  'a',  4,    0, 2,   0,    0x00, 0, 0,  // no global table
          0x2C, 0,   0,    0,    0,    4,    0,    2, 0,   0x00,              // no local table
          2,    5,   0x44, 0x34, 0x23, 0x01, 0x05, 0, 0x3B};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const std::string img = argv[1], list = argv[2];
  const std::vector<std::pair<std::string, Bytes>> images = {
      {"rgb.jpg", fixtures::make_jpeg(70, 50)},
      {"gray.jpg", fixtures::make_jpeg(33, 65, 1)},
      {"progressive.jpg", fixtures::make_progressive_jpeg(48, 40)},
      {"cmyk.jpg", fixtures::make_cmyk_jpeg(40, 30)},
      {"exif6.jpg", fixtures::with_exif_orientation(fixtures::make_jpeg(60, 30), 6)},
      {"rgba.png", fixtures::make_png(50, 40, 4)},
      {"ga.png", fixtures::make_png(21, 9, 2)},
      {"png16.png", fixtures::make_png16(30, 20)},
      {"palette.png", fixtures::make_palette_png_with_trns(25, 25)},
      {"bomb.png", fixtures::make_png_header_only(50000, 50000)},
      {"anim.gif", fixtures::make_gif(30, 20, 2)},
      {"rgb.bmp", fixtures::make_bmp(17, 13)},
      {"alpha.webp", fixtures::make_webp(40, 30, true)},
      {"anim.webp", fixtures::make_animated_webp(24, 16)},
      {"rgb.ppm", fixtures::make_pnm(20, 10, 3, 20 * 10 * 3)},
      {"gray.pgm", fixtures::make_pnm(20, 10, 1, 20 * 10)},
      {"short.ppm", fixtures::make_pnm(64, 64, 3, 0)},
      {"raw.tga", fixtures::make_tga(30, 20, false, true)},
      {"rle.tga", fixtures::make_tga(300, 4, true, true)},
      {"raw.psd", fixtures::make_psd(30, 20, false, true)},
      {"rle.psd", fixtures::make_psd(300, 4, true, true)},
      {"palette.bmp", fixtures::make_palette_bmp(30, 20, 4, 3)},
      {"past-palette.bmp", fixtures::make_palette_bmp(30, 20, 2, 200)},
      {"header.bmp", fixtures::make_bmp_header_only(3000, 3000)},
      {"scans.jpg", fixtures::make_jpeg_with_scans(40, 30, 70)},
      {"cut-progressive.jpg", fixtures::make_truncated_progressive_jpeg(900, 900)},
      {"screen.gif", fixtures::make_gif_on_screen(900, 900)},
      {"lzw-bomb.gif", fixtures::make_gif_lzw_bomb(16, 16, 1)},
      {"canvas.webp", fixtures::make_animated_webp_on_canvas(900, 900, 2, 4)},
      {"exif6.png", fixtures::with_png_exif_orientation(fixtures::make_png(30, 20), 6)},
      {"exif8.webp", fixtures::with_webp_exif_orientation(fixtures::make_webp(30, 20, false), 8)},
      // image/bmp.cc: RLE8 with runs, an absolute run, a delta and line ends; RLE4; a cut stream;
      // OS/2 1.x and 2.x headers; 5-6-5 and alpha bit fields; a top-down 1-bit image.
      {"rle8.bmp", bmp(7, 3, 8, 1, 6, {3, 1, 0, 3, 2, 3, 4, 0, 0, 0, 0, 2, 4, 1, 5, 5, 0, 1})},
      {"rle4.bmp", bmp(9, 2, 4, 2, 16, {5, 0x12, 0, 3, 0x31, 0x20, 0, 0, 9, 0x45, 0, 1})},
      {"rle8-cut.bmp", bmp(40, 40, 8, 1, 4, {40, 1, 0, 0, 0, 5, 1, 2})},
      {"os2v2.bmp", bmp(5, 3, 8, 0, 8, Bytes(24, 3), 64)},
      {"bitfields565.bmp", [] {
         Bytes b = bmp(3, 2, 16, 3, 3, Bytes(16, 0xA5));  // the "palette" holds the 3 masks
         le(b, 54, 0xF800, 4), le(b, 58, 0x07E0, 4), le(b, 62, 0x001F, 4);
         return b;
       }()},
      {"alpha-fields.bmp", bmp(2, 2, 32, 3, 0, Bytes(16, 0x80), 56)},
      {"topdown1.bmp", bmp(12, -3, 1, 0, 2, Bytes(12, 0x5A))},
      // image/pnm.cc: plain P1, P2 (8 and 16-bit) and P3, binary P4, a cut P2.
      {"plain.pbm", text("P1\n# c\n5 2\n1 0 1 0 1\n01010")},
      {"plain.pgm", text("P2 3 2 255\n0 128 255\n1 2 3\n")},
      {"plain16.pgm", text("P2 2 2 65535 0 65535 300 40000")},
      {"plain.ppm", text("P3 2 1 15 15 0 0 0 15 7")},
      {"bitmap.pbm", text(std::string("P4 10 2\n") + "\x80\x40\x00\xC0")},
      {"cut.pgm", text("P2 4 4 9 1 2 3")},
      // image/gif.cc: no colour table anywhere.
      {"no-palette.gif", gif_without_palette()},
      // image/heif.cc and image/tiff.cc: HEIC, AVIF, TIFF; a huge ispe claim; a grid; nclx.
      {"rgb.heic", fixtures::make_heif(Bytes(30 * 20 * 3, 90), 30, 20, 3, false, 6)},
      {"rgba.avif", fixtures::make_heif(Bytes(30 * 20 * 4, 200), 30, 20, 4, true, 5)},
      {"huge.heic",
       fixtures::with_ispe(fixtures::make_heif(Bytes(16 * 16 * 3, 9), 16, 16, 3, false), 30000,
                           30000)},
      {"rgb.tif", fixtures::make_tiff(Bytes(30 * 20 * 3, 70), 30, 20, 3, 8, {}, 4)},
      {"rgba.tif", fixtures::make_tiff(Bytes(30 * 20 * 4, 130), 30, 20, 4, 1, {}, 20)},
      {"header.tif", fixtures::make_tiff_header_only(3000, 3000)},
      {"deep.heic", fixtures::make_deep_heic(std::vector<uint16_t>(24 * 16 * 3, 700), 24, 16, 10)},
      {"exif.heic", fixtures::make_heif_with_exif(Bytes(20 * 30 * 3, 40), 20, 30, 8, 6)},
      {"grid.heic",
       fixtures::make_heic_grid(fixtures::make_heif(Bytes(16 * 16 * 3, 60), 16, 16, 3, false), 16,
                                16, 16, 16)},
      {"p3.avif", fixtures::make_avif_nclx(Bytes(16 * 16 * 3, 140), 16, 16, 12, 13)},
      {"gray.tif", fixtures::make_tiff(Bytes(30 * 20, 50), 30, 20, 1, 7, {}, 3)},
      {"profile.tif",
       fixtures::make_tiff(Bytes(16 * 16 * 3, 99), 16, 16, 3, 1,
                           fixtures::make_rgb_profile(fixtures::RgbSpace::kAdobeRgb))},
  };
  uint8_t knobs = 0;
  for (const auto& [name, bytes] : images) put(img + "/" + name, knobs += 37, bytes);
  put_text(list + "/urls.txt", "# comment\nhttp://a/b.jpg\n\n  https://x.y/z?q=1  \n/tmp/p.png\n");
  put_text(list + "/list.csv",
           "id,url,caption\n1,http://a/b.jpg,\"x, \"\"y\"\"\"\n2,\"http://c\nd\",z\n");
  put_text(list + "/list.tsv", "url\tid\nhttp://a/b.jpg\t1\n\nhttp://c/d\t2\n");
  put_text(list + "/list.jsonl",
           "{\"url\":\"http://a/b.jpg\",\"n\":1,\"t\":[1,2]}\n[1]\n{\"url\":3}\n{\"u\":\"x\"}\n");
  // Issue 13's hostile records: nesting at the depth bound and one past it (mutations cross it
  // both ways), NUL bytes raw in every format and escaped in a JSON URL, repeated JSON keys.
  using namespace std::string_literals;
  auto nest = [](size_t levels) { return std::string(levels, '[') + std::string(levels, ']'); };
  const size_t max = imgpipe::ListReader::kMaxJsonDepth;
  put_text(list + "/deep.jsonl", "{\"url\":\"http://a/1\",\"x\":" + nest(max - 1) +
                                     "}\n{\"url\":\"http://a/2\",\"x\":" + nest(max) +
                                     "}\n{\"url\":\"u\",\"o\":{\"o\":{\"o\":{}}}}\n");
  put_text(list + "/brackets.jsonl", std::string(4096, '[') + "\n");
  put_text(list + "/nul.txt", "http://a/1\nhttp://a/2\0x\n# c\0\n\0\n"s);
  put_text(list + "/nul.csv", "url,n\nhttp://a/2\0,1\n\"http://a/3\",\"q\0\nq\"\n"s);
  put_text(list + "/nul.tsv", "url\tn\nhttp://a/2\0\t1\nhttp://a/3\t\0\n"s);
  put_text(list + "/nul.jsonl",
           "{\"url\":\"http://a/1\0\"}\n{\"url\":\"http://a/2\\u0000\"}\n"
           "{\"url\":\"http://a/3\",\"n\":\"\\u0000\",\"n\":1,\"url\":\"v\"}\n"s);
  return 0;
}

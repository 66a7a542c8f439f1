// GIF's first frame through giflib, read from memory (see gif.h for why giflib).
#include "image/gif.h"

#include <gif_lib.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace imgpipe {
namespace {

// The bytes giflib reads from, through its input hook: reads past the end return what is left.
struct Source {
  const std::vector<uint8_t>* data;
  size_t at = 0;
};

int read_bytes(GifFileType* gif, GifByteType* to, int n) {
  auto* s = static_cast<Source*>(gif->UserData);
  const size_t k = std::min(size_t(std::max(n, 0)), s->data->size() - s->at);
  std::memcpy(to, s->data->data() + s->at, k);
  s->at += k;
  return static_cast<int>(k);
}

struct Closer {
  void operator()(GifFileType* g) const {
    int error = 0;
    DGifCloseFile(g, &error);
  }
};
using Gif = std::unique_ptr<GifFileType, Closer>;

bool fail(const char* what, int error, std::string* why) {
  const char* text = GifErrorString(error);
  *why = std::string(what) + ": " + (text ? text : "unknown giflib error");
  return false;
}

// Skips an extension's sub-blocks; a Graphic Control block sets *transparent (-1: none).
bool read_extension(GifFileType* gif, int* transparent) {
  int code = 0;
  GifByteType* block = nullptr;
  if (DGifGetExtension(gif, &code, &block) != GIF_OK) return false;
  if (code == GRAPHICS_EXT_FUNC_CODE && block && block[0] >= 4) {
    GraphicsControlBlock gcb{};
    if (DGifExtensionToGCB(block[0], block + 1, &gcb) == GIF_OK)
      *transparent = gcb.TransparentColor;
  }
  while (block)
    if (DGifGetExtensionNext(gif, &block) != GIF_OK) return false;
  return true;
}

// The rows of an interlaced frame arrive in four passes: every 8th from 0, every 8th from 4,
// every 4th from 2, every 2nd from 1. Maps the n-th row read to its place.
int frame_row(int n, int height, bool interlaced) {
  if (!interlaced) return n;
  const int starts[4] = {0, 4, 2, 1}, steps[4] = {8, 8, 4, 2};
  for (int pass = 0; pass < 4; ++pass) {
    const int rows =
        height > starts[pass] ? (height - starts[pass] + steps[pass] - 1) / steps[pass] : 0;
    if (n < rows) return starts[pass] + n * steps[pass];
    n -= rows;
  }
  return height;  // unreachable for n < height
}

// One decoded row of palette indices onto the screen, clipped to it.
void put_row(const GifByteType* row, int y, const GifImageDesc& d, const ColorMapObject* map,
             int transparent, Image* screen) {
  if (y < 0 || y >= screen->height) return;
  for (int x = 0; x < d.Width; ++x) {
    const int sx = d.Left + x;
    if (sx < 0 || sx >= screen->width || row[x] == transparent) continue;
    uint8_t* p = &screen->pixels[(size_t(y) * screen->width + sx) * 4];
    if (map && row[x] < map->ColorCount) {
      const GifColorType& c = map->Colors[row[x]];
      p[0] = c.Red, p[1] = c.Green, p[2] = c.Blue;
    } else if (!map) {
      p[0] = p[1] = p[2] = row[x];  // no colour table anywhere: gray, as Pillow reads it
    } else {
      p[0] = p[1] = p[2] = 0;  // an index past the table: black
    }
    p[3] = 255;
  }
}

// Reads the frame's rows onto the screen. A row that fails to decode ends the frame: what came
// before stays (the probe has judged already whether the data ends early); none at all fails.
bool read_frame(GifFileType* gif, int transparent, Image* screen, std::string* why) {
  if (DGifGetImageDesc(gif) != GIF_OK) return fail("GIF frame header", gif->Error, why);
  const GifImageDesc& d = gif->Image;
  const ColorMapObject* map = d.ColorMap ? d.ColorMap : gif->SColorMap;
  std::vector<GifByteType> row(std::max(d.Width, 1));
  for (int n = 0; n < d.Height; ++n) {
    if (DGifGetLine(gif, row.data(), d.Width) != GIF_OK) {
      if (n == 0) return fail("GIF frame data", gif->Error, why);
      break;
    }
    put_row(row.data(), d.Top + frame_row(n, d.Height, d.Interlace), d, map, transparent, screen);
  }
  return true;
}

}  // namespace

bool gif_decode(const std::vector<uint8_t>& data, Image* out, std::string* why) {
  Source source{&data};
  int error = 0;
  Gif gif(DGifOpen(&source, read_bytes, &error));
  if (!gif) return fail("GIF header", error, why);
  Image screen;
  screen.width = gif->SWidth, screen.height = gif->SHeight, screen.channels = 4;
  const size_t bytes = size_t(std::max(gif->SWidth, 1)) * std::max(gif->SHeight, 1) * 4;
  screen.pixels.reset(static_cast<uint8_t*>(std::calloc(bytes, 1)));  // transparent
  if (!screen.pixels) {
    *why = "out of memory";
    return false;
  }
  int transparent = -1;
  for (;;) {
    GifRecordType type = UNDEFINED_RECORD_TYPE;
    if (DGifGetRecordType(gif.get(), &type) != GIF_OK) return fail("GIF", gif->Error, why);
    if (type == IMAGE_DESC_RECORD_TYPE) break;
    if (type != EXTENSION_RECORD_TYPE || !read_extension(gif.get(), &transparent)) {
      *why = "GIF has no frame";
      return false;
    }
  }
  if (!read_frame(gif.get(), transparent, &screen, why)) return false;
  *out = std::move(screen);
  return true;
}

}  // namespace imgpipe

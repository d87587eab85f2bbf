#pragma once
// PNG images of tensors, as torchvision.utils.save_image writes them: a batch of images
// [N, C, H, W] (C = 1 grey or 3 RGB) or [N, H, W] tiled into a grid with padding, values
// clamped to [0, 1] and scaled to 8 bits. For reconstructions and samples of vision models.
//
//   tg::save_image(reconstructions, "recon.png", {.nrow = 8});
//
// Needs zlib (Debian: zlib1g-dev; link ZLIB::ZLIB or -lz) for the compressed image data and
// the CRCs; <tapegrad/io.hpp> does not include this header, so checkpoints need no zlib.

#include "../core/tensor.hpp"
#include "file.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace tapegrad {

struct ImageGridOptions {
  std::int64_t nrow = 8;     // images per row of the grid
  std::int64_t padding = 2;  // pixels between images and around the grid
  double pad_value = 0.0;    // the padding's grey level in [0, 1]
};

namespace detail {

inline void png_put_be32(std::vector<unsigned char>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<unsigned char>(v >> shift));
}

// A chunk is length, type, data, and a CRC-32 of type and data (PNG spec, section 5.3).
inline void png_chunk(std::vector<unsigned char>& out, const char type[4], const std::vector<unsigned char>& data) {
  png_put_be32(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t type_at = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), out.data() + type_at, static_cast<uInt>(4 + data.size()));
  png_put_be32(out, static_cast<std::uint32_t>(crc));
}

// 8-bit grey (channels 1) or RGB (channels 3) rows, top to bottom, to a PNG file's bytes.
inline std::vector<unsigned char> encode_png(const std::vector<unsigned char>& pixels, std::int64_t width,
                                             std::int64_t height, int channels) {
  // Each row is prefixed by its filter type; 0 (none) is simple and the images are small.
  const std::size_t row_bytes = static_cast<std::size_t>(width) * static_cast<std::size_t>(channels);
  std::vector<unsigned char> raw;
  raw.reserve((row_bytes + 1) * static_cast<std::size_t>(height));
  for (std::int64_t y = 0; y < height; ++y) {
    raw.push_back(0);
    const auto row = pixels.begin() + static_cast<std::ptrdiff_t>(row_bytes * static_cast<std::size_t>(y));
    raw.insert(raw.end(), row, row + static_cast<std::ptrdiff_t>(row_bytes));
  }
  uLongf compressed_size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<unsigned char> compressed(compressed_size);
  if (compress2(compressed.data(), &compressed_size, raw.data(), static_cast<uLong>(raw.size()), 6) != Z_OK)
    throw IOError("save_image: zlib failed to compress the image data");
  compressed.resize(compressed_size);

  std::vector<unsigned char> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<unsigned char> header;
  png_put_be32(header, static_cast<std::uint32_t>(width));
  png_put_be32(header, static_cast<std::uint32_t>(height));
  header.push_back(8);                         // bit depth
  header.push_back(channels == 1 ? 0 : 2);     // colour type: grey or truecolour
  header.insert(header.end(), {0, 0, 0});      // deflate, adaptive filtering, no interlace
  png_chunk(png, "IHDR", header);
  png_chunk(png, "IDAT", compressed);
  png_chunk(png, "IEND", {});
  return png;
}

inline unsigned char to_byte(double v) {
  if (!(v > 0)) return 0;  // also NaN: black rather than junk
  return static_cast<unsigned char>(std::lround(std::min(v, 1.0) * 255.0));
}

}  // namespace detail

// Writes images [N, C, H, W] (C 1 or 3) or [N, H, W], or a single [H, W], tiled
// ceil(N / nrow) rows by min(N, nrow) columns, to a PNG file (atomically).
template <typename T>
void save_image(const Tensor<T>& images, const std::string& path, const ImageGridOptions& options = {}) {
  const auto& s = images.shape();
  if (s.size() < 2 || s.size() > 4)
    throw ShapeError("save_image: expected images [N, C, H, W], [N, H, W] or [H, W], got " + to_string(s));
  const std::int64_t n = s.size() == 2 ? 1 : s[0];
  const std::int64_t channels = s.size() == 4 ? s[1] : 1;
  const std::int64_t h = s[s.size() - 2], w = s[s.size() - 1];
  if (channels != 1 && channels != 3)
    throw ShapeError("save_image: images need 1 (grey) or 3 (RGB) channels, got " + std::to_string(channels) +
                     " in " + to_string(s));
  if (n < 1 || h < 1 || w < 1) throw ShapeError("save_image: no pixels to write in " + to_string(s));
  if (options.nrow < 1 || options.padding < 0)
    throw ValueError("save_image: nrow must be >= 1 and padding >= 0, got nrow " + std::to_string(options.nrow) +
                     ", padding " + std::to_string(options.padding));
  const std::int64_t cols = std::min(n, options.nrow), rows = (n + options.nrow - 1) / options.nrow;
  const std::int64_t pad = options.padding;
  const std::int64_t width = cols * (w + pad) + pad, height = rows * (h + pad) + pad;
  if (width > (1 << 16) || height > (1 << 16))
    throw ValueError("save_image: a grid of " + std::to_string(width) + "x" + std::to_string(height) +
                     " pixels is too large; write fewer images or raise nrow");

  const int out_channels = channels == 1 ? 1 : 3;
  std::vector<unsigned char> pixels(static_cast<std::size_t>(width * height * out_channels),
                                    detail::to_byte(options.pad_value));
  const T* data = images.data_ptr();  // tensors are dense and row-major
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t top = pad + (i / cols) * (h + pad), left = pad + (i % cols) * (w + pad);
    for (std::int64_t c = 0; c < channels; ++c)
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t xx = 0; xx < w; ++xx) {
          const double v = static_cast<double>(data[((i * channels + c) * h + y) * w + xx]);
          pixels[static_cast<std::size_t>(((top + y) * width + left + xx) * out_channels + c)] = detail::to_byte(v);
        }
  }
  detail::write_file_atomically(detail::encode_png(pixels, width, height, out_channels), path, "save_image");
}

}  // namespace tapegrad

// PNG grids: the file's structure (signature, chunks, CRCs checked by zlib independently of
// the writer's order of calls), the pixels decoded back, the grid layout and the errors.
#include "../test_util.hpp"

#include <tapegrad/io/png.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace io_png_test {

using Bytes = std::vector<unsigned char>;

std::uint32_t be32(const Bytes& b, std::size_t at) {
  return (std::uint32_t(b[at]) << 24) | (std::uint32_t(b[at + 1]) << 16) | (std::uint32_t(b[at + 2]) << 8) | b[at + 3];
}

struct Decoded {
  std::uint32_t width = 0, height = 0;
  int colour_type = -1;
  Bytes rows;  // with each row's filter byte
  std::vector<std::string> chunk_types;
};

// A minimal PNG reader for the files the writer makes: walks the chunks, checks each CRC,
// inflates IDAT.
Decoded decode(const Bytes& png) {
  Decoded d;
  REQUIRE(png.size() > 8);
  REQUIRE(Bytes(png.begin(), png.begin() + 8) == Bytes{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
  Bytes idat;
  for (std::size_t at = 8; at + 12 <= png.size();) {
    const std::uint32_t length = be32(png, at);
    const std::string type(png.begin() + static_cast<std::ptrdiff_t>(at + 4), png.begin() + static_cast<std::ptrdiff_t>(at + 8));
    d.chunk_types.push_back(type);
    const uLong crc = crc32(0L, png.data() + at + 4, 4 + length);
    CHECK(crc == be32(png, at + 8 + length));
    const Bytes data(png.begin() + static_cast<std::ptrdiff_t>(at + 8), png.begin() + static_cast<std::ptrdiff_t>(at + 8 + length));
    if (type == "IHDR") {
      d.width = be32(data, 0);
      d.height = be32(data, 4);
      CHECK(data[8] == 8);
      d.colour_type = data[9];
    }
    if (type == "IDAT") idat.insert(idat.end(), data.begin(), data.end());
    at += 12 + length;
  }
  const int bpp = d.colour_type == 2 ? 3 : 1;
  uLongf size = (d.width * bpp + 1) * d.height;
  d.rows.resize(size);
  REQUIRE(uncompress(d.rows.data(), &size, idat.data(), static_cast<uLong>(idat.size())) == Z_OK);
  REQUIRE(size == d.rows.size());
  return d;
}

Bytes read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("tapegrad_png_test_" + name)).string();
}

TEST_CASE("save_image writes a grey grid whose pixels decode back", "[io][png]") {
  // Three 2x2 images, two per row, padding 1 of value 1.0 (white):
  // width = 2 * (2 + 1) + 1 = 7, height = 2 * (2 + 1) + 1 = 7.
  const auto images = tg::from_vector<double>({0.0, 0.5, 1.0, 2.0,  // clamped to 1
                                               0.25, 0.75, -1.0, 0.1,
                                               1.0, 1.0, 1.0, 1.0},
                                              {3, 1, 2, 2});
  const std::string path = temp_path("grey.png");
  tg::save_image(images, path, {2, 1, 1.0});
  const Decoded d = decode(read_all(path));
  CHECK(d.chunk_types == std::vector<std::string>{"IHDR", "IDAT", "IEND"});
  CHECK(d.width == 7);
  CHECK(d.height == 7);
  CHECK(d.colour_type == 0);
  auto pixel = [&](int x, int y) { return d.rows[static_cast<std::size_t>(y * (7 + 1) + 1 + x)]; };
  for (int y = 0; y < 7; ++y) CHECK(d.rows[static_cast<std::size_t>(y * 8)] == 0);  // filter "none"
  CHECK(pixel(0, 0) == 255);  // padding
  CHECK(pixel(1, 1) == 0);    // image 0 (0, 0)
  CHECK(pixel(2, 1) == 128);  // 0.5 * 255 = 127.5 rounds to 128
  CHECK(pixel(1, 2) == 255);
  CHECK(pixel(2, 2) == 255);  // 2.0 clamped
  CHECK(pixel(4, 1) == 64);   // image 1 at column 1: 0.25 * 255 = 63.75
  CHECK(pixel(5, 1) == 191);  // 0.75 * 255 = 191.25
  CHECK(pixel(4, 2) == 0);    // -1 clamped
  CHECK(pixel(5, 2) == 26);   // 0.1 * 255 = 25.5 rounds away from zero
  CHECK(pixel(1, 4) == 255);  // image 2 on the second row
  CHECK(pixel(4, 4) == 255);  // the empty cell is padding colour
  std::filesystem::remove(path);
}

TEST_CASE("save_image writes RGB images and single [H, W] images", "[io][png]") {
  // Planes R = (1, 0), G = (0, 1), B = (0, 0): pixel 0 red, pixel 1 green.
  const auto rgb = tg::from_vector<float>({1, 0, 0, 1, 0, 0}, {1, 3, 1, 2});
  const std::string path = temp_path("rgb.png");
  tg::save_image(rgb, path, {8, 0, 0.0});
  const Decoded d = decode(read_all(path));
  CHECK(d.colour_type == 2);
  CHECK(d.width == 2);
  CHECK(d.height == 1);
  CHECK(d.rows == Bytes{0, 255, 0, 0, 0, 255, 0});

  tg::save_image(tg::from_vector<double>({0.0, 1.0}, {1, 2}), path, {1, 0, 0.0});
  CHECK(decode(read_all(path)).rows == Bytes{0, 0, 255});
  std::filesystem::remove(path);
}

TEST_CASE("save_image rejects shapes and options it cannot draw", "[io][png]") {
  const std::string path = temp_path("bad.png");
  CHECK_THROWS_WITH(tg::save_image(tg::zeros<double>({4}), path), TG_CONTAINS("expected images [N, C, H, W]"));
  CHECK_THROWS_WITH(tg::save_image(tg::zeros<double>({2, 2, 3, 3}), path), TG_CONTAINS("1 (grey) or 3 (RGB) channels, got 2"));
  CHECK_THROWS_WITH(tg::save_image(tg::zeros<double>({0, 1, 3, 3}), path), TG_CONTAINS("no pixels"));
  CHECK_THROWS_WITH(tg::save_image(tg::zeros<double>({2, 1, 3, 3}), path, {0, 2, 0.0}), TG_CONTAINS("nrow must be >= 1"));
  CHECK_THROWS_AS(tg::save_image(tg::zeros<double>({1, 1, 2, 2}), "/nonexistent-dir/x.png"), tg::IOError);
  CHECK_FALSE(std::filesystem::exists(path));
}

}  // namespace io_png_test

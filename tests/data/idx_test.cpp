// IDX files (MNIST's format): hand-made headers and data of every type code, round trips,
// plain against gzip'd (ours and Python's gzip module), and each malformed or hostile
// file, checked for the tg::IOError and the words of its message.
#include "../test_util.hpp"

#include <tapegrad/data/idx.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace data_idx_test {

namespace td = tg::data;
using Bytes = std::vector<unsigned char>;

// A tg::IOError whose message contains `text`.
#define IDX_CHECK_FAILS(expr, text) TG_CHECK_THROWS(expr, tg::IOError, text)

// An IDX header: 00 00 <type> <ndims>, then the big-endian sizes.
Bytes header(std::uint8_t type, const std::vector<std::uint32_t>& dims) {
  Bytes b = {0, 0, type, static_cast<unsigned char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int k = 3; k >= 0; --k) b.push_back(static_cast<unsigned char>(d >> (8 * k)));
  return b;
}
Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
td::IdxArray parse(const Bytes& b) { return td::parse_idx(b.data(), b.size(), "t.idx"); }
Bytes gz(const Bytes& b) { return td::gzip_bytes(b.data(), b.size()); }

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("tapegrad_idx_test_" + name)).string();
}
void write_whole(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// [2, 2, 3] u8 holding 0, 20, ..., 220: what Python's gzip.compress(raw, mtime=0) makes of it.
const Bytes kPythonGzip = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63, 0x60, 0xe0, 0x60, 0x66,
                           0x60, 0x60, 0x60, 0x82, 0x62, 0x66, 0x06, 0x11, 0x0d, 0x9b, 0x80, 0x94, 0x8a, 0x9e, 0x05,
                           0x5b, 0x4e, 0xdc, 0x01, 0x00, 0xa6, 0x13, 0xe4, 0x5d, 0x1c, 0x00, 0x00, 0x00};
Bytes python_raw() {
  Bytes data;
  for (int v = 0; v < 240; v += 20) data.push_back(static_cast<unsigned char>(v));
  return cat(header(0x08, {2, 2, 3}), data);
}

TEST_CASE("idx: a hand-made u8 file parses to its type, sizes and values", "[data][idx]") {
  const td::IdxArray a = parse(python_raw());
  CHECK(a.type == td::IdxType::U8);
  CHECK(a.dims == tg::Shape{2, 2, 3});
  CHECK(a.numel() == 12);
  CHECK(a.value(0) == 0);
  CHECK(a.value(11) == 220);
  const Tensor t = a.to_tensor<double>();
  CHECK(t.shape() == tg::Shape{2, 2, 3});
  require_values(t, {0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 220});
}

TEST_CASE("idx: big-endian elements of every type code decode by hand", "[data][idx]") {
  // i8 0xFE = -2; i16 0xFF 0x38 = -200; i32 0x00 0x01 0x00 0x00 = 65536;
  // f32 0x3F 0xC0 0x00 0x00 = 1.5; f64 0xC0 0x04 0 ... = -2.5.
  CHECK(parse(cat(header(0x09, {1}), {0xFE})).value(0) == -2);
  CHECK(parse(cat(header(0x0B, {1}), {0xFF, 0x38})).value(0) == -200);
  CHECK(parse(cat(header(0x0C, {1}), {0x00, 0x01, 0x00, 0x00})).value(0) == 65536);
  CHECK(parse(cat(header(0x0D, {1}), {0x3F, 0xC0, 0x00, 0x00})).value(0) == 1.5);
  CHECK(parse(cat(header(0x0E, {1}), {0xC0, 0x04, 0, 0, 0, 0, 0, 0})).value(0) == -2.5);
  // The writer puts them back the same way.
  CHECK(td::idx_bytes(values({-200}, {1}), td::IdxType::I16) == cat(header(0x0B, {1}), {0xFF, 0x38}));
}

TEST_CASE("idx: every type code round-trips through idx_bytes and parse_idx", "[data][idx]") {
  struct Case {
    td::IdxType type;
    std::vector<double> v;
  };
  const Case cases[] = {
      {td::IdxType::U8, {0, 1, 128, 255}},
      {td::IdxType::I8, {-128, -1, 0, 127}},
      {td::IdxType::I16, {-32768, -300, 300, 32767}},
      {td::IdxType::I32, {-2147483648.0, -70000, 70000, 2147483647.0}},
      {td::IdxType::F32, {-0.5, 0.0, 3.25, 0x1p100}},
      {td::IdxType::F64, {-1e-300, 0.1, 1.0 / 3.0, 1e300}},
  };
  for (const Case& c : cases) {
    INFO("type " << td::idx_type_name(c.type));
    const Tensor t = values(c.v, {2, 2});
    const Bytes b = td::idx_bytes(t, c.type);
    CHECK(b.size() == 4 + 2 * 4 + 4 * td::idx_itemsize(static_cast<std::uint8_t>(c.type)));
    const td::IdxArray a = parse(b);
    CHECK(a.type == c.type);
    CHECK(a.dims == tg::Shape{2, 2});
    require_values(a.to_tensor<double>(), c.v, 0);
  }
}

TEST_CASE("idx: integer types read into int64; a fractional float does not", "[data][idx]") {
  const td::IdxArray a = parse(td::idx_bytes(values({-5, 7}, {2}), td::IdxType::I32));
  const tg::Tensor<std::int64_t> t = a.to_tensor<std::int64_t>();
  CHECK(t.data_ptr()[0] == -5);
  CHECK(t.data_ptr()[1] == 7);
  const td::IdxArray f = parse(td::idx_bytes(values({1, 2.5}, {2}), td::IdxType::F32));
  IDX_CHECK_FAILS(f.to_tensor<std::int64_t>(), "element 1 (2.500000) is not a whole number");
}

TEST_CASE("idx: gzip'd and plain files give identical tensors", "[data][idx]") {
  // Python's gzip, ours, and two gzip members back to back (`cat a.gz b.gz`).
  const td::IdxArray plain = parse(python_raw());
  const Bytes raw = python_raw();
  const Bytes half1(raw.begin(), raw.begin() + 9), half2(raw.begin() + 9, raw.end());
  for (const Bytes& g : {kPythonGzip, gz(raw), cat(gz(half1), gz(half2))}) {
    const td::IdxArray z = parse(g);
    CHECK(z.type == plain.type);
    CHECK(z.dims == plain.dims);
    CHECK(z.bytes == plain.bytes);
  }
  // Through files: the .gz name is not what decides, the content is.
  const std::string p = temp_path("plain.idx"), g = temp_path("zipped.idx"), named = temp_path("named.gz");
  write_whole(p, raw);
  write_whole(g, kPythonGzip);
  write_whole(named, raw);
  const tg::Tensor<float> a = td::read_idx_images<float>(p), b = td::read_idx_images<float>(g),
                          c = td::read_idx_images<float>(named);
  REQUIRE(a.shape() == tg::Shape{2, 2, 3});
  CHECK(b.shape() == a.shape());
  CHECK(std::memcmp(a.data_ptr(), b.data_ptr(), 12 * sizeof(float)) == 0);
  CHECK(std::memcmp(a.data_ptr(), c.data_ptr(), 12 * sizeof(float)) == 0);
  std::remove(p.c_str());
  std::remove(g.c_str());
  std::remove(named.c_str());
}

TEST_CASE("idx: images are scaled to [0, 1], optionally with a channel dimension", "[data][idx]") {
  const td::IdxArray a = parse(cat(header(0x08, {1, 1, 3}), {0, 51, 255}));
  const tg::Tensor<double> x = td::idx_images<double>(a);
  CHECK(x.shape() == tg::Shape{1, 1, 3});
  require_values(x, {0.0, 0.2, 1.0}, 1e-15);  // 51 / 255 = 0.2
  CHECK(td::idx_images<float>(a, "t", true).shape() == tg::Shape{1, 1, 1, 3});
  IDX_CHECK_FAILS(td::idx_labels(a, "a.idx"), "labels are one-dimensional integers");
  const td::IdxArray labels = parse(cat(header(0x08, {3}), {0, 9, 4}));
  IDX_CHECK_FAILS(td::idx_images<float>(labels, "l.idx"), "images are u8 [N, rows, cols], this array is u8 [3]");
  const tg::Tensor<std::int64_t> y = td::idx_labels(labels);
  CHECK(y.shape() == tg::Shape{3});
  CHECK(y.data_ptr()[1] == 9);
  IDX_CHECK_FAILS(td::check_same_count(x, y, "\"img\"", "\"lab\""), "\"img\" has 1 images but \"lab\" has 3 labels");
}

TEST_CASE("idx: a wrong magic, type code or number of dimensions names the byte", "[data][idx]") {
  IDX_CHECK_FAILS(parse({}), "idx: t.idx: at byte 0: the file has 0 bytes, too few for the 4-byte IDX magic");
  IDX_CHECK_FAILS(parse({0, 0, 8}), "the file has 3 bytes");
  IDX_CHECK_FAILS(parse(cat({0x01, 0x00, 0x08, 0x01}, {0, 0, 0, 0})), "at byte 0: not an IDX file");
  IDX_CHECK_FAILS(parse(cat(header(0x0A, {1}), {0})), "at byte 2: unknown element type code 0x0A (known: 0x08 u8");
  IDX_CHECK_FAILS(parse(header(0x08, {})), "at byte 3: 0 dimensions; this reader takes 1 to 8");
  IDX_CHECK_FAILS(parse(header(0x08, {1, 1, 1, 1, 1, 1, 1, 1, 1})), "at byte 3: 9 dimensions");
  IDX_CHECK_FAILS(parse({0, 0, 8, 2, 0, 0, 0, 1, 0, 0}), "at byte 10: the file ends inside the size of dimension 1");
  IDX_CHECK_FAILS(parse({0x1f}), "too few for the 4-byte IDX magic");  // half a gzip magic is not gzip
}

TEST_CASE("idx: truncated data and trailing bytes give both counts", "[data][idx]") {
  IDX_CHECK_FAILS(parse(cat(header(0x0B, {2, 3}), Bytes(11))),
                  "at byte 12: sizes 2 x 3 of i16 need 12 bytes of data, the file has 11 (truncated?)");
  IDX_CHECK_FAILS(parse(cat(header(0x08, {2}), {1, 2, 3})), "at byte 10: 1 bytes after the data (sizes 2 of u8 need 2");
  // gzip'd: the offsets are in the decompressed data.
  IDX_CHECK_FAILS(parse(gz(cat(header(0x0B, {2, 3}), Bytes(11)))), "at byte 23: sizes 2 x 3 of i16 need 12 bytes of data, the file has 11");
  IDX_CHECK_FAILS(parse(gz(cat(header(0x08, {2}), {1, 2, 3, 4}))), "at byte 10: 2 bytes after the data");
  // A zero size: an empty array, and then any data is trailing.
  const td::IdxArray empty = parse(header(0x0D, {0, 4000000000u}));
  CHECK(empty.numel() == 0);
  CHECK(empty.to_tensor<float>().shape() == tg::Shape{0, 4000000000});
  IDX_CHECK_FAILS(parse(cat(header(0x08, {4000000000u, 0}), {7})), "1 bytes after the data");
  // Even an empty array's other sizes must multiply within 64 bits (they become strides).
  IDX_CHECK_FAILS(parse(header(0x08, {0xFFFFFFFFu, 0xFFFFFFFFu, 0, 4})), "the product of the nonzero sizes overflows 64 bits");
}

TEST_CASE("idx: sizes claiming more than the input are refused before allocating", "[data][idx]") {
  // 2^32 items in a 20-byte file (12 header bytes + 8 of data), plain and gzip'd.
  const Bytes claim = cat(header(0x08, {65536, 65536}), Bytes(8));
  REQUIRE(claim.size() == 20);
  IDX_CHECK_FAILS(parse(claim), "sizes 65536 x 65536 of u8 need 4294967296 bytes of data, the file has 8");
  IDX_CHECK_FAILS(parse(gz(claim)), "need 4294967296 bytes of data, the file has 8");
  // Past IdxOptions::max_bytes (4 GiB), and a product that overflows 64 bits.
  IDX_CHECK_FAILS(parse(header(0x0E, {65536, 65536})), "sizes 65536 x 65536 of f64 need more than 4294967296 bytes");
  const std::uint32_t big = 0xFFFFFFFFu;
  IDX_CHECK_FAILS(parse(header(0x08, {big, big, big, big, big, big, big, big})), "need more than 4294967296 bytes");
  td::IdxOptions small;
  small.max_bytes = 5;
  const Bytes six = cat(header(0x08, {6}), Bytes(6));
  IDX_CHECK_FAILS(td::parse_idx(six.data(), six.size(), "s", small), "need more than 5 bytes (IdxOptions::max_bytes)");
}

TEST_CASE("idx: a corrupt, truncated or padded gzip stream gives zlib's reason", "[data][idx]") {
  Bytes corrupt = kPythonGzip;
  corrupt[10] = 0xFF;  // the first deflate block header: BTYPE 11 is reserved
  IDX_CHECK_FAILS(parse(corrupt), "gzip: t.idx: corrupt gzip stream at compressed byte");
  IDX_CHECK_FAILS(parse(corrupt), "invalid block type");
  Bytes bad_crc = kPythonGzip;
  bad_crc[bad_crc.size() - 8] ^= 1;  // the CRC-32 of the trailer
  IDX_CHECK_FAILS(parse(bad_crc), "incorrect data check");
  const Bytes truncated(kPythonGzip.begin(), kPythonGzip.end() - 3);
  IDX_CHECK_FAILS(parse(truncated), "the gzip stream ends early, at compressed byte 40");
  IDX_CHECK_FAILS(parse(cat(kPythonGzip, {0, 0})), "2 bytes after the end of the gzip stream (at compressed byte 43)");
  IDX_CHECK_FAILS(parse({0x1f, 0x8b}), "the gzip stream ends early");
}

TEST_CASE("idx: gunzip caps what a stream may expand to", "[data][idx]") {
  const Bytes zeros(100000, 0);
  const Bytes z = gz(zeros);
  CHECK(z.size() < 1000);  // deflate shrinks runs about 1000 times
  CHECK(td::gunzip(z.data(), z.size(), "z") == zeros);
  IDX_CHECK_FAILS(td::gunzip(z.data(), z.size(), "z", 99999), "gzip: z: decompresses to more than 99999 bytes");
  IDX_CHECK_FAILS(td::gunzip(zeros.data(), 10, "z"), "not a gzip stream");
  CHECK_THROWS_AS(td::gzip_bytes(zeros.data(), 1, 10), tg::ValueError);
}

TEST_CASE("idx: files: save_idx writes what read_idx reads; a missing file is named", "[data][idx]") {
  const std::string p = temp_path("labels.idx.gz");
  td::save_idx(values({3, 1, 4, 1, 5}, {5}), p, td::IdxType::U8, true);
  {
    std::ifstream in(p, std::ios::binary);
    CHECK(in.get() == 0x1f);  // gzip'd as asked
  }
  const tg::Tensor<std::int64_t> y = td::read_idx_labels(p);
  CHECK(std::vector<std::int64_t>(y.data_ptr(), y.data_ptr() + 5) == std::vector<std::int64_t>{3, 1, 4, 1, 5});
  std::remove(p.c_str());
  IDX_CHECK_FAILS(td::read_idx(temp_path("absent.idx")), "read_idx: cannot open \"");
  IDX_CHECK_FAILS(td::read_idx_images<float>(temp_path("absent.idx")), "absent.idx\" for reading");
}

TEST_CASE("idx: the header alone: type and sizes without the data", "[data][idx]") {
  // Even of a file whose data is cut off, and from the first 64 KiB of a gzip'd file.
  const td::IdxHeader h = td::parse_idx_header(kPythonGzip.data(), 30, "h");
  CHECK(h.type == td::IdxType::U8);
  CHECK(h.dims == tg::Shape{2, 2, 3});
  const std::string p = temp_path("big.idx.gz");
  td::save_idx(tg::zeros<double>({300, 400, 5}), p, td::IdxType::I16, true);
  const td::IdxHeader big = td::read_idx_header(p);
  CHECK(big.type == td::IdxType::I16);
  CHECK(big.dims == tg::Shape{300, 400, 5});
  std::remove(p.c_str());
  IDX_CHECK_FAILS(td::parse_idx_header(kPythonGzip.data(), 12, "h"), "the gzip stream ends early");
  IDX_CHECK_FAILS(td::read_idx_header(p), "read_idx_header: cannot open");
}

TEST_CASE("idx: idx_bytes refuses values the type cannot hold", "[data][idx]") {
  CHECK_THROWS_WITH(td::idx_bytes(values({256}, {1}), td::IdxType::U8), TG_CONTAINS("element 0 (256) does not fit u8"));
  CHECK_THROWS_WITH(td::idx_bytes(values({0.5}, {1}), td::IdxType::I32), TG_CONTAINS("does not fit i32"));
  CHECK_THROWS_WITH(td::idx_bytes(values({0.1}, {1}), td::IdxType::F32), TG_CONTAINS("is not exactly a float"));
  CHECK_THROWS_AS(td::idx_bytes(tg::scalar_tensor<double>(1.0), td::IdxType::F64), tg::ValueError);
}

}  // namespace data_idx_test

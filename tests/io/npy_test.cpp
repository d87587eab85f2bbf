// NumPy .npy and .npz: round trips of every dtype, the exact bytes np.save writes, the
// headers and dtypes other writers produce, archives made by Python's zipfile (deflated,
// as np.savez_compressed writes them) and by hand, and every kind of corrupt or hostile
// file, each a tg::IOError naming the problem.
#include "../test_util.hpp"

#include <tapegrad/io.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace io_npy_test {

using Bytes = std::vector<unsigned char>;

// A tg::IOError whose message contains `text`.
#define NPY_CHECK_FAILS(expr, text) TG_CHECK_THROWS(expr, tg::IOError, text)

Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }
void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }
void put_le(Bytes& out, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<unsigned char>(v >> (8 * i)));
}
void put_be(Bytes& out, std::uint64_t v, int n) {
  for (int i = n; i-- > 0;) out.push_back(static_cast<unsigned char>(v >> (8 * i)));
}
std::uint64_t bits_of(double v) {
  std::uint64_t b;
  std::memcpy(&b, &v, 8);
  return b;
}
std::uint32_t bits_of(float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, 4);
  return b;
}
void patch_le(Bytes& b, std::size_t at, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b[at + i] = static_cast<unsigned char>(v >> (8 * i));
}
std::uint32_t get_le(const Bytes& b, std::size_t at, int n) {
  std::uint32_t v = 0;
  for (int i = n; i-- > 0;) v = (v << 8) | b[at + i];
  return v;
}
Bytes read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void write_whole(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
bool exists(const std::string& path) { return std::filesystem::exists(path); }

// A .npy image from a header dict text, padded as the format says (spaces, then '\n',
// so that the data starts at a multiple of `align`); `claimed` overrides the length field.
Bytes npy_image(const std::string& dict, const Bytes& data, int major = 1, std::size_t align = 64,
                std::int64_t claimed = -1) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % align != 0) header += ' ';
  header += '\n';
  Bytes out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<unsigned char>(major), 0};
  put_le(out, claimed >= 0 ? static_cast<std::uint64_t>(claimed) : header.size(), major == 1 ? 2 : 4);
  append(out, bytes_of(header));
  append(out, data);
  return out;
}
std::string dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
}
template <typename T>
tg::Tensor<T> load(const Bytes& b) {
  return tg::load_npy_from_memory<T>(b.data(), b.size(), "test.npy");
}
template <typename T>
tg::StateDict<T> load_npz(const Bytes& b) {
  return tg::load_npz_from_memory<T>(b.data(), b.size(), "test.npz");
}
template <typename T>
bool same_bits(const tg::Tensor<T>& a, const tg::Tensor<T>& b) {
  // memcmp of zero bytes still needs non-null pointers, and an empty tensor has none.
  return a.shape() == b.shape() &&
         (a.numel() == 0 || std::memcmp(a.data_ptr(), b.data_ptr(), sizeof(T) * static_cast<std::size_t>(a.numel())) == 0);
}

// ---------------------------------------------------------------- .npy round trips

// The descr NumPy gives each type, written out by hand (not by the code under test).
template <typename T>
std::string expected_descr() {
  if constexpr (std::is_same_v<T, float>) return "<f4";
  else if constexpr (std::is_same_v<T, double>) return "<f8";
  else if constexpr (std::is_same_v<T, bool>) return "|b1";
  else if constexpr (std::is_same_v<T, std::int8_t>) return "|i1";
  else if constexpr (std::is_same_v<T, std::int16_t>) return "<i2";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "<i4";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "<i8";
  else if constexpr (std::is_same_v<T, std::uint8_t>) return "|u1";
  else if constexpr (std::is_same_v<T, std::uint16_t>) return "<u2";
  else if constexpr (std::is_same_v<T, std::uint32_t>) return "<u4";
  else return "<u8";
}

// Element i of a test tensor: the type's extremes and oddities first, then a pattern.
template <typename T>
T sample(std::int64_t i) {
  using L = std::numeric_limits<T>;
  if constexpr (std::is_same_v<T, bool>) {
    return i % 3 != 1;
  } else if constexpr (std::is_floating_point_v<T>) {
    const T special[] = {T(0), -T(0), L::infinity(), -L::infinity(), L::quiet_NaN(), L::denorm_min(), L::max(),
                         L::lowest(), L::epsilon(), T(-1.5)};
    return i < 10 ? special[i] : T(i) * T(0.37) - T(3);
  } else {
    const T special[] = {L::min(), L::max(), T(0), T(1), static_cast<T>(L::max() - 1)};
    return i < 5 ? special[i] : static_cast<T>(i * 37 + 11);
  }
}
template <typename T>
tg::Tensor<T> sample_tensor(const tg::Shape& shape) {
  tg::Tensor<T> t = tg::empty<T>(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data_ptr()[i] = sample<T>(i);
  return t;
}

TEMPLATE_TEST_CASE("npy: every dtype round trips bit-identically with its shape and NumPy's descr", "[npy]", float,
                   double, bool, std::int8_t, std::int16_t, std::int32_t, std::int64_t, std::uint8_t, std::uint16_t,
                   std::uint32_t, std::uint64_t) {
  using T = TestType;
  for (const tg::Shape& shape : {tg::Shape{}, tg::Shape{0, 3}, tg::Shape{7}, tg::Shape{2, 3, 4}}) {
    INFO("shape " << tg::to_string(shape));
    const tg::Tensor<T> t = sample_tensor<T>(shape);
    const Bytes image = tg::npy_bytes(t);
    const tg::NpyHeader h = tg::read_npy_header(image.data(), image.size());
    CHECK(h.descr == expected_descr<T>());
    CHECK(h.shape == shape);
    CHECK_FALSE(h.fortran_order);
    CHECK(h.major == 1);
    CHECK(h.data_start % 64 == 0);
    CHECK(image.size() == h.data_start + sizeof(T) * static_cast<std::size_t>(t.numel()));
    const tg::Tensor<T> back = load<T>(image);
    CHECK(back.shape() == shape);
    CHECK(same_bits(back, t));
  }
  // And through a file: save_npy leaves no "<path>.tmp" behind.
  const std::string path = "tapegrad_test_npy_roundtrip.npy";
  const tg::Tensor<T> t = sample_tensor<T>({3, 5});
  tg::save_npy(t, path);
  CHECK_FALSE(exists(path + ".tmp"));
  CHECK(same_bits(tg::load_npy<T>(path), t));
  CHECK(read_whole(path) == tg::npy_bytes(t));
  std::remove(path.c_str());
}

// ---------------------------------------------------------------- the bytes np.save writes

TEST_CASE("npy: save writes the bytes np.save writes", "[npy]") {
  // np.save("a.npy", np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)): the magic, version
  // 1.0, the header length 118 (0x76) little-endian, the dict with its keys sorted, then
  // 21 - len("2") = 20 spaces of room for shape[0] to grow (numpy/lib/format.py,
  // GROWTH_AXIS_MAX_DIGITS) and 38 more so that with the '\n' the data starts at 128.
  const std::string header_2x3 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + std::string(58, ' ') + "\n";
  REQUIRE(header_2x3.size() == 118);
  Bytes expected = bytes_of(std::string("\x93NUMPY\x01\x00\x76\x00", 10) + header_2x3);
  for (float v : {1.f, 2.f, 3.f, 4.f, 5.f, 6.f}) put_le(expected, bits_of(v), 4);
  CHECK(tg::npy_bytes(tg::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3})) == expected);

  // A 1-tuple prints as "(3,)"; room for the first dimension again, 40 spaces of padding.
  const std::string header_3 = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }" + std::string(20 + 40, ' ') + "\n";
  REQUIRE(header_3.size() == 118);
  expected = bytes_of(std::string("\x93NUMPY\x01\x00\x76\x00", 10) + header_3);
  for (std::int64_t v : {-1, 0, 7}) put_le(expected, static_cast<std::uint64_t>(v), 8);
  CHECK(tg::npy_bytes(tg::from_vector<std::int64_t>({-1, 0, 7})) == expected);

  // A 0-d array: "()", and no room to grow (it has no first dimension).
  const std::string header_0d = "{'descr': '<f8', 'fortran_order': False, 'shape': (), }" + std::string(62, ' ') + "\n";
  REQUIRE(header_0d.size() == 118);
  expected = bytes_of(std::string("\x93NUMPY\x01\x00\x76\x00", 10) + header_0d);
  put_le(expected, bits_of(-2.5), 8);
  CHECK(tg::npy_bytes(tg::scalar_tensor<double>(-2.5)) == expected);

  // bool is '|b1', one byte each (byte order "not applicable").
  const std::string header_b = "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }" + std::string(60, ' ') + "\n";
  tg::Tensor<bool> flags = tg::empty<bool>({2});
  flags.data_ptr()[0] = true;
  flags.data_ptr()[1] = false;
  CHECK(tg::npy_bytes(flags) == bytes_of(std::string("\x93NUMPY\x01\x00\x76\x00", 10) + header_b + std::string("\x01\x00", 2)));

  // When magic + length + dict + '\n' already end on a multiple of 64, NumPy still pads a
  // full 64 (padlen = 64 - (n % 64)): this 14-d shape's dict with its 20 spaces is 117
  // characters, 10 + 117 + 1 = 128, so the header is 117 + 64 + 1 = 182 bytes, data at 192.
  tg::Shape wide = {2, 100};
  wide.insert(wide.end(), 12, 1);
  const Bytes image = tg::npy_bytes(tg::zeros<float>(wide));
  const std::string dict_wide = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 100, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), }";
  REQUIRE(dict_wide.size() + 20 == 117);
  CHECK(get_le(image, 8, 2) == 182);
  CHECK(std::string(image.begin() + 10, image.begin() + 192) == dict_wide + std::string(20 + 64, ' ') + "\n");
  CHECK(image.size() == 192 + 200 * 4);
}

// ---------------------------------------------------------------- what other writers produce

TEST_CASE("npy: reads format versions 2.0 and 3.0, other spellings of the header, old alignments", "[npy]") {
  Bytes data;
  for (double v : {1.5, -2.0, 3.25}) put_le(data, bits_of(v), 8);
  const std::vector<double> want = {1.5, -2.0, 3.25};
  // 2.0 and 3.0 have a 4-byte header length (3.0's header is UTF-8; NumPy writes them for
  // headers over 64 KB or with non-Latin-1 field names).
  for (int major : {2, 3}) {
    INFO("version " << major);
    const Bytes image = npy_image(dict("<f8", "(3,)"), data, major);
    const tg::NpyHeader h = tg::read_npy_header(image.data(), image.size());
    CHECK(h.major == major);
    CHECK(h.data_start == 128);
    CHECK(load<double>(image).to_vector() == want);
  }
  // Key order, quotes, spacing, Python 2's 'L' suffixes and the 16-byte alignment of old
  // NumPy are all the reader's business, not the writer's.
  CHECK(load<double>(npy_image("{'shape': (3,), 'fortran_order': False, 'descr': '<f8'}", data)).to_vector() == want);
  CHECK(load<double>(npy_image("{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (3,)}", data)).to_vector() == want);
  CHECK(load<double>(npy_image("{'descr':'<f8','fortran_order':False,'shape':(3L,),}", data, 1, 16)).to_vector() == want);
  CHECK(load<double>(npy_image("  {'descr': '<f8',\n 'fortran_order': False, 'shape': (3,)}  \t", data, 1, 1)).to_vector() == want);
  const Bytes two_d = npy_image("{'descr': '<f8', 'fortran_order': False, 'shape': (1L, 3L), }", data);
  CHECK(load<double>(two_d).shape() == tg::Shape{1, 3});
}

TEST_CASE("npy: Fortran order reads as the C-order transpose", "[npy]") {
  // The file holds 0, 1, ..., 23 with the first dimension fastest: as NumPy reads it
  // (array.shape = shape[::-1]; array.transpose()), the C-order (4, 3, 2) array of the
  // same bytes, its axes reversed.
  Bytes data;
  for (int i = 0; i < 24; ++i) put_le(data, bits_of(double(i)), 8);
  const auto f = load<double>(npy_image(dict("<f8", "(2, 3, 4)", true), data));
  const auto c = load<double>(npy_image(dict("<f8", "(4, 3, 2)"), data));
  REQUIRE(f.shape() == tg::Shape{2, 3, 4});
  CHECK(f.to_vector() == tg::permute(c, {2, 1, 0}).to_vector());
  CHECK(f.at({1, 2, 3}) == 1 + 2 * 2 + 3 * 6);  // index (i, j, k) is at i + 2j + 6k in the file
  CHECK(f.at({0, 1, 0}) == 2);

  // Two dimensions, an integer dtype converted on the way, and big-endian.
  Bytes ints;
  for (std::int64_t v : {1, 2, 3, 4, 5, 6}) put_be(ints, static_cast<std::uint64_t>(v), 4);
  const auto m = load<std::int32_t>(npy_image(dict(">i4", "(2, 3)", true), ints));
  CHECK(m.to_vector() == std::vector<std::int32_t>{1, 3, 5, 2, 4, 6});
  // One dimension (and 0-d, and empty): Fortran order is C order.
  CHECK(load<double>(npy_image(dict("<f8", "(24,)", true), data)).to_vector() == c.to_vector());
  CHECK(load<double>(npy_image(dict("<f8", "()", true), Bytes(data.begin(), data.begin() + 8))).item() == 0.0);
  CHECK(load<double>(npy_image(dict("<f8", "(3, 0)", true), {})).shape() == tg::Shape{3, 0});
}

TEST_CASE("npy: big-endian, half, bool and byte dtypes convert to T", "[npy]") {
  Bytes be;
  for (double v : {1.5, -2.0, 1e300}) put_be(be, bits_of(v), 8);
  CHECK(load<double>(npy_image(dict(">f8", "(3,)"), be)).to_vector() == std::vector<double>{1.5, -2.0, 1e300});
  // Into float, a double beyond float's range is infinite (as NumPy's astype makes it).
  CHECK(load<float>(npy_image(dict(">f8", "(3,)"), be)).to_vector() ==
        std::vector<float>{1.5f, -2.0f, std::numeric_limits<float>::infinity()});
  Bytes be16;
  for (std::int64_t v : {-2, 300}) put_be(be16, static_cast<std::uint64_t>(v), 2);
  CHECK(load<std::int16_t>(npy_image(dict(">i2", "(2,)"), be16)).to_vector() == std::vector<std::int16_t>{-2, 300});
  CHECK(load<double>(npy_image(dict(">i2", "(2,)"), be16)).to_vector() == std::vector<double>{-2, 300});
  Bytes beu;
  put_be(beu, 0xDEADBEEF, 4);
  CHECK(load<std::uint32_t>(npy_image(dict(">u4", "()"), beu)).item() == 0xDEADBEEFu);
  CHECK(load<std::int64_t>(npy_image(dict(">u4", "()"), beu)).item() == 0xDEADBEEFll);

  // IEEE half: 1, -2, the largest (65504), the smallest subnormal (2^-24), +-inf, -0, 1/3
  // rounded (0x3555 = 0.333251953125), NaN.
  Bytes half;
  for (unsigned v : {0x3C00u, 0xC000u, 0x7BFFu, 0x0001u, 0x7C00u, 0xFC00u, 0x8000u, 0x3555u, 0x7E00u}) put_le(half, v, 2);
  const auto h = load<double>(npy_image(dict("<f2", "(9,)"), half));
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(std::vector<double>(h.data_ptr(), h.data_ptr() + 8) ==
        std::vector<double>{1, -2, 65504, std::ldexp(1.0, -24), inf, -inf, -0.0, 0.333251953125});
  CHECK(std::signbit(h.data_ptr()[6]));
  CHECK(std::isnan(h.data_ptr()[8]));
  CHECK(load<float>(npy_image(dict("<f2", "(9,)"), half)).data_ptr()[2] == 65504.0f);
  // Into an integer: exact halves convert, others are refused.
  Bytes two_halves;
  put_le(two_halves, 0x3C00, 2);
  put_le(two_halves, 0xC000, 2);
  CHECK(load<std::int8_t>(npy_image(dict("<f2", "(2,)"), two_halves)).to_vector() == std::vector<std::int8_t>{1, -2});
  NPY_CHECK_FAILS(load<std::int32_t>(npy_image(dict("<f2", "(9,)"), half)),
                  "element 3 (5.9604644775390625e-08) of dtype '<f2' does not convert exactly to <i4");

  // '|b1': any nonzero byte is True, as NumPy reads it; a bool tensor holds only 0 and 1.
  const Bytes b1 = {0, 1, 2, 255};
  const auto flags = load<bool>(npy_image(dict("|b1", "(4,)"), b1));
  REQUIRE(flags.numel() == 4);
  unsigned char stored[4];
  std::memcpy(stored, flags.data_ptr(), 4);
  CHECK(std::vector<unsigned char>(stored, stored + 4) == std::vector<unsigned char>{0, 1, 1, 1});
  CHECK(load<float>(npy_image(dict("|b1", "(4,)"), b1)).to_vector() == std::vector<float>{0, 1, 1, 1});
  CHECK(load<std::int64_t>(npy_image(dict("|b1", "(4,)"), b1)).to_vector() == std::vector<std::int64_t>{0, 1, 1, 1});

  // '|u1' and '|i1'.
  const Bytes u1 = {0, 200, 255};
  CHECK(load<std::uint8_t>(npy_image(dict("|u1", "(3,)"), u1)).to_vector() == std::vector<std::uint8_t>{0, 200, 255});
  CHECK(load<std::int16_t>(npy_image(dict("|u1", "(3,)"), u1)).to_vector() == std::vector<std::int16_t>{0, 200, 255});
  CHECK(load<double>(npy_image(dict("|u1", "(3,)"), u1)).to_vector() == std::vector<double>{0, 200, 255});
  NPY_CHECK_FAILS(load<std::int8_t>(npy_image(dict("|u1", "(3,)"), u1)), "element 1 (200) of dtype '|u1' does not convert exactly to |i1");
  const Bytes i1 = {0x80, 0x7F};
  CHECK(load<std::int64_t>(npy_image(dict("|i1", "(2,)"), i1)).to_vector() == std::vector<std::int64_t>{-128, 127});
  NPY_CHECK_FAILS(load<std::uint8_t>(npy_image(dict("|i1", "(2,)"), i1)), "element 0 (-128) of dtype '|i1'");
}

TEST_CASE("npy: into an integer or bool T a value must convert exactly", "[npy]") {
  auto f8 = [](std::initializer_list<double> values) {
    Bytes data;
    for (double v : values) put_le(data, bits_of(v), 8);
    return npy_image(dict("<f8", "(" + std::to_string(values.size()) + ",)"), data);
  };
  auto i8 = [](std::initializer_list<std::int64_t> values) {
    Bytes data;
    for (std::int64_t v : values) put_le(data, static_cast<std::uint64_t>(v), 8);
    return npy_image(dict("<i8", "(" + std::to_string(values.size()) + ",)"), data);
  };
  const double two63 = std::ldexp(1.0, 63);
  CHECK(load<std::int32_t>(f8({3.0, -4.0, -0.0})).to_vector() == std::vector<std::int32_t>{3, -4, 0});
  CHECK(load<std::int64_t>(f8({-two63})).item() == std::numeric_limits<std::int64_t>::min());
  NPY_CHECK_FAILS(load<std::int32_t>(f8({3.0, 3.5})), "element 1 (3.5) of dtype '<f8' does not convert exactly to <i4");
  NPY_CHECK_FAILS(load<std::int64_t>(f8({two63})), "(9.2233720368547758e+18) of dtype '<f8' does not convert exactly to <i8");
  NPY_CHECK_FAILS(load<std::int64_t>(f8({std::nan("")})), "element 0 (nan)");
  NPY_CHECK_FAILS(load<std::uint8_t>(f8({256.0})), "element 0 (256)");
  NPY_CHECK_FAILS(load<std::uint16_t>(f8({-1.0})), "element 0 (-1)");
  NPY_CHECK_FAILS(load<std::int16_t>(f8({1e-300})), "element 0 (1e-300)");
  CHECK(load<std::int8_t>(i8({-128, 127})).to_vector() == std::vector<std::int8_t>{-128, 127});
  NPY_CHECK_FAILS(load<std::int8_t>(i8({127, 128})), "element 1 (128) of dtype '<i8' does not convert exactly to |i1");
  NPY_CHECK_FAILS(load<std::uint64_t>(i8({-1})), "element 0 (-1) of dtype '<i8' does not convert exactly to <u8");
  Bytes u8;
  put_le(u8, ~std::uint64_t(0), 8);
  CHECK(load<std::uint64_t>(npy_image(dict("<u8", "()"), u8)).item() == ~std::uint64_t(0));
  NPY_CHECK_FAILS(load<std::int64_t>(npy_image(dict("<u8", "()"), u8)), "element 0 (18446744073709551615)");
  // bool takes 0 and 1 only.
  const auto b = load<bool>(i8({0, 1}));
  CHECK_FALSE(b.data_ptr()[0]);
  CHECK(b.data_ptr()[1]);
  NPY_CHECK_FAILS(load<bool>(i8({0, 2})), "element 1 (2) of dtype '<i8' does not convert exactly to |b1");
  NPY_CHECK_FAILS(load<bool>(f8({0.5})), "element 0 (0.5)");
}

// ---------------------------------------------------------------- hostile .npy files

TEST_CASE("npy: corrupt, truncated and hostile files are IOErrors naming the problem", "[npy]") {
  Bytes f4;
  for (float v : {1.f, 2.f}) put_le(f4, bits_of(v), 4);
  const Bytes good = npy_image(dict("<f4", "(2,)"), f4);
  REQUIRE(load<float>(good).to_vector() == std::vector<float>{1, 2});
  auto with_dict = [](const std::string& d, const Bytes& data) { return npy_image(d, data); };

  // The preamble.
  NPY_CHECK_FAILS(tg::read_npy_header(nullptr, 0, "test.npy"), "npy: test.npy: the file has 0 bytes");
  NPY_CHECK_FAILS(load<float>(bytes_of("PK\x03\x04 not npy at all")), "npy: test.npy: not a .npy file");
  NPY_CHECK_FAILS(load<float>(bytes_of("\x93NUMPZ\x01\x00")), "not a .npy file");
  Bytes v4 = good;
  v4[6] = 4;
  NPY_CHECK_FAILS(load<float>(v4), "unknown .npy format version 4.0 (this reader knows 1.0, 2.0 and 3.0)");
  Bytes v11 = good;
  v11[7] = 1;
  NPY_CHECK_FAILS(load<float>(v11), "unknown .npy format version 1.1");
  NPY_CHECK_FAILS(load<float>(Bytes(good.begin(), good.begin() + 9)), "the file has 9 bytes, too few for a .npy preamble");
  NPY_CHECK_FAILS(load<float>(bytes_of(std::string("\x93NUMPY\x02\x00\x10\x00", 10))), "the file ends inside the header length");
  NPY_CHECK_FAILS(load<float>(npy_image(dict("<f4", "(2,)"), f4, 1, 64, 1000)),
                  "the header length 1000 runs past the end of the file (136 bytes; truncated?)");
  NPY_CHECK_FAILS(load<float>(npy_image(dict("<f4", "(2,)"), f4, 2, 64, 0xFFFFFFFF)), "the header length 4294967295 runs past");
  // A header cut short inside its length.
  NPY_CHECK_FAILS(load<float>(npy_image("{'descr': '<f4', 'fortr", {})), "cannot parse the header: an unterminated string");

  // The dict.
  NPY_CHECK_FAILS(load<float>(with_dict("[1, 2]", f4)), "the header is not a Python dict literal");
  NPY_CHECK_FAILS(load<float>(with_dict("{'descr': '<f4' 'fortran_order': False}", f4)), "cannot parse the header: expected ',' or '}'");
  NPY_CHECK_FAILS(load<float>(with_dict("{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", f4)), "expected ',' or '}'");
  NPY_CHECK_FAILS(load<float>(with_dict("{'descr': '<f4", f4)), "an unterminated string");
  NPY_CHECK_FAILS(load<float>(with_dict("{1: 2}", f4)), "expected a string key");
  NPY_CHECK_FAILS(load<float>(with_dict("{'descr': np.float32, 'fortran_order': False, 'shape': (2,)}", f4)), "unexpected 'n'");
  NPY_CHECK_FAILS(load<float>(with_dict(dict("<f4", "(2,)") + " x", f4)), "unexpected text after the dict");
  NPY_CHECK_FAILS(load<float>(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': ((((((((((2,),),),),),),),),),)}", f4)),
                  "nesting deeper than 8");
  NPY_CHECK_FAILS(load<float>(with_dict("{'descr': '<f4', 'fortran_order': False}", f4)),
                  "the header has no 'shape' key (it needs 'descr', 'fortran_order' and 'shape')");
  NPY_CHECK_FAILS(load<float>(with_dict("{}", f4)), "the header has no 'descr' key");
  NPY_CHECK_FAILS(load<float>(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", f4)),
                  "unexpected key 'extra' in the header");
  NPY_CHECK_FAILS(load<float>(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'shape': (2,)}", f4)),
                  "the key 'shape' appears twice");
  NPY_CHECK_FAILS(load<float>(with_dict("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", f4)),
                  "'fortran_order' must be True or False");

  // The dtype.
  NPY_CHECK_FAILS(load<float>(with_dict(dict("|O", "(2,)"), f4)), "dtype '|O' is an object array (pickled Python objects)");
  NPY_CHECK_FAILS(load<float>(with_dict(dict("<c8", "(1,)"), f4)), "unsupported dtype '<c8'; supported: <f2 <f4 <f8");
  NPY_CHECK_FAILS(load<float>(with_dict(dict("<U2", "(1,)"), f4)), "unsupported dtype '<U2'");
  NPY_CHECK_FAILS(load<float>(with_dict(dict("|f4", "(2,)"), f4)), "unsupported dtype '|f4'");
  NPY_CHECK_FAILS(load<float>(with_dict(dict("<f16", "(2,)"), f4)), "unsupported dtype '<f16'");
  NPY_CHECK_FAILS(load<float>(with_dict("{'descr': [('x', '<f4'), ('y', '<f4')], 'fortran_order': False, 'shape': (1,)}", f4)),
                  "structured dtypes (a list 'descr', a record array) are not supported");
  NPY_CHECK_FAILS(load<float>(with_dict("{'descr': 4, 'fortran_order': False, 'shape': (2,)}", f4)), "'descr' must be a string");

  // The shape.
  NPY_CHECK_FAILS(load<float>(with_dict(dict("<f4", "(-1, 2)"), f4)), "negative dimension -1 in 'shape'");
  NPY_CHECK_FAILS(load<float>(with_dict(dict("<f4", "(4611686018427387904, 4611686018427387904)"), f4)),
                  "the element count of shape (4611686018427387904, 4611686018427387904) overflows int64");
  NPY_CHECK_FAILS(load<float>(with_dict(dict("<f4", "(0, 4611686018427387904, 4611686018427387904)"), {})),
                  "the product of the nonzero dimensions of shape (0, 4611686018427387904, 4611686018427387904) overflows int64");
  NPY_CHECK_FAILS(load<float>(with_dict(dict("<f4", "(99999999999999999999,)"), f4)), "a dimension of 'shape' does not fit in int64");
  NPY_CHECK_FAILS(load<float>(with_dict(dict("<f4", "[2]"), f4)), "'shape' must be a tuple of non-negative integers");
  NPY_CHECK_FAILS(load<float>(with_dict(dict("<f4", "(2)"), f4)), "'shape' must be a tuple of non-negative integers");
  NPY_CHECK_FAILS(load<float>(with_dict(dict("<f4", "('2',)"), f4)), "'shape' must be a tuple of non-negative integers");
  NPY_CHECK_FAILS(load<float>(with_dict(dict("<f4", "(2.0,)"), f4)), "cannot parse the header");
  std::string many = "(";
  for (int i = 0; i < 65; ++i) many += "1, ";
  NPY_CHECK_FAILS(load<float>(with_dict(dict("<f4", many + ")"), f4)), "'shape' has 65 dimensions, more than 64");

  // The data.
  NPY_CHECK_FAILS(load<float>(with_dict(dict("<f4", "(3,)"), f4)),
                  "the data has 8 bytes, fewer than shape (3,) needs (3 elements of 4 bytes; truncated?)");
  NPY_CHECK_FAILS(load<float>(with_dict(dict("<f8", "(1048576, 1048576)"), f4)), "fewer than shape (1048576, 1048576) needs");
  Bytes longer = f4;
  put_le(longer, 0, 4);
  NPY_CHECK_FAILS(load<float>(with_dict(dict("<f4", "(2,)"), longer)), "the file has 4 bytes after the data of shape (2,)");

  // Every prefix of a good image fails cleanly, whichever T.
  for (std::size_t n = 0; n < good.size(); ++n) {
    const Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK_THROWS_AS(load<float>(cut), tg::IOError);
    CHECK_THROWS_AS(load<std::int64_t>(cut), tg::IOError);
  }

  // Files: missing, and a directory (which opens as a stream but cannot be read).
  NPY_CHECK_FAILS(tg::load_npy<float>("/nonexistent/w.npy"), "load_npy: cannot open \"/nonexistent/w.npy\" for reading");
  const std::string dir = "tapegrad_test_npy_dir.npy";
  std::filesystem::create_directory(dir);
  NPY_CHECK_FAILS(tg::load_npy<float>(dir), "load_npy: reading \"tapegrad_test_npy_dir.npy\" failed");
  std::filesystem::remove(dir);
  // A file's errors name it.
  const std::string path = "tapegrad_test_npy_bad.npy";
  write_whole(path, with_dict(dict("<f4", "(3,)"), f4));
  NPY_CHECK_FAILS(tg::load_npy<float>(path), "npy: \"tapegrad_test_npy_bad.npy\": the data has 8 bytes");
  std::remove(path.c_str());
}

// ---------------------------------------------------------------- atomic saves

TEST_CASE("npy/npz: saves are atomic; a failed save leaves the old file intact", "[npy]") {
  namespace fs = std::filesystem;
  const std::string dir = "tapegrad_test_npy_atomic";
  fs::remove_all(dir);
  fs::create_directory(dir);
  const std::string path = dir + "/w.npy";
  const tg::Tensor<float> old = tg::from_vector<float>({1, 2, 3});
  tg::save_npy(old, path);
  const Bytes before = read_whole(path);
  CHECK_FALSE(exists(path + ".tmp"));
  tg::StateDict<float> sd;
  sd.insert("w", old);
  tg::save_npz(sd, dir + "/m.npz");
  CHECK_FALSE(exists(dir + "/m.npz.tmp"));
  CHECK(read_whole(dir + "/m.npz") == tg::npz_bytes(sd));

  // A directory that cannot be written. Root writes anywhere, so only when the directory
  // really refuses a file; the cases below fail for root too.
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec);
  const bool refuses = !std::ofstream(dir + "/probe");
  fs::remove(dir + "/probe");
  if (refuses) {
    NPY_CHECK_FAILS(tg::save_npy(tg::zeros<float>({5}), path), "save_npy: cannot open \"tapegrad_test_npy_atomic/w.npy.tmp\" for writing");
    CHECK(read_whole(path) == before);
  }
  fs::permissions(dir, fs::perms::owner_all);
  // /proc takes no new files, whoever asks.
  if (fs::is_directory("/proc")) NPY_CHECK_FAILS(tg::save_npy(old, "/proc/tapegrad_test.npy"), "save_npy: cannot open");
  NPY_CHECK_FAILS(tg::save_npz(sd, "/nonexistent/m.npz"), "save_npz: cannot open \"/nonexistent/m.npz.tmp\" for writing");

  // The temporary cannot be created (a directory is in its way): the old file stays.
  fs::create_directory(path + ".tmp");
  NPY_CHECK_FAILS(tg::save_npy(tg::zeros<float>({5}), path), "cannot open \"tapegrad_test_npy_atomic/w.npy.tmp\" for writing");
  CHECK(read_whole(path) == before);
  fs::remove(path + ".tmp");

  // The rename fails (the target is a non-empty directory): the temporary is removed.
  const std::string blocked = dir + "/blocked.npy";
  fs::create_directories(blocked + "/inside");
  NPY_CHECK_FAILS(tg::save_npy(old, blocked), "cannot rename \"tapegrad_test_npy_atomic/blocked.npy.tmp\"");
  CHECK_FALSE(exists(blocked + ".tmp"));
  CHECK(fs::is_directory(blocked + "/inside"));

  // Overwriting works, and leaves nothing behind.
  tg::save_npy(tg::zeros<float>({5}), path);
  CHECK(tg::load_npy<float>(path).to_vector() == std::vector<float>(5, 0.f));
  CHECK_FALSE(exists(path + ".tmp"));
  fs::remove_all(dir);
}

// ---------------------------------------------------------------- .npz

// CRC-32 bit by bit (not the table of the code under test).
std::uint32_t crc32(const Bytes& b) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char byte : b) {
    c ^= byte;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// A zip archive written by the test itself, so that each field can be made to lie.
struct ZipEntry {
  std::string name;
  Bytes payload;                 // as stored: the .npy, or its deflate stream
  std::uint16_t method = 0;      // 0 stored, 8 deflated
  std::uint32_t crc = 0;         // of the uncompressed bytes
  std::uint32_t uncompressed = 0;
  std::uint16_t flags = 0;
};
ZipEntry stored(const std::string& name, const Bytes& npy) { return {name, npy, 0, crc32(npy), static_cast<std::uint32_t>(npy.size())}; }
ZipEntry deflated(const std::string& name, const Bytes& npy, const Bytes& stream) {
  return {name, stream, 8, crc32(npy), static_cast<std::uint32_t>(npy.size())};
}
Bytes zip(const std::vector<ZipEntry>& entries) {
  Bytes out, dir;
  for (const ZipEntry& e : entries) {
    const std::size_t offset = out.size();
    for (Bytes* b : {&out, &dir}) {
      put_le(*b, b == &out ? 0x04034b50 : 0x02014b50, 4);
      if (b == &dir) put_le(*b, 20, 2);  // made by
      put_le(*b, 20, 2);                 // needed
      put_le(*b, e.flags, 2);
      put_le(*b, e.method, 2);
      put_le(*b, 0, 4);  // time, date
      put_le(*b, e.crc, 4);
      put_le(*b, e.payload.size(), 4);
      put_le(*b, e.uncompressed, 4);
      put_le(*b, e.name.size(), 2);
      put_le(*b, 0, 2);  // extra
      if (b == &dir) {
        put_le(*b, 0, 2 + 2 + 2);  // comment length, disk, internal attributes
        put_le(*b, 0, 4);          // external attributes
        put_le(*b, offset, 4);
      }
      append(*b, bytes_of(e.name));
    }
    append(out, e.payload);
  }
  const std::size_t cd = out.size();
  append(out, dir);
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 4);
  put_le(out, entries.size(), 2);
  put_le(out, entries.size(), 2);
  put_le(out, dir.size(), 4);
  put_le(out, cd, 4);
  put_le(out, 0, 2);
  return out;
}
// Offsets of an archive's central records, from its end record (no comment).
std::vector<std::size_t> central_records(const Bytes& z) {
  std::vector<std::size_t> out;
  std::size_t p = get_le(z, z.size() - 6, 4);
  for (std::uint32_t i = 0; i < get_le(z, z.size() - 12, 2); ++i) {
    out.push_back(p);
    p += 46 + get_le(z, p + 28, 2) + get_le(z, p + 30, 2) + get_le(z, p + 32, 2);
  }
  return out;
}
void replace_all(Bytes& b, const std::string& from, const std::string& to) {
  for (std::size_t i = 0; i + from.size() <= b.size(); ++i)
    if (std::equal(from.begin(), from.end(), b.begin() + static_cast<std::ptrdiff_t>(i)))
      std::copy(to.begin(), to.end(), b.begin() + static_cast<std::ptrdiff_t>(i));
}

// A deflate (RFC 1951) writer for fixed-Huffman and stored blocks, with a greedy LZ77
// match search: independent of the inflater under test.
class Deflater {
 public:
  void stored_block(const Bytes& data, bool final) {
    bits(final ? 1 : 0, 1);
    bits(0, 2);
    bitpos_ = 0;  // to the byte boundary
    put_le(out_, data.size(), 2);
    put_le(out_, ~data.size() & 0xFFFF, 2);
    append(out_, data);
  }
  void fixed_block(const Bytes& data, bool final) {
    begin_fixed(final);
    for (std::size_t i = 0; i < data.size();) {
      std::size_t best = 0, dist = 0;
      for (std::size_t j = i > 32768 ? i - 32768 : 0; j < i; ++j) {
        std::size_t n = 0;
        while (n < 258 && i + n < data.size() && data[j + n] == data[i + n]) ++n;
        if (n > best) best = n, dist = i - j;
      }
      if (best >= 3) {
        match(best, dist);
        i += best;
      } else {
        literal(data[i++]);
      }
    }
    literal(256);
  }
  void begin_fixed(bool final) {
    bits(final ? 1 : 0, 1);
    bits(1, 2);
  }
  void literal(unsigned v) {  // RFC 1951 3.2.6
    if (v < 144) code(0x30 + v, 8);
    else if (v < 256) code(0x190 + v - 144, 9);
    else if (v < 280) code(v - 256, 7);
    else code(0xC0 + v - 280, 8);
  }
  void match(std::size_t len, std::size_t dist) {
    static const unsigned lbase[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                       35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const unsigned dbase[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
                                       513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    unsigned s = 28;
    while (lbase[s] > len) --s;
    literal(257 + s);
    bits(static_cast<unsigned>(len) - lbase[s], s < 8 || s == 28 ? 0 : (s - 4) / 4);
    unsigned d = 29;
    while (dbase[d] > dist) --d;
    code(d, 5);
    bits(static_cast<unsigned>(dist) - dbase[d], d < 4 ? 0 : (d - 2) / 2);
  }
  const Bytes& bytes() const { return out_; }

 private:
  void bit(unsigned b) {
    if (bitpos_ == 0) out_.push_back(0);
    out_.back() = static_cast<unsigned char>(out_.back() | (b << bitpos_));
    bitpos_ = (bitpos_ + 1) % 8;
  }
  void bits(unsigned v, unsigned n) {  // header fields and extra bits: least significant first
    for (unsigned i = 0; i < n; ++i) bit((v >> i) & 1);
  }
  void code(unsigned c, unsigned n) {  // Huffman codes: most significant first
    for (unsigned i = n; i-- > 0;) bit((c >> i) & 1);
  }
  Bytes out_;
  unsigned bitpos_ = 0;
};

// An archive as np.savez_compressed writes it, made once by Python 3.11's zipfile (NumPy
// was not installed) from three .npy images built by hand with NumPy's header layout:
//   "weights/dense.npy"  '<f8' (8, 8), element i = 0.5 i  compresslevel 9: a dynamic-Huffman block
//   "small.int.npy"      '<i4' (3,) [1, -2, 3]             compresslevel 6: a fixed-Huffman block
//   "stored.npy"         '|u1' (2, 2) [0, 1, 254, 255]     compresslevel 0: a stored block
// with, for each (np.savez's call, so each local header has 0xFFFFFFFF sizes and a ZIP64
// extra field, and only the central directory has the sizes):
//   zi = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
//   zi.compress_type = zipfile.ZIP_DEFLATED; zi._compresslevel = level
//   with zf.open(zi, "w", force_zip64=True) as f: f.write(npy)
// and printed as "\x.." rows. zipfile.testzip() found it sound.
const char kPythonNpz[] =
    "\x50\x4b\x03\x04\x2d\x00\x00\x00\x08\x00\x00\x00\x21\x58\x65\xd8\x9a\x78\xff\xff\xff\xff\xff\xff"
    "\xff\xff\x11\x00\x14\x00\x77\x65\x69\x67\x68\x74\x73\x2f\x64\x65\x6e\x73\x65\x2e\x6e\x70\x79\x01"
    "\x00\x10\x00\x80\x02\x00\x00\x00\x00\x00\x00\xcd\x00\x00\x00\x00\x00\x00\x00\x9d\xc8\x3f\x4b\x02"
    "\x71\x00\xc6\xf1\x27\x70\x90\x68\x90\x10\x11\x89\xf8\x55\xe6\x4f\xeb\x4c\xcd\x3f\x9d\x66\x9d\x53"
    "\x5b\xe1\xe2\xe0\x14\x87\x9e\x38\x88\xca\x5d\xb8\x84\xe0\x7b\xf0\x0d\xf6\x12\x1a\x1b\x53\xee\xbb"
    "\xb8\xfa\x2c\x1f\xbe\xcf\xf6\x63\xf0\xde\x1f\x9e\x68\xa5\x6f\x3b\x0e\xa2\x51\x68\x3b\xc6\x76\x27"
    "\xae\x75\x8c\x9d\x2c\xc2\xaf\xd0\x9f\x7f\x2e\xc2\x71\xb0\xff\xdf\xfc\x59\x14\xec\xfe\x68\xea\x2f"
    "\x83\x5d\x17\x5d\xc7\xb8\x25\xc7\xac\xcd\xd1\x3b\xd5\xc1\x7e\xbc\xd8\x5f\xfc\x43\xf5\x62\x12\x98"
    "\xc4\x33\x4c\xe1\x39\xa6\x31\x83\x59\xcc\xe1\x05\x5e\xa2\xc1\x2b\xbc\xc6\x1b\xcc\xe3\x2d\x16\xd0"
    "\x62\x11\x4b\x78\x87\xf7\xe8\x60\x19\x1f\xb0\x82\xd5\xd8\x0d\xaa\x46\xa3\x1e\x69\x54\x9d\x46\x35"
    "\x68\x54\x93\x46\xb5\x68\xd4\x13\x8d\x72\x69\x54\x9b\x46\x75\x68\xd4\x33\x8d\xea\xd2\xa8\x17\x1a"
    "\xf5\x4a\xa3\x3c\xda\xeb\xfd\x03\x50\x4b\x03\x04\x2d\x00\x00\x00\x08\x00\x00\x00\x21\x58\x9e\xe7"
    "\x79\x10\xff\xff\xff\xff\xff\xff\xff\xff\x0d\x00\x14\x00\x73\x6d\x61\x6c\x6c\x2e\x69\x6e\x74\x2e"
    "\x6e\x70\x79\x01\x00\x10\x00\x8c\x00\x00\x00\x00\x00\x00\x00\x4f\x00\x00\x00\x00\x00\x00\x00\x9b"
    "\xec\x17\xea\x1b\x10\xc9\xc8\x50\xc6\x50\xad\x9e\x92\x5a\x9c\x5c\xa4\x6e\xa5\xa0\x6e\x93\x69\xa2"
    "\xae\xa3\xa0\x9e\x96\x5f\x54\x52\x94\x98\x17\x9f\x5f\x94\x92\x0a\x12\x77\x4b\xcc\x29\x4e\x05\x8a"
    "\x17\x67\x24\x16\xa4\x02\xf9\x1a\xc6\x3a\x9a\x3a\x0a\xb5\x0a\x14\x00\x2e\x46\x06\x06\x86\x7f\xff"
    "\xff\xff\x67\x06\xd2\x00\x50\x4b\x03\x04\x2d\x00\x00\x00\x08\x00\x00\x00\x21\x58\xda\x32\xdf\xda"
    "\xff\xff\xff\xff\xff\xff\xff\xff\x0a\x00\x14\x00\x73\x74\x6f\x72\x65\x64\x2e\x6e\x70\x79\x01\x00"
    "\x10\x00\x84\x00\x00\x00\x00\x00\x00\x00\x89\x00\x00\x00\x00\x00\x00\x00\x01\x84\x00\x7b\xff\x93"
    "\x4e\x55\x4d\x50\x59\x01\x00\x76\x00\x7b\x27\x64\x65\x73\x63\x72\x27\x3a\x20\x27\x7c\x75\x31\x27"
    "\x2c\x20\x27\x66\x6f\x72\x74\x72\x61\x6e\x5f\x6f\x72\x64\x65\x72\x27\x3a\x20\x46\x61\x6c\x73\x65"
    "\x2c\x20\x27\x73\x68\x61\x70\x65\x27\x3a\x20\x28\x32\x2c\x20\x32\x29\x2c\x20\x7d\x20\x20\x20\x20"
    "\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20"
    "\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20"
    "\x20\x20\x20\x20\x20\x20\x0a\x00\x01\xfe\xff\x50\x4b\x01\x02\x2d\x03\x2d\x00\x00\x00\x08\x00\x00"
    "\x00\x21\x58\x65\xd8\x9a\x78\xcd\x00\x00\x00\x80\x02\x00\x00\x11\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x80\x01\x00\x00\x00\x00\x77\x65\x69\x67\x68\x74\x73\x2f\x64\x65\x6e\x73\x65\x2e\x6e"
    "\x70\x79\x50\x4b\x01\x02\x2d\x03\x2d\x00\x00\x00\x08\x00\x00\x00\x21\x58\x9e\xe7\x79\x10\x4f\x00"
    "\x00\x00\x8c\x00\x00\x00\x0d\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x01\x10\x01\x00\x00"
    "\x73\x6d\x61\x6c\x6c\x2e\x69\x6e\x74\x2e\x6e\x70\x79\x50\x4b\x01\x02\x2d\x03\x2d\x00\x00\x00\x08"
    "\x00\x00\x00\x21\x58\xda\x32\xdf\xda\x89\x00\x00\x00\x84\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x80\x01\x9e\x01\x00\x00\x73\x74\x6f\x72\x65\x64\x2e\x6e\x70\x79\x50\x4b\x05"
    "\x06\x00\x00\x00\x00\x03\x00\x03\x00\xb2\x00\x00\x00\x63\x02\x00\x00\x00\x00";

Bytes python_npz() { return Bytes(kPythonNpz, kPythonNpz + sizeof kPythonNpz - 1); }

TEST_CASE("npz: a state dict round trips (keys with '/' and '.', in order), byte for byte the same each time", "[npz]") {
  tg::Generator gen(91);
  tg::StateDict<float> sd;
  sd.insert("encoder.0.weight", tg::randn<float>({3, 4}, gen));
  sd.insert("encoder/0/bias", tg::randn<float>({4}, gen));
  sd.insert("a.b/c.d", tg::scalar_tensor<float>(-0.0f));
  sd.insert("empty", tg::zeros<float>({0, 5}));
  sd.insert("npy.npy", sample_tensor<float>({2, 5}));
  const std::string path = "tapegrad_test_npz_roundtrip.npz";
  tg::save_npz(sd, path);
  CHECK_FALSE(exists(path + ".tmp"));
  const auto back = tg::load_npz<float>(path);
  REQUIRE(back.keys() == sd.keys());
  for (const auto& [key, t] : sd) {
    INFO(key);
    CHECK(same_bits(back.at(key), t));
  }
  // Determinism: the same tensors, the same bytes (fixed timestamps, no host fields).
  const Bytes first = read_whole(path);
  tg::save_npz(sd, path);
  CHECK(read_whole(path) == first);
  tg::StateDict<float> copy;
  for (const auto& [key, t] : sd) copy.insert(key, tg::from_vector<float>(t.to_vector(), t.shape()));
  CHECK(tg::npz_bytes(copy) == first);
  std::remove(path.c_str());

  // The layout: stored entries whose data is exactly the tensor's .npy, named "<key>.npy".
  tg::StateDict<std::int64_t> one;
  one.insert("n", tg::from_vector<std::int64_t>({42, -1}));
  const Bytes z = tg::npz_bytes(one);
  const Bytes npy = tg::npy_bytes(one.at("n"));
  CHECK(get_le(z, 0, 4) == 0x04034b50u);
  CHECK(get_le(z, 8, 2) == 0);  // stored
  CHECK(get_le(z, 14, 4) == crc32(npy));
  CHECK(get_le(z, 18, 4) == npy.size());
  CHECK(std::string(z.begin() + 30, z.begin() + 35) == "n.npy");
  CHECK(Bytes(z.begin() + 35, z.begin() + 35 + static_cast<std::ptrdiff_t>(npy.size())) == npy);
  CHECK(get_le(z, z.size() - 22, 4) == 0x06054b50u);
  CHECK(get_le(z, z.size() - 12, 2) == 1);
  CHECK(load_npz<std::int64_t>(z).at("n").to_vector() == std::vector<std::int64_t>{42, -1});
  // An empty state dict is an empty archive (its end record alone).
  CHECK(tg::npz_bytes(tg::StateDict<float>()).size() == 22);
  CHECK(load_npz<float>(tg::npz_bytes(tg::StateDict<float>())).empty());
}

TEST_CASE("npz: reads np.savez_compressed's deflated entries (dynamic, fixed and stored blocks)", "[npz]") {
  const Bytes z = python_npz();
  const auto sd = load_npz<double>(z);
  REQUIRE(sd.keys() == std::vector<std::string>{"weights/dense", "small.int", "stored"});
  std::vector<double> dense(64);
  for (int i = 0; i < 64; ++i) dense[static_cast<std::size_t>(i)] = 0.5 * i;
  CHECK(sd.at("weights/dense").shape() == tg::Shape{8, 8});
  CHECK(sd.at("weights/dense").to_vector() == dense);
  CHECK(sd.at("small.int").to_vector() == std::vector<double>{1, -2, 3});
  CHECK(sd.at("stored").shape() == tg::Shape{2, 2});
  CHECK(sd.at("stored").to_vector() == std::vector<double>{0, 1, 254, 255});
  // Into an integer T the halves do not convert: the error names the archive and the entry.
  NPY_CHECK_FAILS(load_npz<std::int64_t>(z), "npy: test.npz entry \"weights/dense.npy\": element 1 (0.5)");

  // Streams written here: a stored block then a fixed-Huffman block with matches (lengths
  // and distances with extra bits), and a block of literals only.
  tg::Tensor<double> t = tg::empty<double>({40});
  for (int i = 0; i < 40; ++i) t.data_ptr()[i] = i % 5 == 0 ? 1.5 : -0.25 * (i % 3);
  const Bytes npy = tg::npy_bytes(t);
  Deflater two_blocks;
  two_blocks.stored_block(Bytes(npy.begin(), npy.begin() + 10), false);
  two_blocks.fixed_block(Bytes(npy.begin() + 10, npy.end()), true);
  CHECK(two_blocks.bytes().size() < npy.size() / 2);  // the matches did compress
  Deflater literals;
  literals.begin_fixed(true);
  const Bytes small = tg::npy_bytes(tg::from_vector<float>({7, 8}));
  for (unsigned char c : small) literals.literal(c);
  literals.literal(256);
  const auto mine = load_npz<double>(zip({deflated("t.npy", npy, two_blocks.bytes()), deflated("s.npy", small, literals.bytes())}));
  CHECK(mine.at("t").to_vector() == t.to_vector());
  CHECK(mine.at("s").to_vector() == std::vector<double>{7, 8});
}

TEST_CASE("npz: corrupt, truncated and hostile archives are IOErrors naming the problem", "[npz]") {
  tg::StateDict<float> sd;
  sd.insert("a", tg::from_vector<float>({1, 2}));
  sd.insert("b", tg::from_vector<float>({3}));
  const Bytes good = tg::npz_bytes(sd);
  REQUIRE(load_npz<float>(good).keys() == std::vector<std::string>{"a", "b"});
  const std::vector<std::size_t> records = central_records(good);
  REQUIRE(records.size() == 2);

  NPY_CHECK_FAILS(load_npz<float>(Bytes{}), "npz: test.npz: the file has 0 bytes, too few for a zip archive");
  NPY_CHECK_FAILS(load_npz<float>(Bytes(64, 'x')), "not a zip archive (no end-of-central-directory record");
  NPY_CHECK_FAILS(load_npz<float>(tg::npy_bytes(tg::zeros<float>({4}))), "not a zip archive");

  // CRC mismatch: one byte of an entry's data, or the stored CRC.
  Bytes flipped = good;
  flipped[30 + 5 + 130] ^= 0x01;  // inside "a.npy"'s float data
  NPY_CHECK_FAILS(load_npz<float>(flipped), "entry \"a.npy\": CRC-32 mismatch");
  Bytes bad_crc = python_npz();
  bad_crc[central_records(bad_crc)[0] + 16] ^= 0x80;
  NPY_CHECK_FAILS(load_npz<float>(bad_crc), "entry \"weights/dense.npy\": CRC-32 mismatch");

  // Truncated: every prefix of both archives.
  for (const Bytes& whole : {good, python_npz()})
    for (std::size_t n = 0; n < whole.size(); ++n)
      CHECK_THROWS_AS(load_npz<float>(Bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n))), tg::IOError);
  // Any byte of a deflated entry's stream changed (but its last, which holds unused
  // padding bits): the inflater or the CRC catches it.
  {
    const Bytes z = python_npz();
    const auto rec = central_records(z);
    for (std::size_t r : rec) {
      if (get_le(z, r + 10, 2) != 8) continue;
      const std::size_t local = get_le(z, r + 42, 4);
      const std::size_t begin = local + 30 + get_le(z, local + 26, 2) + get_le(z, local + 28, 2);
      const std::size_t size = get_le(z, r + 20, 4);
      for (std::size_t i = begin; i + 1 < begin + size; ++i) {
        Bytes c = z;
        c[i] ^= 0x5A;
        CHECK_THROWS_AS(load_npz<float>(c), tg::IOError);
      }
    }
  }

  // The central directory pointing elsewhere.
  Bytes far = good;
  patch_le(far, records[1] + 42, 0x00FFFFFF, 4);
  NPY_CHECK_FAILS(load_npz<float>(far), "entry \"b.npy\": no local file header at offset 16777215");
  Bytes misnamed = good;
  misnamed[30 + 0] = 'x';  // the first local header's name, not the central record's
  NPY_CHECK_FAILS(load_npz<float>(misnamed), "entry \"a.npy\": the local header names a different file");
  Bytes cd_past = good;
  patch_le(cd_past, good.size() - 6, good.size(), 4);
  NPY_CHECK_FAILS(load_npz<float>(cd_past), "the central directory (");

  // Names.
  Bytes twice = good;
  replace_all(twice, "b.npy", "a.npy");
  NPY_CHECK_FAILS(load_npz<float>(twice), "the archive holds \"a.npy\" twice");
  Bytes not_npy = good;
  replace_all(not_npy, "b.npy", "b.txt");
  NPY_CHECK_FAILS(load_npz<float>(not_npy), "entry \"b.txt\" is not a .npy file");
  const Bytes bad_inner = tg::npy_bytes(tg::zeros<float>({2}));
  Bytes inner = bad_inner;
  inner[6] = 9;  // an unknown .npy version inside a sound archive
  NPY_CHECK_FAILS(load_npz<float>(zip({stored("w.npy", inner)})), "npy: test.npz entry \"w.npy\": unknown .npy format version 9.0");

  // Entries whose bytes overlap (the first one's size stretched over the second's header).
  Bytes overlap = good;
  const std::uint32_t a_size = get_le(good, records[0] + 20, 4);
  patch_le(overlap, records[0] + 20, a_size + 30, 4);
  patch_le(overlap, records[0] + 24, a_size + 30, 4);
  NPY_CHECK_FAILS(load_npz<float>(overlap), "entries \"a.npy\" and \"b.npy\" overlap in the archive");
  // Sizes that differ for a stored entry; methods and flags not supported.
  Bytes sizes = good;
  patch_le(sizes, records[0] + 24, a_size - 1, 4);
  NPY_CHECK_FAILS(load_npz<float>(sizes), "entry \"a.npy\" is stored but its sizes differ");
  ZipEntry bzip2 = stored("c.npy", bad_inner);
  bzip2.method = 12;
  NPY_CHECK_FAILS(load_npz<float>(zip({bzip2})), "entry \"c.npy\" uses compression method 12");
  ZipEntry secret = stored("c.npy", bad_inner);
  secret.flags = 1;
  NPY_CHECK_FAILS(load_npz<float>(zip({secret})), "entry \"c.npy\" is encrypted");
  Bytes many = good;
  patch_le(many, good.size() - 12, 0xFFFF, 2);
  patch_le(many, good.size() - 14, 0xFFFF, 2);
  NPY_CHECK_FAILS(load_npz<float>(many), "ZIP64 archives");
}

TEST_CASE("npz: a deflated entry must inflate to exactly its declared size (deflate bombs)", "[npz]") {
  const Bytes z = python_npz();
  const std::size_t dense = central_records(z)[0];
  REQUIRE(get_le(z, dense + 24, 4) == 640);
  REQUIRE(get_le(z, dense + 20, 4) == 205);
  // Declared smaller than the stream's output: decoding stops at the declared size.
  Bytes small = z;
  patch_le(small, dense + 24, 100, 4);
  NPY_CHECK_FAILS(load_npz<float>(small), "entry \"weights/dense.npy\": corrupt deflate data: it holds more than the entry's declared size");
  // Declared larger than it is.
  Bytes large = z;
  patch_le(large, dense + 24, 700, 4);
  NPY_CHECK_FAILS(load_npz<float>(large), "entry \"weights/dense.npy\" inflates to 640 bytes, not the declared 700");
  // Declared beyond what deflate can encode in 205 bytes (1032:1): refused before anything is allocated.
  Bytes huge = z;
  patch_le(huge, dense + 24, 0x7FFFFFFF, 4);
  NPY_CHECK_FAILS(load_npz<float>(huge), "claims 2147483647 bytes from 205 compressed bytes, more than deflate can encode");

  // A real bomb: one literal then 40000 copies of 258 bytes at distance 1 (13 bits each),
  // 65 KB that would inflate to 10 MB, declared as 1 MB (a ratio deflate can reach). The
  // inflater reserves the declared 1 MB and stops there.
  Deflater bomb;
  bomb.begin_fixed(true);
  bomb.literal(0);
  for (int i = 0; i < 40000; ++i) bomb.match(258, 1);
  bomb.literal(256);
  ZipEntry e{"bomb.npy", bomb.bytes(), 8, 0, 1000000};
  NPY_CHECK_FAILS(load_npz<float>(zip({e})), "entry \"bomb.npy\": corrupt deflate data: it holds more than the entry's declared size");
  // Corrupt streams: a reserved block type, a stored block whose length check fails, an
  // end before the end-of-block code, a distance before the start.
  const Bytes npy = tg::npy_bytes(tg::zeros<float>({1}));
  NPY_CHECK_FAILS(load_npz<float>(zip({deflated("r.npy", npy, Bytes{0x07})})), "corrupt deflate data: block type 3 (reserved)");
  NPY_CHECK_FAILS(load_npz<float>(zip({deflated("r.npy", npy, Bytes{0x01, 0x04, 0x00, 0x00, 0x00})})),
                  "a stored block's length check fails");
  Deflater cut;
  cut.begin_fixed(true);
  cut.literal('x');
  NPY_CHECK_FAILS(load_npz<float>(zip({deflated("r.npy", npy, cut.bytes())})), "corrupt deflate data: it ends early");
  Deflater back;
  back.begin_fixed(true);
  back.literal('x');
  back.match(3, 2);
  back.literal(256);
  NPY_CHECK_FAILS(load_npz<float>(zip({deflated("r.npy", npy, back.bytes())})), "a distance back past the start of the data");
}

#undef NPY_CHECK_FAILS

}  // namespace io_npy_test

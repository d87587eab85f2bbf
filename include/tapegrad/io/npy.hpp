#pragma once
// NumPy's .npy and .npz files, which np.load / np.save / np.savez read and write:
//
//   .npy: "\x93NUMPY", a version (1.0: 2-byte header length; 2.0 and 3.0: 4-byte), then
//         a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//         padded with spaces and a '\n' so the data starts at a multiple of 64 bytes,
//         then the elements.
//   .npz: a zip archive holding one "<key>.npy" per array (np.savez stores them,
//         np.savez_compressed deflates them).
//
//   tg::save_npy(t, "w.npy");                    auto w = tg::load_npy<float>("w.npy");
//   tg::save_npz(model.state_dict(), "m.npz");   model.load_state_dict(tg::load_npz<float>("m.npz"));
//
// Writing: C order, little-endian, the dtype of T ('<f4' for float, '<i8' for
// std::int64_t, '|b1' for bool, ...), the header laid out as NumPy lays it out; archives
// are stored (uncompressed) zips with fixed timestamps, so the same tensors give the same
// bytes. Reading accepts any float, signed, unsigned or bool dtype of either byte order
// and Fortran order, converting to T; into an integer or bool T a value must convert
// exactly (a '|b1' byte is true when nonzero, as NumPy reads it).
// Everything is checked before it is used (never a crash, a huge allocation or a
// half-read result), and every failure is a tg::IOError naming the file and the problem.
// The dict literal is parsed here (a tiny grammar) and deflate is decoded here
// (RFC 1951): the header needs nothing beyond the standard library and tensors.

#include "../core.hpp"
#include "file.hpp"
#include "state_dict.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace tapegrad {

// The checked header of a .npy image.
struct NpyHeader {
  std::string descr;           // as written: '<f4', '>i8', '|b1', ...
  char kind = 0;               // 'f' float, 'i' signed, 'u' unsigned, 'b' bool
  std::size_t itemsize = 0;    // bytes per element
  bool big_endian = false;
  bool fortran_order = false;
  Shape shape;
  std::int64_t numel = 0;
  std::size_t data_start = 0;  // offset of the first element
  int major = 1, minor = 0;    // format version
};

namespace detail {
namespace npy {

[[noreturn]] inline void fail(const std::string& format, const std::string& source, const std::string& problem) {
  throw IOError(format + ": " + source + ": " + problem);
}

// ---- bytes ----

inline std::uint64_t load_uint(const unsigned char* p, std::size_t n, bool big_endian) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t(p[big_endian ? n - 1 - i : i]) << (8 * i);
  return v;
}
inline void store_le(std::vector<unsigned char>& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<unsigned char>(v >> (8 * i)));
}

// ---- dtypes ----

constexpr const char* kSupportedDtypes =
    "supported: <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1, and the big-endian '>' forms";

template <typename T>
constexpr char kind_of() {
  static_assert(std::is_arithmetic_v<T>, "npy: T must be a float, integer or bool type");
  static_assert(!std::is_floating_point_v<T> || sizeof(T) == 4 || sizeof(T) == 8, "npy: float or double expected");
  static_assert(!std::is_same_v<T, bool> || sizeof(bool) == 1, "npy: a one-byte bool expected ('|b1')");
  return std::is_same_v<T, bool> ? 'b' : std::is_floating_point_v<T> ? 'f' : std::is_signed_v<T> ? 'i' : 'u';
}
// NumPy's descr of T: byte order '|' for single bytes ("not applicable"), else '<'.
template <typename T>
std::string descr_of() {
  return std::string(sizeof(T) == 1 ? "|" : "<") + kind_of<T>() + std::to_string(sizeof(T));
}

// Splits a descr into kind, size and byte order; anything else names what is supported.
inline void parse_descr(const std::string& d, NpyHeader& h, const std::string& source) {
  if (d.find('O') != std::string::npos)
    fail("npy", source, "dtype '" + d + "' is an object array (pickled Python objects), which cannot be loaded without "
                        "Python; " + kSupportedDtypes);
  static const char* const known[] = {"f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"};
  bool ok = d.size() == 3 && (d[0] == '<' || d[0] == '>' || d[0] == '|');
  if (ok) {
    ok = false;
    for (const char* k : known) ok = ok || d.compare(1, 2, k) == 0;
  }
  // '|' (no byte order) only makes sense for single bytes.
  if (ok && d[0] == '|' && d[2] != '1') ok = false;
  if (!ok) fail("npy", source, "unsupported dtype '" + d + "'; " + kSupportedDtypes);
  h.descr = d;
  h.kind = d[1];
  h.itemsize = static_cast<std::size_t>(d[2] - '0');
  h.big_endian = d[0] == '>';
}

// ---- the header's dict literal ----

// A Python literal as ast.literal_eval would see it, restricted to what .npy headers hold.
struct PyValue {
  enum Kind { String, Bool, Int, Tuple, List } kind = String;
  std::string text;           // String
  bool flag = false;          // Bool
  std::int64_t number = 0;    // Int
  bool overflow = false;      // Int: does not fit in int64
  std::vector<PyValue> items;  // Tuple, List
};

class LiteralParser {
 public:
  LiteralParser(const unsigned char* begin, const unsigned char* end, const std::string& source)
      : begin_(begin), p_(begin), end_(end), source_(source) {}

  // {'key': value, ...} followed by nothing but whitespace.
  std::vector<std::pair<std::string, PyValue>> dict() {
    std::vector<std::pair<std::string, PyValue>> out;
    expect('{', "the header is not a Python dict literal (it does not start with '{')");
    while (peek() != '}') {
      if (peek() != '\'' && peek() != '"') error("expected a string key");
      std::string key = string_literal();
      expect(':', "expected ':' after the key '" + key + "'");
      out.emplace_back(std::move(key), value(0));
      if (peek() != ',') break;
      ++p_;
    }
    expect('}', "expected ',' or '}'");
    skip_space();
    if (p_ != end_) error("unexpected text after the dict");
    return out;
  }

 private:
  static constexpr int kMaxDepth = 8;  // a hostile "((((..." must not exhaust the stack

  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  // The next non-space character, or 0 at the end.
  char peek() {
    skip_space();
    return p_ == end_ ? '\0' : static_cast<char>(*p_);
  }
  void expect(char c, const std::string& problem) {
    if (peek() != c) error(problem);
    ++p_;
  }
  [[noreturn]] void error(const std::string& problem) {
    fail("npy", source_, "cannot parse the header: " + problem + " at byte " + std::to_string(p_ - begin_) +
                             " of the dict");
  }

  PyValue value(int depth) {
    if (depth > kMaxDepth) error("nesting deeper than " + std::to_string(kMaxDepth));
    const char c = peek();
    PyValue v;
    if (c == '\'' || c == '"') {
      v.text = string_literal();
    } else if (c == '(' || c == '[') {
      v = sequence(depth);
    } else if (word("True") || word("False")) {
      v.kind = PyValue::Bool;
      v.flag = c == 'T';
    } else if (c == '-' || c == '+' || (c >= '0' && c <= '9')) {
      v = integer();
    } else {
      error(c ? std::string("unexpected '") + c + "'" : std::string("unexpected end"));
    }
    return v;
  }
  bool word(const char* w) {
    const std::size_t n = std::strlen(w);
    if (static_cast<std::size_t>(end_ - p_) < n || std::memcmp(p_, w, n) != 0) return false;
    p_ += n;
    return true;
  }
  std::string string_literal() {
    const unsigned char quote = *p_++;
    std::string out;
    while (p_ != end_ && *p_ != quote) {
      if (*p_ == '\\' && p_ + 1 != end_) ++p_;  // \' \" \\: the escaped character itself
      out += static_cast<char>(*p_++);
    }
    if (p_ == end_) error("an unterminated string");
    ++p_;
    return out;
  }
  // Digits, an optional sign, and Python 2's 'L' suffix (old NumPy wrote "(3L, 4L)").
  PyValue integer() {
    PyValue v;
    v.kind = PyValue::Int;
    const bool negative = *p_ == '-';
    if (*p_ == '-' || *p_ == '+') ++p_;
    if (p_ == end_ || *p_ < '0' || *p_ > '9') error("expected digits");
    std::uint64_t magnitude = 0;
    for (; p_ != end_ && *p_ >= '0' && *p_ <= '9'; ++p_) {
      const unsigned digit = *p_ - '0';
      if (magnitude > (std::uint64_t(INT64_MAX) - digit) / 10) v.overflow = true;
      else magnitude = magnitude * 10 + digit;
    }
    if (p_ != end_ && *p_ == 'L') ++p_;
    v.number = negative ? -static_cast<std::int64_t>(magnitude) : static_cast<std::int64_t>(magnitude);
    return v;
  }
  // (a, b), (a,), (), [a, b]: trailing commas allowed, as in Python. "(a)" is not a
  // tuple but a parenthesized a, so a shape written "(3)" is refused as NumPy refuses it.
  PyValue sequence(int depth) {
    PyValue v;
    v.kind = *p_ == '(' ? PyValue::Tuple : PyValue::List;
    const char close = *p_ == '(' ? ')' : ']';
    ++p_;
    bool comma = false;
    while (peek() != close) {
      v.items.push_back(value(depth + 1));
      if (peek() != ',') break;
      ++p_;
      comma = true;
    }
    expect(close, std::string("expected ',' or '") + close + "'");
    if (v.kind == PyValue::Tuple && v.items.size() == 1 && !comma) return std::move(v.items[0]);
    return v;
  }

  const unsigned char* begin_;
  const unsigned char* p_;
  const unsigned char* end_;
  const std::string& source_;
};

constexpr std::size_t kMaxDims = 64;  // NumPy 2's limit (NumPy 1's is 32)

// "(3, 4)", "(3,)", "()" as Python prints a tuple.
inline std::string python_shape(const Shape& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

// The 'shape' entry: a tuple of non-negative ints whose product fits in int64. The
// product of the nonzero dimensions must fit too: NumPy takes (0, 2**62, 2**62) as an
// empty array, but its row-major strides (2**124) would overflow int64 in every op.
inline void parse_shape(const PyValue& v, NpyHeader& h, const std::string& source) {
  if (v.kind != PyValue::Tuple) fail("npy", source, "'shape' must be a tuple of non-negative integers");
  if (v.items.size() > kMaxDims)
    fail("npy", source, "'shape' has " + std::to_string(v.items.size()) + " dimensions, more than " +
                            std::to_string(kMaxDims));
  bool has_zero = false;
  for (const PyValue& d : v.items) {
    if (d.kind != PyValue::Int) fail("npy", source, "'shape' must be a tuple of non-negative integers");
    if (d.overflow) fail("npy", source, "a dimension of 'shape' does not fit in int64");
    if (d.number < 0) fail("npy", source, "negative dimension " + std::to_string(d.number) + " in 'shape'");
    has_zero = has_zero || d.number == 0;
    h.shape.push_back(d.number);
  }
  std::int64_t nonzero = 1;
  for (std::int64_t d : h.shape) {
    if (d == 0) continue;
    if (nonzero > INT64_MAX / d)
      fail("npy", source, has_zero ? "the product of the nonzero dimensions of shape " + python_shape(h.shape) +
                                         " overflows int64 (its strides would)"
                                   : "the element count of shape " + python_shape(h.shape) + " overflows int64");
    nonzero *= d;
  }
  h.numel = has_zero ? 0 : nonzero;
}

inline const PyValue& header_entry(const std::vector<std::pair<std::string, PyValue>>& dict, const char* key,
                                   const std::string& source) {
  for (const auto& [k, v] : dict)
    if (k == key) return v;
  fail("npy", source, std::string("the header has no '") + key + "' key (it needs 'descr', 'fortran_order' and 'shape')");
}

inline void check_keys(const std::vector<std::pair<std::string, PyValue>>& dict, const std::string& source) {
  for (std::size_t i = 0; i < dict.size(); ++i) {
    const std::string& k = dict[i].first;
    if (k != "descr" && k != "fortran_order" && k != "shape")
      fail("npy", source, "unexpected key '" + k + "' in the header (it holds 'descr', 'fortran_order' and 'shape')");
    for (std::size_t j = 0; j < i; ++j)
      if (dict[j].first == k) fail("npy", source, "the key '" + k + "' appears twice in the header");
  }
}

// ---- elements ----

// Whether a value of the file converts to T exactly (integer or bool T), or at all
// (float T). numeric_limits<bool> is [0, 1] with 1 digit, so bool needs no case of its own.
template <typename T>
bool fits_int(std::int64_t v) {
  if constexpr (std::is_floating_point_v<T>) {
    return true;
  } else if constexpr (std::is_signed_v<T>) {
    return v >= std::int64_t(std::numeric_limits<T>::min()) && v <= std::int64_t(std::numeric_limits<T>::max());
  } else {
    return v >= 0 && std::uint64_t(v) <= std::uint64_t(std::numeric_limits<T>::max());
  }
}
template <typename T>
bool fits_uint(std::uint64_t v) {
  if constexpr (std::is_floating_point_v<T>) return true;
  else return v <= std::uint64_t(std::numeric_limits<T>::max());
}
template <typename T>
bool fits_float(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return true;
  } else {
    // [min, 2^digits) in doubles: both bounds are exact powers of two.
    const double top = std::ldexp(1.0, std::numeric_limits<T>::digits);
    const double bottom = std::is_signed_v<T> ? -top : 0.0;
    return std::isfinite(v) && v == std::trunc(v) && v >= bottom && v < top;
  }
}

// A double as T. Into float, a finite double beyond float's range becomes +-inf (what
// NumPy's astype gives) rather than the undefined behaviour of the plain conversion.
template <typename T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, float>) {
    if (std::isfinite(v) && std::fabs(v) > double(std::numeric_limits<float>::max()))
      return v > 0 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
  }
  return static_cast<T>(v);
}

// A value for a message: every digit of a double (std::to_string's "%f" shows 1e-300 as 0.000000).
inline std::string show_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Element `index` of the file, at p, as T.
template <typename T>
T read_element(const NpyHeader& h, const unsigned char* p, std::int64_t index, const std::string& source) {
  const std::uint64_t bits = load_uint(p, h.itemsize, h.big_endian);
  auto unfit = [&](const std::string& value) -> T {
    fail("npy", source, "element " + std::to_string(index) + " (" + value + ") of dtype '" + h.descr +
                            "' does not convert exactly to " + descr_of<T>());
  };
  if (h.kind == 'f') {
    double v;
    if (h.itemsize == 2) {
      v = half_to_float(static_cast<std::uint16_t>(bits));
    } else if (h.itemsize == 4) {
      float f;
      const auto b32 = static_cast<std::uint32_t>(bits);
      std::memcpy(&f, &b32, 4);
      v = f;
    } else {
      std::memcpy(&v, &bits, 8);
    }
    if (!fits_float<T>(v)) return unfit(show_double(v));
    return from_double<T>(v);
  }
  if (h.kind == 'i') {
    // Sign-extend from itemsize bytes.
    const unsigned shift = static_cast<unsigned>(64 - 8 * h.itemsize);
    std::int64_t v;
    const std::uint64_t widened = bits << shift;
    std::memcpy(&v, &widened, 8);
    v = shift ? v / (std::int64_t(1) << shift) : v;  // an arithmetic shift without implementation-defined >>
    if (!fits_int<T>(v)) return unfit(std::to_string(v));
    return static_cast<T>(v);
  }
  if (h.kind == 'b') return static_cast<T>(bits != 0);
  if (!fits_uint<T>(bits)) return unfit(std::to_string(bits));
  return static_cast<T>(bits);
}

// Calls f(file_index, c_index) for every element of a Fortran-order array: the file
// holds the first dimension fastest, the tensor the last.
template <typename F>
void for_each_fortran_element(const Shape& shape, std::int64_t numel, F f) {
  const std::size_t nd = shape.size();
  std::vector<std::int64_t> c_stride(nd, 1), index(nd, 0);
  for (std::size_t k = nd; k-- > 1;) c_stride[k - 1] = c_stride[k] * shape[k];
  std::int64_t c = 0;
  for (std::int64_t i = 0; i < numel; ++i) {
    f(i, c);
    for (std::size_t k = 0; k < nd; ++k) {  // odometer, first dimension fastest
      c += c_stride[k];
      if (++index[k] < shape[k]) break;
      c -= c_stride[k] * shape[k];
      index[k] = 0;
    }
  }
}

}  // namespace npy
}  // namespace detail

// Checks the header of a .npy image of `size` bytes (and that the data after it has
// exactly the bytes the shape needs); `source` names it in errors.
inline NpyHeader read_npy_header(const unsigned char* data, std::size_t size, const std::string& source = "<memory>") {
  using detail::npy::fail;
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  // (Not memcmp: an empty image may come as a null pointer, and memcmp of null is undefined even for 0 bytes.)
  if (!std::equal(data, data + std::min<std::size_t>(size, 6), magic))
    fail("npy", source, "not a .npy file (it does not start with \"\\x93NUMPY\")");
  if (size < 10) fail("npy", source, "the file has " + std::to_string(size) + " bytes, too few for a .npy preamble (truncated?)");
  NpyHeader h;
  h.major = data[6];
  h.minor = data[7];
  if (h.minor != 0 || h.major < 1 || h.major > 3)
    fail("npy", source, "unknown .npy format version " + std::to_string(h.major) + "." + std::to_string(h.minor) +
                            " (this reader knows 1.0, 2.0 and 3.0)");
  const std::size_t length_bytes = h.major == 1 ? 2 : 4;
  if (size < 8 + length_bytes) fail("npy", source, "the file ends inside the header length (truncated?)");
  const std::uint64_t header_len = detail::npy::load_uint(data + 8, length_bytes, false);
  const std::size_t header_start = 8 + length_bytes;
  if (header_len > size - header_start)
    fail("npy", source, "the header length " + std::to_string(header_len) + " runs past the end of the file (" +
                            std::to_string(size) + " bytes; truncated?)");
  h.data_start = header_start + static_cast<std::size_t>(header_len);

  detail::npy::LiteralParser parser(data + header_start, data + h.data_start, source);
  const auto dict = parser.dict();
  detail::npy::check_keys(dict, source);
  const auto& descr = detail::npy::header_entry(dict, "descr", source);
  const auto& fortran = detail::npy::header_entry(dict, "fortran_order", source);
  const auto& shape = detail::npy::header_entry(dict, "shape", source);
  if (descr.kind == detail::npy::PyValue::List)
    fail("npy", source, "structured dtypes (a list 'descr', a record array) are not supported; " +
                            std::string(detail::npy::kSupportedDtypes));
  if (descr.kind != detail::npy::PyValue::String) fail("npy", source, "'descr' must be a string such as '<f4'");
  detail::npy::parse_descr(descr.text, h, source);
  if (fortran.kind != detail::npy::PyValue::Bool) fail("npy", source, "'fortran_order' must be True or False");
  h.fortran_order = fortran.flag;
  detail::npy::parse_shape(shape, h, source);

  const std::size_t available = size - h.data_start;
  if (static_cast<std::uint64_t>(h.numel) > available / h.itemsize)
    fail("npy", source, "the data has " + std::to_string(available) + " bytes, fewer than shape " +
                            detail::npy::python_shape(h.shape) + " needs (" + std::to_string(h.numel) + " elements of " +
                            std::to_string(h.itemsize) + " bytes; truncated?)");
  const std::size_t used = static_cast<std::size_t>(h.numel) * h.itemsize;
  if (used != available)
    fail("npy", source, "the file has " + std::to_string(available - used) + " bytes after the data of shape " +
                            detail::npy::python_shape(h.shape) +
                            " (a wrong shape, or several arrays saved to one file, which is not supported)");
  return h;
}

// Reads an in-memory .npy image, converting to T and into C order.
template <typename T>
Tensor<T> load_npy_from_memory(const unsigned char* data, std::size_t size, const std::string& source = "<memory>") {
  static_assert(detail::npy::kind_of<T>() != 0, "");
  const NpyHeader h = read_npy_header(data, size, source);
  Tensor<T> t = empty<T>(h.shape);
  if (h.numel == 0) return t;
  const unsigned char* src = data + h.data_start;
  T* dst = t.data_ptr();
  // The common case, the file's layout is T's in memory: one copy. Never for bool: a
  // '|b1' byte may be any nonzero value, and a bool holding 2 is undefined behaviour.
  const bool native = !std::is_same_v<T, bool> && h.kind == detail::npy::kind_of<T>() && h.itemsize == sizeof(T) &&
                      (h.itemsize == 1 || h.big_endian != detail::little_endian());
  if (native && (!h.fortran_order || h.shape.size() < 2)) {
    std::memcpy(dst, src, static_cast<std::size_t>(h.numel) * sizeof(T));
  } else if (!h.fortran_order) {
    for (std::int64_t i = 0; i < h.numel; ++i)
      dst[i] = detail::npy::read_element<T>(h, src + static_cast<std::size_t>(i) * h.itemsize, i, source);
  } else {
    detail::npy::for_each_fortran_element(h.shape, h.numel, [&](std::int64_t i, std::int64_t c) {
      dst[c] = detail::npy::read_element<T>(h, src + static_cast<std::size_t>(i) * h.itemsize, i, source);
    });
  }
  return t;
}

// Reads a .npy file.
template <typename T>
Tensor<T> load_npy(const std::string& path) {
  const std::vector<unsigned char> bytes = detail::read_file(path, "load_npy");
  return load_npy_from_memory<T>(bytes.data(), bytes.size(), "\"" + path + "\"");
}

// The .npy image of a tensor (what save_npy writes), laid out as np.save lays it out:
// the dict with its keys sorted, 21 - len(str(shape[0])) spaces of room for the first
// dimension to grow, then spaces and '\n' up to the next multiple of 64 (a full 64 when
// already aligned, as NumPy does); version 2.0 only when the header needs it.
template <typename T>
std::vector<unsigned char> npy_bytes(const Tensor<T>& t) {
  if (!t.defined()) throw IOError("npy_bytes: the tensor is undefined");
  const Shape& shape = t.shape();
  // The reader's limit (NumPy 2's), so that what is written can be read back.
  if (shape.size() > detail::npy::kMaxDims)
    throw IOError("npy_bytes: a tensor of " + std::to_string(shape.size()) + " dimensions; this reader takes at most " +
                  std::to_string(detail::npy::kMaxDims));
  std::string header = "{'descr': '" + detail::npy::descr_of<T>() + "', 'fortran_order': False, 'shape': " +
                       detail::npy::python_shape(shape) + ", }";
  if (!shape.empty()) header.append(21 - std::min<std::size_t>(21, std::to_string(shape[0]).size()), ' ');
  int major = 1;
  std::size_t prefix = 10;
  std::size_t pad = 64 - (prefix + header.size() + 1) % 64;
  if (header.size() + 1 + pad > 65535) {
    major = 2;
    prefix = 12;
    pad = 64 - (prefix + header.size() + 1) % 64;
  }
  header.append(pad, ' ');
  header += '\n';
  std::vector<unsigned char> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<unsigned char>(major), 0};
  out.reserve(prefix + header.size() + static_cast<std::size_t>(t.numel()) * sizeof(T));
  detail::npy::store_le(out, header.size(), major == 1 ? 2 : 4);
  out.insert(out.end(), header.begin(), header.end());
  const T* p = t.data_ptr();
  if (t.numel() == 0) return out;
  if (detail::little_endian()) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(p);
    out.insert(out.end(), bytes, bytes + static_cast<std::size_t>(t.numel()) * sizeof(T));
  } else {
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      std::conditional_t<sizeof(T) == 8, std::uint64_t,
                         std::conditional_t<sizeof(T) == 4, std::uint32_t,
                                            std::conditional_t<sizeof(T) == 2, std::uint16_t, std::uint8_t>>>
          bits;
      std::memcpy(&bits, p + i, sizeof(T));
      detail::npy::store_le(out, bits, sizeof(T));
    }
  }
  return out;
}

// Writes a tensor as .npy (atomically: "<path>.tmp", then renamed).
template <typename T>
void save_npy(const Tensor<T>& t, const std::string& path) {
  detail::write_file_atomically(npy_bytes(t), path, "save_npy");
}

// ======================================================================== .npz

namespace detail {
namespace zip {

using npy::fail;

// CRC-32 of zip (and gzip, PNG): reflected polynomial 0xEDB88320, one table lookup per byte.
inline std::uint32_t crc32(const unsigned char* p, std::size_t n) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

// A deflate (RFC 1951) decoder in the manner of zlib's puff.c: canonical Huffman codes
// decoded a bit at a time. Simple rather than fast (tens of MB/s), and it never writes
// past `limit` bytes or reads past the input.
class Inflater {
 public:
  Inflater(const unsigned char* in, std::size_t size, std::size_t limit, const std::string& where)
      : in_(in), size_(size), limit_(limit), where_(where) {}

  std::vector<unsigned char> run() {
    out_.reserve(limit_);
    bool last = false;
    while (!last) {
      last = bits(1) != 0;
      const int type = bits(2);
      if (type == 0) stored();
      else if (type == 1) codes(fixed_tables().first, fixed_tables().second);
      else if (type == 2) dynamic();
      else bad("block type 3 (reserved)");
    }
    return std::move(out_);
  }

 private:
  struct Huffman {
    std::array<short, 16> count{};    // codes of each length
    std::array<short, 288> symbol{};  // symbols ordered by code
  };

  [[noreturn]] void bad(const std::string& why) { fail("npz", where_, "corrupt deflate data: " + why); }

  int bits(int need) {
    while (bitcnt_ < need) {
      if (pos_ == size_) bad("it ends early");
      bitbuf_ |= std::uint32_t(in_[pos_++]) << bitcnt_;
      bitcnt_ += 8;
    }
    const int v = static_cast<int>(bitbuf_ & ((1u << need) - 1));
    bitbuf_ >>= need;
    bitcnt_ -= need;
    return v;
  }

  void put(unsigned char c) {
    if (out_.size() == limit_) bad("it holds more than the entry's declared size");
    out_.push_back(c);
  }

  void stored() {
    bitbuf_ = 0;  // to the byte boundary
    bitcnt_ = 0;
    if (size_ - pos_ < 4) bad("it ends in a stored block's length");
    const std::size_t len = in_[pos_] | (in_[pos_ + 1] << 8);
    const std::size_t nlen = in_[pos_ + 2] | (in_[pos_ + 3] << 8);
    if (len != (~nlen & 0xFFFF)) bad("a stored block's length check fails");
    pos_ += 4;
    if (size_ - pos_ < len) bad("it ends in a stored block");
    if (limit_ - out_.size() < len) bad("it holds more than the entry's declared size");
    out_.insert(out_.end(), in_ + pos_, in_ + pos_ + len);
    pos_ += len;
  }

  // Canonical code from code lengths: 0 if complete, > 0 if incomplete, < 0 if over-subscribed.
  static int build(Huffman& h, const short* length, int n) {
    h.count.fill(0);
    for (int s = 0; s < n; ++s) ++h.count[static_cast<std::size_t>(length[s])];
    if (h.count[0] == n) return 0;  // no codes (decoding one then fails)
    int left = 1;
    for (std::size_t len = 1; len <= 15; ++len) {
      left = 2 * left - h.count[len];
      if (left < 0) return left;
    }
    std::array<short, 16> offset{};
    for (std::size_t len = 1; len < 15; ++len) offset[len + 1] = static_cast<short>(offset[len] + h.count[len]);
    for (int s = 0; s < n; ++s)
      if (length[s] != 0) h.symbol[static_cast<std::size_t>(offset[static_cast<std::size_t>(length[s])]++)] = static_cast<short>(s);
    return left;
  }

  int decode(const Huffman& h) {
    int code = 0, first = 0, index = 0;
    for (std::size_t len = 1; len <= 15; ++len) {
      code |= bits(1);
      const int count = h.count[len];
      if (code - count < first) return h.symbol[static_cast<std::size_t>(index + (code - first))];
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    bad("a Huffman code not in the table");
  }

  void codes(const Huffman& lencode, const Huffman& distcode) {
    static const int lbase[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                  35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const int lext[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    static const int dbase[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
                                  513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    static const int dext[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
    for (;;) {
      int symbol = decode(lencode);
      if (symbol < 256) {
        put(static_cast<unsigned char>(symbol));
        continue;
      }
      if (symbol == 256) return;
      symbol -= 257;
      if (symbol >= 29) bad("an invalid length symbol");
      const std::size_t len = static_cast<std::size_t>(lbase[symbol] + bits(lext[symbol]));
      const int dsym = decode(distcode);
      if (dsym >= 30) bad("an invalid distance symbol");
      const std::size_t dist = static_cast<std::size_t>(dbase[dsym] + bits(dext[dsym]));
      if (dist > out_.size()) bad("a distance back past the start of the data");
      for (std::size_t i = 0; i < len; ++i) put(out_[out_.size() - dist]);
    }
  }

  static const std::pair<Huffman, Huffman>& fixed_tables() {
    static const std::pair<Huffman, Huffman> tables = [] {
      std::pair<Huffman, Huffman> t;
      short lengths[288];
      for (int s = 0; s < 288; ++s) lengths[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
      build(t.first, lengths, 288);
      for (short& l : lengths) l = 5;
      build(t.second, lengths, 30);
      return t;
    }();
    return tables;
  }

  void dynamic() {
    static const int order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    const int nlen = bits(5) + 257, ndist = bits(5) + 1, ncode = bits(4) + 4;
    if (nlen > 286 || ndist > 30) bad("too many length or distance codes");
    short lengths[320] = {};
    for (int i = 0; i < ncode; ++i) lengths[order[i]] = static_cast<short>(bits(3));
    Huffman lencode, distcode;
    if (build(lencode, lengths, 19) != 0) bad("an incomplete code-length code");
    for (int index = 0; index < nlen + ndist;) {
      const int symbol = decode(lencode);
      if (symbol < 16) {
        lengths[index++] = static_cast<short>(symbol);
        continue;
      }
      short len = 0;
      int repeat;
      if (symbol == 16) {
        if (index == 0) bad("a repeat with no previous length");
        len = lengths[index - 1];
        repeat = 3 + bits(2);
      } else {
        repeat = symbol == 17 ? 3 + bits(3) : 11 + bits(7);
      }
      if (index + repeat > nlen + ndist) bad("too many code lengths");
      while (repeat--) lengths[index++] = len;
    }
    if (lengths[256] == 0) bad("no end-of-block code");
    // Incomplete codes are allowed only when they hold a single symbol (RFC 1951, 3.2.7).
    int err = build(lencode, lengths, nlen);
    if (err < 0 || (err > 0 && nlen - lencode.count[0] != 1)) bad("an invalid literal/length code");
    err = build(distcode, lengths + nlen, ndist);
    if (err < 0 || (err > 0 && ndist - distcode.count[0] != 1)) bad("an invalid distance code");
    codes(lencode, distcode);
  }

  const unsigned char* in_;
  std::size_t size_, pos_ = 0, limit_;
  std::uint32_t bitbuf_ = 0;
  int bitcnt_ = 0;
  const std::string& where_;
  std::vector<unsigned char> out_;
};

inline std::uint32_t u16(const unsigned char* p) { return static_cast<std::uint32_t>(npy::load_uint(p, 2, false)); }
inline std::uint32_t u32(const unsigned char* p) { return static_cast<std::uint32_t>(npy::load_uint(p, 4, false)); }

constexpr std::uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50,
                        kZip64LocatorSig = 0x07064b50;

// One central-directory record, and where its data begins (after its local header).
struct Entry {
  std::string name;
  std::uint32_t flags = 0, method = 0, crc = 0, compressed = 0, uncompressed = 0, local_offset = 0;
  std::size_t data_begin = 0;  // set by locate_entries
};

// The checked central directory; every local header and entry's data lies before `offset`.
struct Directory {
  std::vector<Entry> entries;
  std::size_t offset = 0;
};

// Finds the end-of-central-directory record: the last signature with room for its comment.
inline std::size_t find_end_record(const unsigned char* data, std::size_t size, const std::string& source) {
  if (size < 22) fail("npz", source, "the file has " + std::to_string(size) + " bytes, too few for a zip archive (truncated?)");
  const std::size_t lowest = size - 22 > 65535 ? size - 22 - 65535 : 0;
  for (std::size_t pos = size - 22 + 1; pos-- > lowest;)
    if (u32(data + pos) == kEndSig && pos + 22 + u16(data + pos + 20) <= size) return pos;
  fail("npz", source, "not a zip archive (no end-of-central-directory record; truncated?)");
}

// The checked central directory.
inline Directory read_directory(const unsigned char* data, std::size_t size, const std::string& source) {
  const std::size_t end = find_end_record(data, size, source);
  const unsigned char* e = data + end;
  const std::uint32_t disk = u16(e + 4), cd_disk = u16(e + 6), here = u16(e + 8), total = u16(e + 10);
  const std::uint32_t cd_size = u32(e + 12), cd_offset = u32(e + 16);
  if ((end >= 20 && u32(data + end - 20) == kZip64LocatorSig) || here == 0xFFFF || total == 0xFFFF ||
      cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF)
    fail("npz", source, "ZIP64 archives (over 4 GB or 65535 entries) are not supported");
  if (disk != 0 || cd_disk != 0 || here != total) fail("npz", source, "multi-disk (split) zip archives are not supported");
  if (std::uint64_t(cd_offset) + cd_size > end)
    fail("npz", source, "the central directory (" + std::to_string(cd_size) + " bytes at " + std::to_string(cd_offset) +
                            ") runs past its end record at " + std::to_string(end));
  Directory dir;
  dir.offset = cd_offset;
  std::size_t p = cd_offset;
  const std::size_t cd_end = std::size_t(cd_offset) + cd_size;
  for (std::uint32_t i = 0; i < total; ++i) {
    if (cd_end - p < 46 || u32(data + p) != kCentralSig)
      fail("npz", source, "central directory record " + std::to_string(i) + " is corrupt or missing");
    const unsigned char* r = data + p;
    const std::size_t name_len = u16(r + 28), extra_len = u16(r + 30), comment_len = u16(r + 32);
    if (cd_end - p - 46 < name_len + extra_len + comment_len)
      fail("npz", source, "central directory record " + std::to_string(i) + " runs past the directory");
    Entry entry;
    entry.name.assign(reinterpret_cast<const char*>(r + 46), name_len);
    entry.flags = u16(r + 8);
    entry.method = u16(r + 10);
    entry.crc = u32(r + 16);
    entry.compressed = u32(r + 20);
    entry.uncompressed = u32(r + 24);
    entry.local_offset = u32(r + 42);
    const std::string where = "entry \"" + entry.name + "\"";
    if (entry.compressed == 0xFFFFFFFF || entry.uncompressed == 0xFFFFFFFF || entry.local_offset == 0xFFFFFFFF)
      fail("npz", source, where + " needs ZIP64 (over 4 GB), which is not supported");
    if (u16(r + 34) != 0) fail("npz", source, where + " is on another disk; multi-disk archives are not supported");
    dir.entries.push_back(std::move(entry));
    p += 46 + name_len + extra_len + comment_len;
  }
  return dir;
}

// Checks each entry's method and local header and sets its data_begin; then that no two
// entries' bytes (local header to end of data) overlap. Overlapping entries are how the
// worst zip bombs reuse one compressed stream under many names (Python's zipfile refuses
// them too); without overlap, all the entries together inflate to at most 1032 times
// the archive's size (see entry_data).
inline void locate_entries(const unsigned char* data, Directory& dir, const std::string& source) {
  for (Entry& entry : dir.entries) {
    const std::string where = "entry \"" + entry.name + "\"";
    if (entry.flags & 0x41) fail("npz", source, where + " is encrypted; encrypted archives are not supported");
    if (entry.method != 0 && entry.method != 8)
      fail("npz", source, where + " uses compression method " + std::to_string(entry.method) +
                              "; only stored (np.savez) and deflated (np.savez_compressed) entries are supported");
    // The local header: its own name and extra field (np.savez puts a ZIP64 size field
    // there) precede the data; its sizes may be placeholders, the central record's count.
    const std::size_t at = entry.local_offset;
    if (at > dir.offset || dir.offset - at < 30 || u32(data + at) != kLocalSig)
      fail("npz", source, where + ": no local file header at offset " + std::to_string(at) +
                              " (the central directory starts at " + std::to_string(dir.offset) + ")");
    const std::size_t name_len = u16(data + at + 26), extra_len = u16(data + at + 28);
    const std::size_t begin = at + 30 + name_len + extra_len;
    if (begin > dir.offset || dir.offset - begin < entry.compressed)
      fail("npz", source, where + ": its data runs past the start of the central directory (truncated or corrupt)");
    if (name_len != entry.name.size() || !std::equal(entry.name.begin(), entry.name.end(), data + at + 30))
      fail("npz", source, where + ": the local header names a different file");
    entry.data_begin = begin;
  }
  std::vector<const Entry*> order;
  for (const Entry& entry : dir.entries) order.push_back(&entry);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) { return a->local_offset < b->local_offset; });
  for (std::size_t i = 1; i < order.size(); ++i) {
    const Entry& a = *order[i - 1];
    const Entry& b = *order[i];
    if (a.data_begin + a.compressed > b.local_offset)
      fail("npz", source, "entries \"" + a.name + "\" and \"" + b.name + "\" overlap in the archive (a zip bomb?)");
  }
}

// Bytes of a stored entry point into the archive; a deflated one is decoded into `owned`.
struct EntryData {
  const unsigned char* data = nullptr;
  std::size_t size = 0;
  std::vector<unsigned char> owned;
};

// The bytes of an entry that locate_entries has checked, inflated if deflated, CRC-checked.
inline EntryData entry_data(const unsigned char* data, const Entry& entry, const std::string& source) {
  const std::string where = "entry \"" + entry.name + "\"";
  const std::size_t begin = entry.data_begin;
  EntryData out;
  if (entry.method == 0) {
    if (entry.compressed != entry.uncompressed)
      fail("npz", source, where + " is stored but its sizes differ (" + std::to_string(entry.compressed) + " and " +
                              std::to_string(entry.uncompressed) + ")");
    out.data = data + begin;
    out.size = entry.compressed;
  } else {
    // Deflate expands at most 1032:1 (a 258-byte match in 2 bits): a larger claim is
    // corrupt, not a reason to allocate. The inflater reserves the declared size and
    // stops at it, so a stream that lies about its size never allocates more.
    if (entry.uncompressed > 1032.0 * entry.compressed + 64)
      fail("npz", source, where + " claims " + std::to_string(entry.uncompressed) + " bytes from " +
                              std::to_string(entry.compressed) + " compressed bytes, more than deflate can encode");
    const std::string inflate_where = source + " " + where;
    out.owned = Inflater(data + begin, entry.compressed, entry.uncompressed, inflate_where).run();
    if (out.owned.size() != entry.uncompressed)
      fail("npz", source, where + " inflates to " + std::to_string(out.owned.size()) + " bytes, not the declared " +
                              std::to_string(entry.uncompressed));
    out.data = out.owned.data();
    out.size = out.owned.size();
  }
  const std::uint32_t crc = crc32(out.data, out.size);
  if (crc != entry.crc)
    fail("npz", source, where + ": CRC-32 mismatch (the data is corrupt; stored " + std::to_string(entry.crc) +
                            ", computed " + std::to_string(crc) + ")");
  return out;
}

inline void put16(std::vector<unsigned char>& out, std::size_t v) { npy::store_le(out, v, 2); }
inline void put32(std::vector<unsigned char>& out, std::size_t v) { npy::store_le(out, v, 4); }

// The fields shared by a local header and a central record, from "version needed" on.
inline void put_common(std::vector<unsigned char>& out, const std::string& name, std::uint32_t crc, std::size_t size) {
  const bool utf8 = std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  put16(out, 20);                  // version needed: 2.0
  put16(out, utf8 ? 0x800 : 0);    // flags: bit 11, the name is UTF-8
  put16(out, 0);                   // method: stored
  put16(out, 0);                   // time 00:00:00 and
  put16(out, (0 << 9) | (1 << 5) | 1);  // date 1980-01-01: the same tensors give the same bytes
  put32(out, crc);
  put32(out, size);  // compressed
  put32(out, size);  // uncompressed
  put16(out, name.size());
  put16(out, 0);  // extra field length
}

}  // namespace zip
}  // namespace detail

// Reads every array of an in-memory .npz image into a state dict, keyed by entry name
// without ".npy", in the archive's order.
template <typename T>
StateDict<T> load_npz_from_memory(const unsigned char* data, std::size_t size, const std::string& source = "<memory>") {
  using detail::zip::fail;
  detail::zip::Directory dir = detail::zip::read_directory(data, size, source);
  // Names, then local headers, before anything is inflated or allocated.
  std::vector<std::string> names;
  for (const auto& entry : dir.entries) {
    const std::string& name = entry.name;
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".npy") != 0)
      fail("npz", source, "entry \"" + name + "\" is not a .npy file (np.savez names every array \"<key>.npy\")");
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  const auto twice = std::adjacent_find(names.begin(), names.end());
  if (twice != names.end()) fail("npz", source, "the archive holds \"" + *twice + "\" twice");
  detail::zip::locate_entries(data, dir, source);
  StateDict<T> out;
  for (const auto& entry : dir.entries) {
    const detail::zip::EntryData bytes = detail::zip::entry_data(data, entry, source);
    out.insert(entry.name.substr(0, entry.name.size() - 4),
               load_npy_from_memory<T>(bytes.data, bytes.size, source + " entry \"" + entry.name + "\""));
  }
  return out;
}

// Reads a .npz file (np.savez or np.savez_compressed).
template <typename T>
StateDict<T> load_npz(const std::string& path) {
  const std::vector<unsigned char> bytes = detail::read_file(path, "load_npz");
  return load_npz_from_memory<T>(bytes.data(), bytes.size(), "\"" + path + "\"");
}

// The .npz image of a state dict (what save_npz writes): a stored zip of "<key>.npy".
template <typename T>
std::vector<unsigned char> npz_bytes(const StateDict<T>& sd) {
  using detail::zip::put16;
  using detail::zip::put32;
  constexpr std::size_t kLimit = 0xFFFFFFFE;  // beyond needs ZIP64
  if (sd.size() >= 0xFFFF) throw IOError("npz_bytes: " + std::to_string(sd.size()) + " entries need ZIP64, which is not supported");
  std::vector<unsigned char> out, directory;
  for (const auto& [key, t] : sd) {
    if (!t.defined()) throw IOError("npz_bytes: the tensor \"" + key + "\" is undefined");
    const std::string name = key + ".npy";
    if (name.size() > 0xFFFF) throw IOError("npz_bytes: the key \"" + key.substr(0, 40) + "...\" is too long for a zip entry");
    const std::vector<unsigned char> npy = npy_bytes(t);
    if (npy.size() > kLimit || out.size() > kLimit)
      throw IOError("npz_bytes: the archive would exceed 4 GB at \"" + key + "\", which needs ZIP64 (not supported)");
    const std::uint32_t crc = detail::zip::crc32(npy.data(), npy.size());
    const std::size_t offset = out.size();
    put32(out, detail::zip::kLocalSig);
    detail::zip::put_common(out, name, crc, npy.size());
    out.insert(out.end(), name.begin(), name.end());
    out.insert(out.end(), npy.begin(), npy.end());

    put32(directory, detail::zip::kCentralSig);
    put16(directory, (3 << 8) | 20);  // made by: Unix, zip 2.0 (so the attributes below mean rw-r--r--)
    detail::zip::put_common(directory, name, crc, npy.size());
    put16(directory, 0);                  // comment length
    put16(directory, 0);                  // disk
    put16(directory, 0);                  // internal attributes
    put32(directory, 0100644u << 16);     // external: a regular file, rw-r--r--
    put32(directory, offset);
    directory.insert(directory.end(), name.begin(), name.end());
  }
  if (out.size() > kLimit || directory.size() > kLimit)
    throw IOError("npz_bytes: the archive would exceed 4 GB, which needs ZIP64 (not supported)");
  const std::size_t cd_offset = out.size();
  out.insert(out.end(), directory.begin(), directory.end());
  put32(out, detail::zip::kEndSig);
  put16(out, 0);  // this disk
  put16(out, 0);  // the directory's disk
  put16(out, sd.size());
  put16(out, sd.size());
  put32(out, directory.size());
  put32(out, cd_offset);
  put16(out, 0);  // comment length
  return out;
}

// Writes a state dict as .npz (atomically: "<path>.tmp", then renamed); np.load reads it.
template <typename T>
void save_npz(const StateDict<T>& sd, const std::string& path) {
  detail::write_file_atomically(npz_bytes(sd), path, "save_npz");
}

}  // namespace tapegrad

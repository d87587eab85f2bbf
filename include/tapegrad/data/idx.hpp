#pragma once
// IDX files, the format of MNIST, Fashion-MNIST, EMNIST and KMNIST (yann.lecun.com/exdb/mnist):
//
//   bytes 0-1   0x00 0x00
//   byte  2     the element type: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
//   byte  3     the number of dimensions, 1..8 here
//   then        one big-endian uint32 size per dimension
//   then        the elements, big-endian, row-major
//
//   auto images = tg::data::read_idx_images<float>("train-images-idx3-ubyte.gz");  // [N, 28, 28] in [0, 1]
//   auto labels = tg::data::read_idx_labels("train-labels-idx1-ubyte.gz");        // [N] int64
//   tg::data::IdxArray raw = tg::data::read_idx("file.idx");                      // type, dims, bytes
//
// Plain and gzip'd files are both read; gzip is recognised by its magic bytes 1f 8b, not
// by the name. Every size is checked against the data actually present before anything
// is allocated for it (a gzip stream is decompressed in pieces, and no further than the
// header's sizes justify), and every failure is a tg::IOError naming the source, the byte
// offset (of the decompressed data, for a .gz) and the problem.

#include "../core.hpp"
#include "../io/file.hpp"
#include "gzip.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace tapegrad {
namespace data {

// The element type codes of the IDX format.
enum class IdxType : std::uint8_t { U8 = 0x08, I8 = 0x09, I16 = 0x0B, I32 = 0x0C, F32 = 0x0D, F64 = 0x0E };

// Bytes per element of a type, 0 for a code that is not one.
inline std::size_t idx_itemsize(std::uint8_t code) {
  switch (code) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
  }
}
inline const char* idx_type_name(IdxType type) {
  switch (type) {
    case IdxType::U8: return "u8";
    case IdxType::I8: return "i8";
    case IdxType::I16: return "i16";
    case IdxType::I32: return "i32";
    case IdxType::F32: return "f32";
    case IdxType::F64: return "f64";
  }
  return "?";
}

// What a reader accepts. The default fits every dataset of the family (EMNIST's largest
// file is about 560 MB) while a corrupt header cannot ask for more than 4 GiB.
struct IdxOptions {
  std::uint64_t max_bytes = std::uint64_t(1) << 32;  // of element data
};

// An IDX array as stored: the type, the sizes and the elements' bytes (big-endian, as in
// the file); value(i) and to_tensor<T>() decode them.
struct IdxArray {
  IdxType type = IdxType::U8;
  Shape dims;
  std::vector<unsigned char> bytes;

  std::size_t itemsize() const { return idx_itemsize(static_cast<std::uint8_t>(type)); }
  std::int64_t numel() const { return static_cast<std::int64_t>(bytes.size() / itemsize()); }

  // Element i (row-major) as a double; every IDX type converts exactly.
  double value(std::int64_t i) const {
    const unsigned char* p = bytes.data() + static_cast<std::size_t>(i) * itemsize();
    std::uint64_t bits = 0;
    for (std::size_t k = 0; k < itemsize(); ++k) bits = (bits << 8) | p[k];
    switch (type) {
      case IdxType::U8: return static_cast<double>(bits);
      case IdxType::I8: return static_cast<double>(static_cast<std::int8_t>(bits));
      case IdxType::I16: return static_cast<double>(static_cast<std::int16_t>(bits));
      case IdxType::I32: return static_cast<double>(static_cast<std::int32_t>(bits));
      case IdxType::F32: {
        const std::uint32_t b32 = static_cast<std::uint32_t>(bits);
        float f;
        std::memcpy(&f, &b32, 4);
        return static_cast<double>(f);
      }
      case IdxType::F64: {
        double d;
        std::memcpy(&d, &bits, 8);
        return d;
      }
    }
    return 0;
  }

  // The elements as a tensor of shape dims. Into std::int64_t every integer type fits,
  // and a float element must be a whole number (else a tg::IOError naming it).
  template <typename T>
  Tensor<T> to_tensor(const std::string& source = "<memory>") const {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::int64_t>,
                  "IdxArray::to_tensor: T must be float, double or std::int64_t");
    Tensor<T> t = empty<T>(dims);
    T* out = t.data_ptr();
    const std::int64_t n = numel();
    for (std::int64_t i = 0; i < n; ++i) {
      const double v = value(i);
      if constexpr (std::is_integral_v<T>) {
        // |v| < 2^63 and whole: the cast is exact (f32/f64 elements can be anything).
        if (!(std::abs(v) < 9.2233720368547758e18) || v != std::floor(v))
          throw IOError("idx: " + source + ": element " + std::to_string(i) + " (" + std::to_string(v) +
                        ") is not a whole number, so it cannot be read as an integer");
      }
      out[i] = static_cast<T>(v);
    }
    return t;
  }
};

namespace detail {
namespace idx {

[[noreturn]] inline void fail(const std::string& source, std::uint64_t offset, const std::string& problem) {
  throw IOError("idx: " + source + ": at byte " + std::to_string(offset) + ": " + problem);
}

inline std::string show_dims(const Shape& dims) {
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? " x " : "") + std::to_string(dims[i]);
  return s;
}

// Where the bytes come from: memory, or a gzip stream decompressed as it is read.
class ByteSource {
 public:
  ByteSource(const unsigned char* data, std::size_t size, const std::string& source)
      : data_(data), size_(size), source_(source) {
    if (is_gzip(data, size)) gzip_.reset(new GzipReader(data, size, source));
  }
  std::size_t read(unsigned char* out, std::size_t n) {
    if (gzip_) return gzip_->read(out, n);
    const std::size_t got = std::min(n, size_ - at_);
    if (got) std::memcpy(out, data_ + at_, got);
    at_ += got;
    return got;
  }
  // Bytes left: known in memory, found by reading on (in pieces) for a gzip stream.
  std::uint64_t count_rest() {
    if (!gzip_) return size_ - at_;
    std::uint64_t rest = 0;
    unsigned char sink[1 << 14];
    while (std::size_t got = gzip_->read(sink, sizeof sink)) rest += got;
    return rest;
  }
  bool gzipped() const { return gzip_ != nullptr; }
  std::uint64_t remaining_in_memory() const { return size_ - at_; }

 private:
  const unsigned char* data_;
  std::size_t size_;
  std::size_t at_ = 0;
  std::string source_;
  std::unique_ptr<GzipReader> gzip_;
};

inline std::string type_codes() { return "0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64"; }

// Reads the magic and the sizes; returns the element bytes the header claims.
inline std::uint64_t read_header(ByteSource& in, IdxArray& out, const IdxOptions& options, const std::string& source) {
  unsigned char magic[4];
  const std::size_t got = in.read(magic, 4);
  if (got < 4) fail(source, got, "the file has " + std::to_string(got) + " bytes, too few for the 4-byte IDX magic (truncated?)");
  if (magic[0] != 0 || magic[1] != 0)
    fail(source, 0, "not an IDX file (it does not start with two zero bytes; the magic is 00 00 <type> <dims>)");
  if (idx_itemsize(magic[2]) == 0) {
    char code[8];
    std::snprintf(code, sizeof code, "0x%02X", static_cast<unsigned>(magic[2]));
    fail(source, 2, std::string("unknown element type code ") + code + " (known: " + type_codes() + ")");
  }
  out.type = static_cast<IdxType>(magic[2]);
  const unsigned ndims = magic[3];
  if (ndims == 0 || ndims > 8)
    fail(source, 3, std::to_string(ndims) + " dimensions; this reader takes 1 to 8");
  std::uint64_t bytes = out.itemsize();
  bool too_big = false;
  // An empty array's other sizes still become the tensor's strides, whose products
  // must fit int64: bound the product of the nonzero sizes too.
  std::uint64_t nonzero_product = 1;
  bool strides_overflow = false;
  for (unsigned d = 0; d < ndims; ++d) {
    unsigned char b[4];
    const std::size_t n = in.read(b, 4);
    if (n < 4) fail(source, 4 + 4 * d + n, "the file ends inside the size of dimension " + std::to_string(d) + " (truncated?)");
    const std::uint32_t size = (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8) | b[3];
    out.dims.push_back(size);
    if (size != 0 && !strides_overflow) {
      if (nonzero_product > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / size)
        strides_overflow = true;
      else nonzero_product *= size;
    }
    // bytes * size <= max_bytes exactly when bytes <= max_bytes / size (never
    // overflowing); past the limit only a later zero size matters.
    if (size == 0) {
      bytes = 0;
      too_big = false;
    } else if (bytes != 0 && !too_big) {
      if (bytes > options.max_bytes / size) too_big = true;
      else bytes *= size;
    }
  }
  if (too_big || bytes > options.max_bytes)
    fail(source, 4, "sizes " + show_dims(out.dims) + " of " + idx_type_name(out.type) + " need more than " +
                        std::to_string(options.max_bytes) + " bytes (IdxOptions::max_bytes); a corrupt header?");
  if (strides_overflow)
    fail(source, 4, "sizes " + show_dims(out.dims) + ": the product of the nonzero sizes overflows 64 bits (a corrupt header?)");
  return bytes;
}

// The element bytes: checked against what the input holds before they are kept.
inline void read_data(ByteSource& in, IdxArray& out, std::uint64_t expected, const std::string& source) {
  const std::uint64_t start = 4 + 4 * out.dims.size();
  const std::string what = "sizes " + show_dims(out.dims) + " of " + idx_type_name(out.type) + " need " +
                           std::to_string(expected) + " bytes of data";
  if (!in.gzipped() && in.remaining_in_memory() < expected)
    fail(source, start, what + ", the file has " + std::to_string(in.remaining_in_memory()) + " (truncated?)");
  // A gzip stream's length is known only by inflating it: keep what arrives, in pieces,
  // so memory follows the data present, never the claim.
  constexpr std::size_t kChunk = std::size_t(1) << 20;
  while (out.bytes.size() < expected) {
    const std::size_t old = out.bytes.size();
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, expected - old));
    out.bytes.resize(old + want);
    const std::size_t got = in.read(out.bytes.data() + old, want);
    out.bytes.resize(old + got);
    if (got < want) fail(source, start + old + got, what + ", the file has " + std::to_string(old + got) + " (truncated?)");
  }
  const std::uint64_t rest = in.count_rest();
  if (rest != 0)
    fail(source, start + expected, std::to_string(rest) + " bytes after the data (" + what +
                                       "); wrong sizes in the header, or two arrays in one file?");
}

}  // namespace idx
}  // namespace detail

// Parses an IDX image in memory, plain or gzip'd; `source` names it in errors.
inline IdxArray parse_idx(const unsigned char* data, std::size_t size, const std::string& source = "<memory>",
                          const IdxOptions& options = {}) {
  detail::idx::ByteSource in(data, size, source);
  IdxArray out;
  const std::uint64_t expected = detail::idx::read_header(in, out, options, source);
  detail::idx::read_data(in, out, expected, source);
  return out;
}

// The type and sizes alone, from the first bytes of an IDX image (plain or gzip'd).
struct IdxHeader {
  IdxType type = IdxType::U8;
  Shape dims;
};
inline IdxHeader parse_idx_header(const unsigned char* data, std::size_t size, const std::string& source = "<memory>",
                                  const IdxOptions& options = {}) {
  detail::idx::ByteSource in(data, size, source);
  IdxArray array;
  detail::idx::read_header(in, array, options, source);
  return {array.type, array.dims};
}
// Reads only the start of the file (64 KiB, far more than a gzip'd header of 8 sizes
// takes), so a large file's shape costs next to nothing.
inline IdxHeader read_idx_header(const std::string& path, const IdxOptions& options = {}) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError("read_idx_header: cannot open \"" + path + "\" for reading");
  std::vector<unsigned char> start(std::size_t(1) << 16);
  in.read(reinterpret_cast<char*>(start.data()), static_cast<std::streamsize>(start.size()));
  if (in.bad()) throw IOError("read_idx_header: reading \"" + path + "\" failed (is it a directory?)");
  start.resize(static_cast<std::size_t>(in.gcount()));
  return parse_idx_header(start.data(), start.size(), "\"" + path + "\"", options);
}

// Reads an IDX file, plain or gzip'd.
inline IdxArray read_idx(const std::string& path, const IdxOptions& options = {}) {
  const std::vector<unsigned char> bytes = tapegrad::detail::read_file(path, "read_idx");
  return parse_idx(bytes.data(), bytes.size(), "\"" + path + "\"", options);
}

// Images from an array of u8 [N, rows, cols], scaled to [0, 1] (x / 255): [N, rows, cols],
// or [N, 1, rows, cols] with channel_dim (what Conv2d takes).
template <typename T = float>
Tensor<T> idx_images(const IdxArray& array, const std::string& source = "<memory>", bool channel_dim = false) {
  static_assert(std::is_floating_point_v<T>, "idx_images: T must be float or double");
  if (array.type != IdxType::U8 || array.dims.size() != 3)
    throw IOError("idx_images: " + source + ": images are u8 [N, rows, cols], this array is " +
                  idx_type_name(array.type) + " [" + detail::idx::show_dims(array.dims) + "] (a labels file?)");
  Shape shape = array.dims;
  if (channel_dim) shape.insert(shape.begin() + 1, 1);
  Tensor<T> t = empty<T>(shape);
  // A table of the 256 quotients: the same values as dividing each pixel, for less work.
  T scaled[256];
  for (int v = 0; v < 256; ++v) scaled[v] = static_cast<T>(v) / T(255);
  T* out = t.data_ptr();
  for (std::size_t i = 0; i < array.bytes.size(); ++i) out[i] = scaled[array.bytes[i]];
  return t;
}

// Labels from a one-dimensional array of an integer type: [N] int64.
inline Tensor<std::int64_t> idx_labels(const IdxArray& array, const std::string& source = "<memory>") {
  const bool integer = array.type == IdxType::U8 || array.type == IdxType::I8 || array.type == IdxType::I16 ||
                       array.type == IdxType::I32;
  if (!integer || array.dims.size() != 1)
    throw IOError("idx_labels: " + source + ": labels are one-dimensional integers (u8, i8, i16, i32), this array is " +
                  idx_type_name(array.type) + " [" + detail::idx::show_dims(array.dims) + "] (an images file?)");
  return array.to_tensor<std::int64_t>(source);
}

template <typename T = float>
Tensor<T> read_idx_images(const std::string& path, bool channel_dim = false, const IdxOptions& options = {}) {
  return idx_images<T>(read_idx(path, options), "\"" + path + "\"", channel_dim);
}

inline Tensor<std::int64_t> read_idx_labels(const std::string& path, const IdxOptions& options = {}) {
  return idx_labels(read_idx(path, options), "\"" + path + "\"");
}

// Images and their labels must pair up one to one.
template <typename T>
void check_same_count(const Tensor<T>& images, const Tensor<std::int64_t>& labels, const std::string& images_source,
                      const std::string& labels_source) {
  const std::int64_t n_images = images.shape().empty() ? 0 : images.shape()[0];
  const std::int64_t n_labels = labels.shape().empty() ? 0 : labels.shape()[0];
  if (n_images != n_labels)
    throw IOError("idx: " + images_source + " has " + std::to_string(n_images) + " images but " + labels_source + " has " +
                  std::to_string(n_labels) + " labels (files of different splits or datasets?)");
}

// The IDX image of a tensor as `type` (dims = its shape, 1 to 8 of them, each < 2^32).
// Every value must be representable: whole and in range for an integer type, and for
// f32 exactly a float (else a tg::ValueError naming it).
template <typename T>
std::vector<unsigned char> idx_bytes(const Tensor<T>& t, IdxType type) {
  const std::size_t itemsize = idx_itemsize(static_cast<std::uint8_t>(type));
  if (itemsize == 0) tapegrad::detail::fail<ValueError>("idx_bytes: unknown IdxType ", static_cast<int>(type));
  const Shape& shape = t.shape();
  if (shape.empty() || shape.size() > 8)
    tapegrad::detail::fail<ValueError>("idx_bytes: IDX holds 1 to 8 dimensions, the tensor has ", shape.size(),
                                       " (reshape a scalar to [1])");
  std::vector<unsigned char> out = {0, 0, static_cast<unsigned char>(type), static_cast<unsigned char>(shape.size())};
  for (std::int64_t d : shape) {
    if (d > 0xFFFFFFFFll) tapegrad::detail::fail<ValueError>("idx_bytes: size ", d, " does not fit IDX's uint32");
    for (int k = 3; k >= 0; --k) out.push_back(static_cast<unsigned char>(static_cast<std::uint64_t>(d) >> (8 * k)));
  }
  const double lo[] = {0, -128, 0, -32768, -2147483648.0};
  const double hi[] = {255, 127, 0, 32767, 2147483647.0};
  const int slot = static_cast<int>(type) - 0x08;  // 0 u8, 1 i8, 3 i16, 4 i32
  const T* p = t.data_ptr();
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    const double v = static_cast<double>(p[i]);
    std::uint64_t bits = 0;
    if (type == IdxType::F64) {
      std::memcpy(&bits, &v, 8);
    } else if (type == IdxType::F32) {
      const float f = static_cast<float>(v);
      if (static_cast<double>(f) != v && !std::isnan(v))
        tapegrad::detail::fail<ValueError>("idx_bytes: element ", i, " (", v, ") is not exactly a float; write it as F64");
      std::uint32_t b32;
      std::memcpy(&b32, &f, 4);
      bits = b32;
    } else {
      if (!(v >= lo[slot] && v <= hi[slot]) || v != std::floor(v))
        tapegrad::detail::fail<ValueError>("idx_bytes: element ", i, " (", v, ") does not fit ", idx_type_name(type));
      bits = static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
    }
    for (std::size_t k = itemsize; k-- > 0;) out.push_back(static_cast<unsigned char>(bits >> (8 * k)));
  }
  return out;
}

// Writes a tensor as an IDX file, gzip'd when asked (as the MNIST downloads are).
template <typename T>
void save_idx(const Tensor<T>& t, const std::string& path, IdxType type, bool gzip = false) {
  std::vector<unsigned char> bytes = idx_bytes(t, type);
  if (gzip) bytes = gzip_bytes(bytes.data(), bytes.size());
  tapegrad::detail::write_file_atomically(bytes, path, "save_idx");
}

}  // namespace data
}  // namespace tapegrad

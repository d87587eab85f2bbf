#pragma once
// Shapes, row-major strides, dimension wrapping and NumPy broadcasting rules.

#include <cstdint>
#include <string>
#include <vector>

#include "error.hpp"

namespace tapegrad {

using Shape = std::vector<std::int64_t>;

// Prints a shape as PyTorch does in messages: [2, 3].
inline std::string to_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

namespace detail {

struct ShapeText {
  const Shape& shape;
};
inline void append(std::string& s, ShapeText shape) { s += to_string(shape.shape); }
inline ShapeText show(const Shape& s) { return {s}; }

[[noreturn]] TAPEGRAD_NOINLINE TAPEGRAD_COLD inline void fail_element_count(const Shape& shape) {
  fail<ShapeError>("shape ", show(shape), " has more elements than 2^63 - 1 (the element count overflows int64); ",
                   "no buffer can hold it");
}

// The element count of `shape`. A count that does not fit in int64 is a ShapeError, never
// a wrapped-around number: zeros({1 << 32, 1 << 32}) or expand to [2^62, 4] must not
// allocate a buffer of the wrong size. (A zero dimension makes any shape empty.)
inline std::int64_t numel_of(const Shape& shape) {
  std::int64_t n = 1;
  bool overflow = false;
  for (auto d : shape) {
    if (d == 0) return 0;
    overflow = overflow || __builtin_mul_overflow(n, d, &n);
  }
  if (overflow) fail_element_count(shape);
  return n;
}

// Row-major (C order) strides in elements.
inline Shape strides_of(const Shape& shape) {
  Shape strides(shape.size());
  std::int64_t s = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

// Maps a possibly negative dim (-1 is the last) into [0, rank); `rank` may be 0 for a
// 0-d tensor, where PyTorch accepts dims -1 and 0.
inline std::size_t wrap_dim(const char* op, std::int64_t dim, std::size_t rank) {
  const auto r = static_cast<std::int64_t>(rank == 0 ? 1 : rank);
  if (dim < -r || dim >= r)
    fail<IndexError>(op, ": dimension ", dim, " is out of range for a tensor with ", rank,
                     " dimension", rank == 1 ? "" : "s", " (expected a dim in [", -r, ", ", r - 1, "])");
  return static_cast<std::size_t>(dim < 0 ? dim + r : dim);
}

inline void check_shape_valid(const char* op, const Shape& shape) {
  for (auto d : shape)
    if (d < 0) fail<ShapeError>(op, ": negative dimension in shape ", show(shape));
}

// NumPy broadcasting: align trailing dims; each pair must be equal or contain a 1.
inline Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      fail<ShapeError>(op, ": shapes ", show(a), " and ", show(b), " cannot be broadcast together (dimension ",
                       i, ": ", da, " vs ", db, "); each trailing dimension must match or be 1");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Strides for reading a tensor of `shape` as if it had the (broadcast) shape `target`:
// broadcast dimensions get stride 0.
inline Shape broadcast_strides(const Shape& shape, const Shape& target) {
  Shape own = strides_of(shape);
  Shape out(target.size(), 0);
  const std::size_t offset = target.size() - shape.size();
  for (std::size_t i = 0; i < shape.size(); ++i) out[offset + i] = shape[i] == 1 ? 0 : own[i];
  return out;
}

// True when a tensor of shape `from` can be broadcast to `to` (used by expand and +=).
inline bool broadcastable_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const std::size_t offset = to.size() - from.size();
  for (std::size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[offset + i]) return false;
  return true;
}

}  // namespace detail
}  // namespace tapegrad

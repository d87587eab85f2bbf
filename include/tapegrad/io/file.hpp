#pragma once
// What the checkpoint formats share (io/safetensors.hpp, io/npy.hpp): tg::IOError, whole-file
// reads, atomic writes, and the byte-level conversions. Standard library and tensors only.

#include "../core/error.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace tapegrad {

// A file that cannot be read or written, or whose contents are not what they claim.
class IOError : public Error {
 public:
  using Error::Error;
};

namespace detail {

static_assert(sizeof(float) == 4 && sizeof(double) == 8, "tapegrad io: IEEE float and double expected");

inline bool little_endian() {
  const std::uint16_t one = 1;
  unsigned char first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

// IEEE half and bfloat16 to float.
inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v;
  if (exp == 0) {
    v = std::ldexp(static_cast<float>(mant), -24);
  } else if (exp == 31) {
    v = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    v = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  }
  return sign ? -v : v;
}
// Float to IEEE half, rounded to nearest even (Giesen's float_to_half_fast3_rtne): overflow gives
// inf, tiny values go subnormal through one float addition that rounds for us.
inline std::uint16_t float_to_half(float value) {
  std::uint32_t f;
  std::memcpy(&f, &value, 4);
  const std::uint32_t sign = f & 0x80000000u;
  f ^= sign;
  std::uint32_t h;
  if (f >= (127u + 16u) << 23) {  // |x| >= 65536, inf or nan
    h = f > 0x7f800000u ? 0x7e00u : 0x7c00u;
  } else if (f < 113u << 23) {  // below 2^-14: subnormal half (or zero)
    const std::uint32_t magic_bits = ((127u - 15u) + (23u - 10u) + 1u) << 23;
    float magic, shifted;
    std::memcpy(&magic, &magic_bits, 4);
    std::memcpy(&shifted, &f, 4);
    shifted += magic;
    std::uint32_t bits;
    std::memcpy(&bits, &shifted, 4);
    h = bits - magic_bits;
  } else {
    const std::uint32_t mantissa_odd = (f >> 13) & 1u;
    f += (static_cast<std::uint32_t>(15 - 127) << 23) + 0xfffu + mantissa_odd;  // rebias, round half to even
    h = f >> 13;
  }
  return static_cast<std::uint16_t>(h | (sign >> 16));
}

inline float bf16_to_float(std::uint16_t b) {
  const std::uint32_t bits = static_cast<std::uint32_t>(b) << 16;
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

// Read in pieces rather than into a buffer of tellg's size: a directory opens as a
// stream whose "size" is 2^63 - 1 (a length_error, not an IOError), and a pipe has none.
inline std::vector<unsigned char> read_file(const std::string& path, const char* op) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError(std::string(op) + ": cannot open \"" + path + "\" for reading");
  constexpr std::size_t kChunk = std::size_t(1) << 20;
  std::vector<unsigned char> bytes;
  while (in) {
    const std::size_t old = bytes.size();
    bytes.resize(old + kChunk);  // grows geometrically: few copies for a large file
    in.read(reinterpret_cast<char*>(bytes.data() + old), static_cast<std::streamsize>(kChunk));
    bytes.resize(old + static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw IOError(std::string(op) + ": reading \"" + path + "\" failed (is it a directory?)");
  return bytes;
}

// To "<path>.tmp" first, then renamed over path: an interrupted save never leaves a
// half-written file behind, and a failed one leaves the old file as it was.
inline void write_file_atomically(const std::vector<unsigned char>& bytes, const std::string& path, const char* op) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw IOError(std::string(op) + ": cannot open \"" + tmp + "\" for writing");
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.close();  // closing flushes, and can fail too (a full disk, a network file system)
    if (!out) {
      std::remove(tmp.c_str());
      throw IOError(std::string(op) + ": writing \"" + tmp + "\" failed (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw IOError(std::string(op) + ": cannot rename \"" + tmp + "\" to \"" + path + "\"");
  }
}

}  // namespace detail
}  // namespace tapegrad

#pragma once
// gzip streams (RFC 1952) through zlib's inflate and deflate, for the data readers
// (data/idx.hpp reads MNIST-style .gz files). Only the data headers include <zlib.h>:
// a program that includes these links zlib (-lz, CMake's ZLIB::ZLIB).
//
//   tg::data::GzipReader in(bytes.data(), bytes.size(), "\"train.gz\"");
//   std::size_t got = in.read(buffer, sizeof buffer);   // 0 at the end of the stream
//
// Decompression is pulled in pieces by the caller, so memory follows what the caller
// keeps, never what the stream claims; every failure is a tg::IOError naming the source,
// the compressed byte offset and zlib's message.

#include "../io/file.hpp"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tapegrad {
namespace data {

// gzip's magic bytes 1f 8b: detected from the content, never from a ".gz" name.
inline bool is_gzip(const unsigned char* data, std::size_t size) {
  return size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

// Decompresses a gzip stream (one member or several concatenated, as `cat a.gz b.gz`
// makes) from memory, a piece at a time. Not copyable: it owns zlib's state.
class GzipReader {
 public:
  GzipReader(const unsigned char* data, std::size_t size, std::string source)
      : data_(data), size_(size), source_(std::move(source)) {
    if (!is_gzip(data, size)) fail("not a gzip stream (it does not start with the bytes 1f 8b)");
    // windowBits 15 + 16: a gzip wrapper (header and CRC-32 trailer), not zlib's or raw deflate.
    if (inflateInit2(&z_, 15 + 16) != Z_OK) fail("zlib's inflateInit2 failed (out of memory?)");
  }
  ~GzipReader() { inflateEnd(&z_); }
  GzipReader(const GzipReader&) = delete;
  GzipReader& operator=(const GzipReader&) = delete;

  // Writes up to n decompressed bytes to out; fewer only at the end of the stream.
  std::size_t read(unsigned char* out, std::size_t n) {
    std::size_t produced = 0;
    while (produced < n && !finished_) {
      feed();
      const std::size_t want = std::min<std::size_t>(n - produced, UINT_MAX);
      z_.next_out = out + produced;
      z_.avail_out = static_cast<uInt>(want);
      const std::size_t in_before = z_.avail_in;
      const int rc = inflate(&z_, Z_NO_FLUSH);
      consumed_ += in_before - z_.avail_in;
      produced += want - z_.avail_out;
      if (rc == Z_STREAM_END) {
        next_member();
      } else if (rc == Z_BUF_ERROR && z_.avail_in == 0 && consumed_ == size_) {
        fail("the gzip stream ends early, at compressed byte " + std::to_string(size_) + " (a truncated file or download?)");
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        fail("corrupt gzip stream at compressed byte " + std::to_string(consumed_) + ": " +
             (z_.msg ? z_.msg : "zlib error " + std::to_string(rc)));
      }
    }
    total_out_ += produced;
    return produced;
  }

  // Decompressed bytes handed out so far.
  std::uint64_t position() const { return total_out_; }
  const std::string& source() const { return source_; }

 private:
  // zlib takes at most 4 GiB of input per call (avail_in is an unsigned int).
  void feed() {
    if (z_.avail_in != 0 || consumed_ == size_) return;
    z_.next_in = const_cast<Bytef*>(data_ + consumed_);  // zlib does not write to its input
    z_.avail_in = static_cast<uInt>(std::min<std::size_t>(size_ - consumed_, UINT_MAX));
  }

  // After a member's trailer: another member, or the end. Anything else after it is
  // not gzip data (gzip -d would warn about "trailing garbage"); refuse it.
  void next_member() {
    const std::size_t rest = size_ - consumed_;
    if (rest == 0) {
      finished_ = true;
    } else if (is_gzip(data_ + consumed_, rest)) {
      if (inflateReset(&z_) != Z_OK) fail("zlib's inflateReset failed");
    } else {
      fail(std::to_string(rest) + " bytes after the end of the gzip stream (at compressed byte " +
           std::to_string(consumed_) + "); not gzip data");
    }
  }

  [[noreturn]] void fail(const std::string& problem) const { throw IOError("gzip: " + source_ + ": " + problem); }

  const unsigned char* data_;
  std::size_t size_;
  std::string source_;
  z_stream z_{};
  std::size_t consumed_ = 0;
  std::uint64_t total_out_ = 0;
  bool finished_ = false;
};

// The whole decompressed content, refusing more than max_bytes (a "zip bomb": deflate
// expands up to 1032 times). Grows with the data actually produced.
inline std::vector<unsigned char> gunzip(const unsigned char* data, std::size_t size, const std::string& source,
                                         std::size_t max_bytes = std::size_t(1) << 32) {
  GzipReader in(data, size, source);
  constexpr std::size_t kChunk = std::size_t(1) << 16;
  std::vector<unsigned char> out;
  for (;;) {
    const std::size_t old = out.size();
    if (old > max_bytes) throw IOError("gzip: " + source + ": decompresses to more than " + std::to_string(max_bytes) + " bytes");
    out.resize(old + kChunk);
    const std::size_t got = in.read(out.data() + old, kChunk);
    out.resize(old + got);
    if (got < kChunk) break;
  }
  if (out.size() > max_bytes) throw IOError("gzip: " + source + ": decompresses to more than " + std::to_string(max_bytes) + " bytes");
  return out;
}

// A gzip stream of the bytes (level 0-9, zlib's default 6), as `gzip` writes it.
inline std::vector<unsigned char> gzip_bytes(const unsigned char* data, std::size_t size, int level = 6) {
  if (level < 0 || level > 9) tapegrad::detail::fail<ValueError>("gzip_bytes: level ", level, " is not in 0..9");
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw IOError("gzip_bytes: zlib's deflateInit2 failed (out of memory?)");
  std::vector<unsigned char> out;
  unsigned char buffer[1 << 14];
  std::size_t consumed = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (z.avail_in == 0 && consumed < size) {
      z.next_in = const_cast<Bytef*>(data + consumed);
      z.avail_in = static_cast<uInt>(std::min<std::size_t>(size - consumed, UINT_MAX));
      consumed += z.avail_in;
    }
    z.next_out = buffer;
    z.avail_out = sizeof buffer;
    rc = deflate(&z, consumed == size ? Z_FINISH : Z_NO_FLUSH);
    if (rc == Z_STREAM_ERROR) {
      deflateEnd(&z);
      throw IOError("gzip_bytes: zlib's deflate failed");
    }
    out.insert(out.end(), buffer, buffer + (sizeof buffer - z.avail_out));
  }
  deflateEnd(&z);
  return out;
}

}  // namespace data
}  // namespace tapegrad

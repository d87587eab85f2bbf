#pragma once
// Checkpoints in the safetensors format, which Python's safetensors, PyTorch
// (safetensors.torch.load_file) and most tools read:
//   8 bytes: N, the header length (little-endian u64)
//   N bytes: a JSON object {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]}, ...,
//            "__metadata__": {"key": "value"}}, padded with spaces to a multiple of 8
//   the data: every tensor's bytes, little-endian, row-major, packed without gaps
//
//   tg::save(model.state_dict(), "model.safetensors");
//   model.load_state_dict(tg::load<float>("model.safetensors"));
//
// Reading checks everything before it returns (never a crash, a huge allocation or a
// half-read result): the file's size against the header length (at most 100 MB, the
// format's limit), the JSON, each entry's fields, the dtype, the shape (no overflow), and
// that the offsets cover the data section exactly, in order, without overlap. Any float
// or integer dtype is converted to T (PyTorch's BatchNorm stores num_batches_tracked as
// I64). The JSON header is parsed by nlohmann::json (Debian: nlohmann-json3-dev), the
// only extra dependency, and only of this header.

#include "../core.hpp"
#include "file.hpp"
#include "state_dict.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tapegrad {

namespace detail {

struct SafetensorsDtype {
  const char* name;
  std::size_t size;
};
inline const SafetensorsDtype* find_dtype(const std::string& name) {
  static const SafetensorsDtype table[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4},
                                           {"I16", 2}, {"I8", 1},  {"U8", 1},  {"BOOL", 1}, {"U16", 2}, {"U32", 4},
                                           {"U64", 8}};
  for (const auto& d : table)
    if (name == d.name) return &d;
  return nullptr;
}

// Element i of raw little-endian data of `dtype` as T.
template <typename T>
T read_element(const std::string& dtype, const unsigned char* p) {
  auto get = [&](auto value) {
    std::memcpy(&value, p, sizeof value);
    return value;
  };
  if (dtype == "F64") return static_cast<T>(get(double()));
  if (dtype == "F32") return static_cast<T>(get(float()));
  if (dtype == "F16") return static_cast<T>(half_to_float(get(std::uint16_t())));
  if (dtype == "BF16") return static_cast<T>(bf16_to_float(get(std::uint16_t())));
  if (dtype == "I64") return static_cast<T>(get(std::int64_t()));
  if (dtype == "I32") return static_cast<T>(get(std::int32_t()));
  if (dtype == "I16") return static_cast<T>(get(std::int16_t()));
  if (dtype == "I8") return static_cast<T>(get(std::int8_t()));
  if (dtype == "U8" || dtype == "BOOL") return static_cast<T>(get(std::uint8_t()));
  if (dtype == "U16") return static_cast<T>(get(std::uint16_t()));
  if (dtype == "U32") return static_cast<T>(get(std::uint32_t()));
  return static_cast<T>(get(std::uint64_t()));
}

[[noreturn]] inline void io_fail(const std::string& source, const std::string& problem) {
  throw IOError("safetensors: " + source + ": " + problem);
}

}  // namespace detail

// One entry of a safetensors header.
struct SafetensorsEntry {
  std::string name, dtype;
  Shape shape;
  std::uint64_t begin = 0, end = 0;  // byte offsets into the data section
};

// The parsed and checked header of a safetensors image.
struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;  // in the order of their offsets
  std::map<std::string, std::string> metadata;
  std::uint64_t data_start = 0;  // 8 + header length
};

// Checks the header of an image of `size` bytes; `source` names it in errors.
inline SafetensorsHeader read_safetensors_header(const unsigned char* data, std::size_t size,
                                                 const std::string& source = "<memory>") {
  using detail::io_fail;
  if (size < 8) io_fail(source, "the file has " + std::to_string(size) + " bytes, fewer than the 8-byte header length");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  constexpr std::uint64_t kMaxHeader = 100'000'000;
  if (n > kMaxHeader)
    io_fail(source, "the header length " + std::to_string(n) + " exceeds the format's limit of 100 MB (a corrupt or hostile file)");
  if (n > size - 8)
    io_fail(source, "the header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(size) +
                        " bytes; truncated?)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(data + 8, data + 8 + n);
  } catch (const nlohmann::json::exception& e) {
    io_fail(source, std::string("the header is not valid UTF-8 JSON (") + e.what() + ")");
  }
  if (!header.is_object()) io_fail(source, "the header is not a JSON object");
  SafetensorsHeader out;
  out.data_start = 8 + n;
  const std::uint64_t data_size = size - out.data_start;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) io_fail(source, "__metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) io_fail(source, "__metadata__ value of \"" + m.key() + "\" is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor \"" + name + "\"";
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      io_fail(source, where + " needs an object with dtype, shape and data_offsets");
    if (!v["dtype"].is_string()) io_fail(source, where + ": dtype is not a string");
    SafetensorsEntry e;
    e.name = name;
    e.dtype = v["dtype"].get<std::string>();
    const detail::SafetensorsDtype* dt = detail::find_dtype(e.dtype);
    if (!dt) io_fail(source, where + ": unknown dtype \"" + e.dtype + "\"");
    if (!v["shape"].is_array()) io_fail(source, where + ": shape is not an array");
    // The product of the nonzero dimensions is bounded too, so that a zero does not let
    // [0, 2^64 - 1] (a negative int64) or [0, 2^62, 2^62] (a stride past int64) through.
    std::uint64_t nonzero = 1;
    bool has_zero = false;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) io_fail(source, where + ": shape entries must be non-negative integers");
      const std::uint64_t dim = d.get<std::uint64_t>();
      if (dim == 0) {
        has_zero = true;
      } else {
        if (nonzero > (std::uint64_t(1) << 62) / dim) io_fail(source, where + ": the shape's element count overflows");
        nonzero *= dim;
      }
      e.shape.push_back(static_cast<std::int64_t>(dim));
    }
    const std::uint64_t numel = has_zero ? 0 : nonzero;
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      io_fail(source, where + ": data_offsets must be two non-negative integers [begin, end]");
    e.begin = off[0].get<std::uint64_t>();
    e.end = off[1].get<std::uint64_t>();
    if (e.begin > e.end || e.end > data_size)
      io_fail(source, where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                          "] are out of the data section's " + std::to_string(data_size) + " bytes");
    // numel * size can wrap past 2^64 (2^61 F64 elements would claim 0 bytes): divide first.
    if (numel > (e.end - e.begin) / dt->size || e.end - e.begin != numel * dt->size)
      io_fail(source, where + ": " + std::to_string(e.end - e.begin) + " bytes for " + std::to_string(numel) + " " +
                          e.dtype + " elements (" +
                          (numel > UINT64_MAX / dt->size ? std::string("over 2^64") : std::to_string(numel * dt->size)) +
                          " expected)");
    out.entries.push_back(std::move(e));
  }
  // The offsets must tile the data section: sorted, contiguous, no overlap, no gaps.
  std::sort(out.entries.begin(), out.entries.end(),
            [](const SafetensorsEntry& a, const SafetensorsEntry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  std::uint64_t at = 0;
  for (const auto& e : out.entries) {
    if (e.begin != at)
      io_fail(source, "tensor \"" + e.name + "\" starts at byte " + std::to_string(e.begin) + " of the data, expected " +
                          std::to_string(at) + (e.begin < at ? " (it overlaps the previous tensor)" : " (a gap)"));
    at = e.end;
  }
  if (at != data_size)
    io_fail(source, "the data section has " + std::to_string(data_size - at) + " bytes after the last tensor");
  return out;
}

// Reads every tensor of an in-memory image, converting to T.
template <typename T>
StateDict<T> load_safetensors_from_memory(const unsigned char* data, std::size_t size, const std::string& source = "<memory>") {
  static_assert(std::is_floating_point_v<T>, "tg::load<T>: T must be float or double");
  if (!detail::little_endian()) detail::io_fail(source, "big-endian machines are not supported");
  const SafetensorsHeader header = read_safetensors_header(data, size, source);
  // The header's key order (nlohmann sorts keys; the entries are in offset order,
  // which is the order tg::save writes them in).
  StateDict<T> out;
  for (const auto& e : header.entries) {
    Tensor<T> t = empty<T>(e.shape);
    const std::size_t elem = detail::find_dtype(e.dtype)->size;
    const unsigned char* src = data + header.data_start + e.begin;
    T* dst = t.data_ptr();
    for (std::int64_t i = 0; i < t.numel(); ++i) dst[i] = detail::read_element<T>(e.dtype, src + i * elem);
    out.insert(e.name, t);
  }
  return out;
}

// Reads a safetensors file.
template <typename T>
StateDict<T> load(const std::string& path) {
  const std::vector<unsigned char> bytes = detail::read_file(path, "load");
  return load_safetensors_from_memory<T>(bytes.data(), bytes.size(), "\"" + path + "\"");
}

// The safetensors image of a state dict (what save writes).
template <typename T>
std::vector<unsigned char> safetensors_bytes(const StateDict<T>& sd, const std::map<std::string, std::string>& metadata = {}) {
  static_assert(std::is_floating_point_v<T>, "tg::save: T must be float or double");
  if (!detail::little_endian()) throw IOError("save: big-endian machines are not supported");
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : sd) {
    if (!t.defined()) throw IOError("save: the tensor \"" + name + "\" is undefined");
    if (name == "__metadata__") throw IOError("save: \"__metadata__\" is reserved by the format");
    const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * sizeof(T);
    header[name] = {{"dtype", sizeof(T) == 4 ? "F32" : "F64"},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';
  std::vector<unsigned char> out(8 + text.size() + offset);
  const std::uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(n >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  unsigned char* data = out.data() + 8 + text.size();
  for (const auto& [name, t] : sd) {
    const std::size_t bytes = static_cast<std::size_t>(t.numel()) * sizeof(T);
    if (bytes) std::memcpy(data, t.data_ptr(), bytes);
    data += bytes;
  }
  return out;
}

// Writes a state dict as safetensors: to "<path>.tmp" first, then renamed over path, so
// an interrupted save never leaves a half-written checkpoint.
template <typename T>
void save(const StateDict<T>& sd, const std::string& path, const std::map<std::string, std::string>& metadata = {}) {
  detail::write_file_atomically(safetensors_bytes(sd, metadata), path, "save");
}

}  // namespace tapegrad

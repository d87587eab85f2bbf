// libFuzzer target for the IDX reader (include/tapegrad/data/idx.hpp), plain and gzip'd.
// Built and run by scripts/run_fuzz.sh; see docs/fuzzing.md.
//
// The contract under test: any byte string either parses or throws a tg::Error (the
// reader's tg::IOError, zlib's complaints included). Anything else is a finding: another
// exception (reported, then abort()), a crash, a sanitizer report, a leak, or an
// allocation over -malloc_limit_mb (a size from the header trusted before the data
// backs it). A successful parse is checked further:
//   - the element bytes are exactly numel * itemsize, and numel is the dims' product;
//   - every element is decoded (value(i)) and converted (to_tensor), so ASan sees any
//     read past the buffer;
//   - the header parsed alone agrees;
//   - idx_bytes writes it back, gzip_bytes compresses that, and both parse to the same
//     array (f32 and f64 NaNs keep their bits only through the raw bytes, so the
//     round trip compares bytes, not values);
//   - images and labels conversions either work or throw tg::Error.
#include <tapegrad/data/idx.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <typeinfo>

namespace tg = tapegrad;
namespace td = tapegrad::data;

namespace {

volatile double sink;

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "idx_fuzz: %s\n", what);
  std::abort();
}

void check(const td::IdxArray& a, const unsigned char* data, std::size_t size) {
  std::uint64_t n = 1;
  for (std::int64_t d : a.dims) n *= static_cast<std::uint64_t>(d);  // fits: the bytes exist
  if (a.bytes.size() != n * a.itemsize() || static_cast<std::uint64_t>(a.numel()) != n)
    finding("the element bytes are not the dims' product times the item size");
  double sum = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) sum += a.value(i);
  const tg::Tensor<double> t = a.to_tensor<double>("fuzz");
  if (t.numel() != a.numel()) finding("to_tensor changed the number of elements");
  sink = sum;
  const td::IdxHeader h = td::parse_idx_header(data, size, "fuzz.idx");
  if (h.type != a.type || h.dims != a.dims) finding("the header parsed alone disagrees");

  // Round trip through the writer: the raw bytes' tensor in f64 holds every type exactly.
  td::IdxArray back;
  const std::vector<unsigned char> image = td::idx_bytes(t, a.type == td::IdxType::F32 ? td::IdxType::F64 : a.type);
  back = td::parse_idx(image.data(), image.size(), "round trip");
  if (back.dims != a.dims) finding("the round trip changed the dims");
  if (a.type != td::IdxType::F32 && a.type != td::IdxType::F64 && back.bytes != a.bytes)
    finding("the round trip changed the elements");
  const std::vector<unsigned char> zipped = td::gzip_bytes(image.data(), image.size(), 1);
  if (td::parse_idx(zipped.data(), zipped.size(), "gzip round trip").bytes != back.bytes)
    finding("the gzip'd round trip changed the elements");

  try {
    sink = static_cast<double>(td::idx_images<float>(a, "fuzz", true).numel());
  } catch (const tg::Error&) {
  }
  try {
    sink = static_cast<double>(td::idx_labels(a, "fuzz").numel());
  } catch (const tg::Error&) {
  }
  try {
    sink = static_cast<double>(a.to_tensor<std::int64_t>("fuzz").numel());
  } catch (const tg::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An empty std::vector's data() may be null: the reader must take (nullptr, 0) too.
  const unsigned char* p = size == 0 ? nullptr : data;
  try {
    td::IdxArray a;
    try {
      a = td::parse_idx(p, size, "fuzz.idx");
    } catch (const tg::Error& e) {
      if (!std::strstr(e.what(), "fuzz.idx")) finding("an error not naming the source");
      return 0;
    }
    check(a, p, size);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "idx_fuzz: unexpected %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
  return 0;
}

// libFuzzer target for the safetensors reader (include/tapegrad/io/safetensors.hpp).
// Built and run by scripts/run_fuzz.sh; see docs/fuzzing.md.
//
// The contract under test: any byte string either loads or throws tg::IOError. Anything
// else is a finding: another exception type (reported, then abort()), a crash, an
// AddressSanitizer or UndefinedBehaviorSanitizer report, a leak, or an allocation over
// -malloc_limit_mb. A successful load is checked further:
//   - every element is read (summed), so ASan sees a read past the tensor's buffer;
//   - each tensor's numel matches its shape and the header's entry (dtype size x numel
//     bytes, the entries tiling the data section);
//   - the state dict written back by tg::safetensors_bytes loads again bit-identically.
// The reader converts to float or double only (a static_assert on T), so those are the
// two types fuzzed here; integer dtypes of the file (I64, U8, ...) are covered as inputs.
#include <tapegrad/io.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <typeinfo>

namespace tg = tapegrad;

namespace {

volatile double sink;  // keeps the element sums from being optimised away

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "safetensors_fuzz: %s\n", what);
  std::abort();
}

std::int64_t product(const tg::Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;  // the reader bounds every product it accepts
  return n;
}

void check_header(const unsigned char* data, std::size_t size) {
  tg::SafetensorsHeader h;
  try {
    h = tg::read_safetensors_header(data, size, "fuzz.safetensors");
  } catch (const tg::IOError&) {
    return;
  }
  if (h.data_start < 8 || h.data_start > size) finding("data_start outside the input");
  std::uint64_t at = 0;
  for (const auto& e : h.entries) {
    if (e.begin != at || e.end < e.begin) finding("entries do not tile the data section");
    for (std::int64_t d : e.shape)
      if (d < 0) finding("a negative dimension was accepted");
    at = e.end;
  }
  if (at != size - h.data_start) finding("entries do not end at the end of the input");
}

template <typename T>
void check_load(const unsigned char* data, std::size_t size) {
  tg::StateDict<T> sd;
  try {
    sd = tg::load_safetensors_from_memory<T>(data, size, "fuzz.safetensors");
  } catch (const tg::IOError& e) {
    if (std::strncmp(e.what(), "safetensors: fuzz.safetensors: ", 31) != 0) finding("an IOError not naming the source");
    return;
  }
  double sum = 0;
  for (const auto& [name, t] : sd) {
    if (!t.defined() || t.numel() != product(t.shape())) finding("a tensor whose numel is not its shape's product");
    const T* p = t.data_ptr();
    for (std::int64_t i = 0; i < t.numel(); ++i) sum += static_cast<double>(p[i]);
  }
  sink = sum;
  // Written back as F32/F64, it must load again bit for bit, in the same order.
  const std::vector<unsigned char> again = tg::safetensors_bytes(sd);
  const tg::StateDict<T> back = tg::load_safetensors_from_memory<T>(again.data(), again.size(), "round trip");
  if (back.keys() != sd.keys()) finding("the round trip changed the keys or their order");
  auto it = back.begin();
  for (const auto& [name, t] : sd) {
    const auto& u = (it++)->second;
    if (u.shape() != t.shape()) finding("the round trip changed a shape");
    if (t.numel() && std::memcmp(u.data_ptr(), t.data_ptr(), static_cast<std::size_t>(t.numel()) * sizeof(T)) != 0)
      finding("the round trip changed a value");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An empty std::vector's data() may be null: the readers must take (nullptr, 0) too.
  const unsigned char* p = size == 0 ? nullptr : data;
  try {
    check_header(p, size);
    check_load<float>(p, size);
    check_load<double>(p, size);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "safetensors_fuzz: unexpected %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
  return 0;
}

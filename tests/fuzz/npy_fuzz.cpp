// libFuzzer target for the NumPy readers (include/tapegrad/io/npy.hpp): .npy and .npz.
// Built and run by scripts/run_fuzz.sh; see docs/fuzzing.md.
//
// One target for both formats: every input goes to read_npy_header, load_npy_from_memory
// and load_npz_from_memory. Each reader rejects the other's files in a few bytes
// ("\x93NUMPY" against the zip end record), so nothing is wasted, an input is exactly a
// file (a crash reproduces with tg::load_npy / tg::load_npz on the saved input, no
// selector byte to strip), and the .npy seeds' coverage helps the .npy files inside
// the .npz seeds.
//
// The contract under test: any byte string either loads or throws tg::IOError. Anything
// else is a finding: another exception type (reported, then abort()), a crash, an
// AddressSanitizer or UndefinedBehaviorSanitizer report, a leak, or an allocation over
// -malloc_limit_mb. A successful load is checked further:
//   - every element is read (summed), so ASan sees a read past the tensor's buffer;
//   - numel matches the shape, and (for .npy) the header's shape;
//   - float and double loads agree (a double element converts exactly to float's value);
//   - what tg::npy_bytes / tg::npz_bytes write back loads again bit-identically.
// Each reader runs for float, double and std::int64_t (into an integer T a value must
// convert exactly, a separate code path).
#include <tapegrad/io/npy.hpp>

#include <cmath>
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

volatile double sink_f;  // keep the element sums from being optimised away
volatile std::uint64_t sink_i;

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "npy_fuzz: %s\n", what);
  std::abort();
}

bool product_is(const tg::Shape& shape, std::int64_t numel) {
  bool zero = false;
  for (std::int64_t d : shape) {
    if (d < 0) return false;
    zero = zero || d == 0;
  }
  if (zero) return numel == 0;
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (n > INT64_MAX / d) return false;
    n *= d;
  }
  return n == numel;
}

// Reads every element; integer sums wrap (unsigned), float sums may overflow to inf.
template <typename T>
void touch(const tg::Tensor<T>& t) {
  if (!t.defined() || !product_is(t.shape(), t.numel())) finding("a tensor whose numel is not its shape's product");
  const T* p = t.data_ptr();
  if constexpr (std::is_floating_point_v<T>) {
    double sum = 0;
    for (std::int64_t i = 0; i < t.numel(); ++i) sum += static_cast<double>(p[i]);
    sink_f = sum;
  } else {
    std::uint64_t sum = 0;
    for (std::int64_t i = 0; i < t.numel(); ++i) sum += static_cast<std::uint64_t>(p[i]);
    sink_i = sum;
  }
}

template <typename T>
bool same(const tg::Tensor<T>& a, const tg::Tensor<T>& b) {
  return a.shape() == b.shape() &&
         (a.numel() == 0 || std::memcmp(a.data_ptr(), b.data_ptr(), static_cast<std::size_t>(a.numel()) * sizeof(T)) == 0);
}

void check_header(const unsigned char* data, std::size_t size) {
  tg::NpyHeader h;
  try {
    h = tg::read_npy_header(data, size, "fuzz.npy");
  } catch (const tg::IOError&) {
    return;
  }
  if (!product_is(h.shape, h.numel)) finding("the header's numel is not its shape's product");
  if (h.data_start > size || static_cast<std::uint64_t>(h.numel) * h.itemsize != size - h.data_start)
    finding("the header's data does not end at the end of the input");
}

template <typename T>
bool npy(const unsigned char* data, std::size_t size, tg::Tensor<T>& t) {
  try {
    t = tg::load_npy_from_memory<T>(data, size, "fuzz.npy");
  } catch (const tg::IOError& e) {
    if (std::strncmp(e.what(), "npy: fuzz.npy", 13) != 0) finding("an IOError not naming the source");
    return false;
  }
  touch(t);
  const std::vector<unsigned char> again = tg::npy_bytes(t);
  if (!same(t, tg::load_npy_from_memory<T>(again.data(), again.size(), "round trip")))
    finding("the .npy round trip changed the tensor");
  return true;
}

template <typename T>
bool npz(const unsigned char* data, std::size_t size, tg::StateDict<T>& sd) {
  try {
    sd = tg::load_npz_from_memory<T>(data, size, "fuzz.npz");
  } catch (const tg::IOError& e) {
    if (std::strncmp(e.what(), "np", 2) != 0 || !std::strstr(e.what(), "fuzz.npz")) finding("an IOError not naming the source");
    return false;
  }
  for (const auto& [key, t] : sd) touch(t);
  const std::vector<unsigned char> again = tg::npz_bytes(sd);
  const tg::StateDict<T> back = tg::load_npz_from_memory<T>(again.data(), again.size(), "round trip");
  if (back.keys() != sd.keys()) finding("the .npz round trip changed the keys or their order");
  auto it = back.begin();
  for (const auto& [key, t] : sd)
    if (!same(t, (it++)->second)) finding("the .npz round trip changed a tensor");
  return true;
}

// float and double loads of the same file: both succeed or fail together, and the
// float values are the double values rounded (NaN stays NaN), give or take one ulp: a
// 64-bit integer element rounds once into float but twice (via double) here.
void agree(const tg::Tensor<float>& f, const tg::Tensor<double>& d) {
  if (f.shape() != d.shape()) finding("float and double loads differ in shape");
  for (std::int64_t i = 0; i < f.numel(); ++i) {
    const float a = f.data_ptr()[i];
    const float b = static_cast<float>(d.data_ptr()[i]);
    if (!(a == b || (std::isnan(a) && std::isnan(b)) || std::nextafter(b, a) == a)) finding("float and double loads differ in a value");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An empty std::vector's data() may be null: the readers must take (nullptr, 0) too.
  const unsigned char* p = size == 0 ? nullptr : data;
  try {
    check_header(p, size);
    tg::Tensor<float> tf;
    tg::Tensor<double> td;
    tg::Tensor<std::int64_t> ti;
    const bool okf = npy(p, size, tf), okd = npy(p, size, td);
    npy(p, size, ti);
    if (okf != okd) finding("float and double .npy loads disagree on success");
    if (okf) agree(tf, td);

    tg::StateDict<float> sf;
    tg::StateDict<double> sd;
    tg::StateDict<std::int64_t> si;
    const bool zf = npz(p, size, sf), zd = npz(p, size, sd);
    npz(p, size, si);
    if (zf != zd) finding("float and double .npz loads disagree on success");
    if (zf) {
      if (sf.keys() != sd.keys()) finding("float and double .npz loads differ in keys");
      auto it = sd.begin();
      for (const auto& [key, t] : sf) agree(t, (it++)->second);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "npy_fuzz: unexpected %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
  return 0;
}

#pragma once
// Exceptions thrown by tapegrad. Every message names the op, shows the shapes or
// values involved and, where one exists, the fix.

#include <cstdio>
#include <atomic>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

// Keeps shared helpers out of line: in a header-only library every inlined copy is
// compiled again in every user's program.
#if defined(__GNUC__) || defined(__clang__)
#define TAPEGRAD_NOINLINE __attribute__((noinline))
#define TAPEGRAD_COLD __attribute__((noinline, cold))
#else
#define TAPEGRAD_NOINLINE
#define TAPEGRAD_COLD
#endif

namespace tapegrad {

// Base of everything tapegrad throws; catch this to catch them all.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Shapes that do not fit the op (broadcasting, matmul, reshape, gradient shapes).
class ShapeError : public Error {
 public:
  using Error::Error;
};

// A dimension or element index out of range.
class IndexError : public Error {
 public:
  using Error::Error;
};

// An argument value the op cannot take (item() of a non-scalar, a bad option).
class ValueError : public Error {
 public:
  using Error::Error;
};

// Misuse of the autograd graph: backward twice, backward of a tensor without grad,
// in-place modification of a saved tensor.
class GraphError : public Error {
 public:
  using Error::Error;
};

namespace detail {

// Message pieces: text, numbers (and, in shape.hpp, shapes). Plain overloads rather
// than an ostream, so each distinct fail(...) call compiles to a few calls.
inline void append(std::string& s, const char* text) { s += text; }
inline void append(std::string& s, const std::string& text) { s += text; }
template <typename N, std::enable_if_t<std::is_arithmetic_v<N>, int> = 0>
void append(std::string& s, N value) {
  if constexpr (std::is_same_v<N, bool>) {
    s += value ? "true" : "false";
  } else if constexpr (std::is_integral_v<N>) {
    s += std::to_string(value);
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", static_cast<double>(value));
    s += buf;
  }
}

// Throws E with a message built from the pieces: fail<ShapeError>("add: ", a, " vs ", b).
template <typename E = Error, typename... Parts>
[[noreturn]] TAPEGRAD_COLD void fail(const Parts&... parts) {
  std::string message;
  (append(message, parts), ...);
  throw E(message);
}

}  // namespace detail

// ---- warnings ----
// Things that are legal but almost certainly a mistake (reading .grad() of a non-leaf)
// are reported once per process through the warning handler: by default a line on
// stderr, "tapegrad warning: ...". Install a handler to collect, log or turn them into
// errors; pass an empty function to restore the default.
using WarningHandler = std::function<void(const std::string&)>;

namespace detail {
struct WarningState {
  std::mutex mutex;
  WarningHandler handler;
  std::atomic<bool> nonleaf_grad_warned{false};  // Tensor::grad() on a non-leaf, once per process
};
inline WarningState& warning_state() {
  static WarningState state;
  return state;
}
}  // namespace detail

inline void set_warning_handler(WarningHandler handler) {
  auto& state = detail::warning_state();
  std::lock_guard<std::mutex> lock(state.mutex);
  state.handler = std::move(handler);
}

inline void warn(const std::string& message) {
  auto& state = detail::warning_state();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (state.handler) {
    state.handler(message);
  } else {
    std::fprintf(stderr, "tapegrad warning: %s\n", message.c_str());
  }
}

}  // namespace tapegrad

#pragma once
// Exceptions thrown by tapegrad. Every message names the op, shows the shapes or
// values involved and, where one exists, the fix.

#include <sstream>
#include <stdexcept>
#include <string>
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

// Builds a message from streamable pieces: throw_error<ShapeError>("add: ", a, " vs ", b).
template <typename E = Error, typename... Parts>
[[noreturn]] TAPEGRAD_COLD void fail(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw E(os.str());
}

}  // namespace detail
}  // namespace tapegrad

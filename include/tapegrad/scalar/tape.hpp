#pragma once
// The scalar reverse-mode tape behind tg::Var<T>: one per thread and scalar type.
//
// Layout ("Jacobian taping", as Adept and CoDiPack do it; not Stan's vari objects):
//   - Variables are numbered in recording order: 1, 2, 3, ... (0 means "a constant").
//     A Var is its value plus that number; it owns nothing.
//   - A statement stores, per operand that is not a constant, the operand's number
//     (4 bytes) and the partial derivative d(result)/d(operand) (sizeof(T)), computed
//     while recording. The statement's own number is implicit (statements and variables
//     share one counter). Its kind sits in the top two bits of its LAST operand number,
//     which the reverse sweep meets first, so there is no per-statement header:
//       binary op  x * y  ->  [x][y | binary]        2 x (4 + 8) = 24 bytes (T = double)
//       unary op   exp(x) ->  [x | unary]            12 bytes
//       n operands        ->  [x1]...[xn][n | nary]  12 (n + 1) bytes (precomputed_gradients)
//       inputs            ->  [n | inputs]           12 bytes for a whole tg::variables(...)
//                                                    call of n inputs (or one variable(x))
//     Variable numbers therefore have 30 bits: at most 2^30 - 1 variables per tape.
//   - Operand numbers and partials live in two arrays inside large blocks (pointer
//     bump; a block is allocated once and kept for reuse by clear() and scopes), never
//     one allocation per node, no virtual call, no shared_ptr.
//   - Adjoints are one array indexed by variable number (sizeof(T) per variable),
//     sized at the first backward() and kept.
//   - The reverse sweep is one linear loop over the statements, back to front:
//         adj[operand] += partial * adj[statement]
//
// Recording cost. The few fields every recorded op touches (block arrays, write
// position, block end, variable counter) live in a TapeCursor that is itself a
// constant-initialised thread_local, so an op reaches it with %fs-relative addressing:
// no pointer to load, no "is there a tape yet" test (an empty cursor simply has no
// room, and the first op takes the out-of-line path that creates the tape). Because
// its address is a constant, the compiler hands the position and counter one op
// stores to the next op in registers (the stores of operand numbers, uint32, and of
// partials, T, cannot alias the cursor's size_t and pointer fields under strict
// aliasing); an op is then a compare, four stores and two counter stores. The rest of
// the tape (blocks, scopes, adjoints) is an ordinary object, reached through the
// cursor only off the hot path. Growth is out of line and never throws (see grow()).
//
// Scopes: TapeScope marks the tape on entry and rewinds to the mark on exit; everything
// recorded inside is dropped, the memory stays for reuse. Builds without NDEBUG stamp
// every variable with a generation number and check it whenever a Var is used, so a
// Var whose scope has exited (or whose tape was cleared, or that was recorded on another
// thread) is a clear GraphError instead of a wrong gradient.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include "../core/error.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define TAPEGRAD_ALWAYS_INLINE inline __attribute__((always_inline))
#define TAPEGRAD_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TAPEGRAD_LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define TAPEGRAD_ALWAYS_INLINE inline
#define TAPEGRAD_UNLIKELY(x) (x)
#define TAPEGRAD_LIKELY(x) (x)
#endif

// Shared libraries (-fPIC) reach a thread_local through a call to __tls_get_addr, and
// GCC repeats that call in every recorded op: recording in a shared library measured
// 3.4x slower than in an executable (sum loop: 3.2 against 0.94 ns per op). Defining
// TAPEGRAD_TLS_INITIAL_EXEC gives the tape cursor the initial-exec TLS model instead
// (one GOT load; 1.2 ns per op in the same library). It suits libraries linked at
// program start; a library loaded with dlopen (a Python extension module, say) then
// needs room in the static TLS block and can fail to load with "cannot allocate memory
// in static TLS block", hence opt-in. Executables use the fast local-exec model anyway.
#if defined(TAPEGRAD_TLS_INITIAL_EXEC) && (defined(__GNUC__) || defined(__clang__))
#define TAPEGRAD_CURSOR_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define TAPEGRAD_CURSOR_TLS_MODEL
#endif

// Stale-Var detection follows NDEBUG unless set explicitly. Every translation unit of a
// program must agree on it (it adds a field to Var<float>).
#ifndef TAPEGRAD_CHECK_STALE_VARS
#ifdef NDEBUG
#define TAPEGRAD_CHECK_STALE_VARS 0
#else
#define TAPEGRAD_CHECK_STALE_VARS 1
#endif
#endif

namespace tapegrad {

// The number of a recorded variable on its thread's tape; 0 is "a constant".
using var_index = std::uint32_t;

template <typename T>
class Var;
template <typename T>
class Tape;

namespace detail {
// The kind of a statement, in the top two bits of its last entry (see the layout above).
constexpr std::uint32_t kInputsCode = 0u << 30;  // [n]: n new inputs, no operands
constexpr std::uint32_t kUnaryCode = 1u << 30;   // [a]
constexpr std::uint32_t kBinaryCode = 2u << 30;  // [a][b]
constexpr std::uint32_t kNaryCode = 3u << 30;    // [a_1]...[a_n][n]
constexpr std::uint32_t kCodeMask = 3u << 30;
constexpr std::uint32_t kIndexMask = ~kCodeMask;  // the variable number (or a count)
constexpr std::size_t kMaxVariables = kIndexMask;  // numbers 1 .. 2^30 - 1

// Generation numbers are unique across all tapes of the process, so a Var from another
// thread's tape never matches this tape's stamps.
inline std::uint32_t next_generation() {
  static std::atomic<std::uint32_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

template <typename T>
constexpr const char* scalar_name() {
  return std::is_same_v<T, float> ? "float" : "double";
}

// The hot part of a thread's tape for T: what every recorded op reads and bumps.
// Trivially destructible and constant-initialised, so the thread_local below needs no
// guard or constructor call. pos == end == 0 until the first op creates the tape.
template <typename T>
struct TapeCursor {
  var_index* idx = nullptr;  // the current block's operand numbers
  T* partial = nullptr;      // and partials
  std::size_t pos = 0;       // entries used in the current block
  std::size_t end = 0;       // entries usable in the current block
  std::size_t variables = 1; // the next variable number (0 is the constant slot)
  Tape<T>* tape = nullptr;   // the rest of the tape, created by the first op
};

template <typename T>
inline thread_local TapeCursor<T> thread_cursor TAPEGRAD_CURSOR_TLS_MODEL{};

template <typename T>
Tape<T>* make_thread_tape() noexcept;
}  // namespace detail

// Memory of one tape, as returned by Tape<T>::stats().
struct TapeStats {
  std::size_t variables = 0;       // recorded variables (inputs and results), not constants
  std::size_t operands = 0;        // entries on the tape: operands, plus one per input batch and n-ary statement
  std::size_t operand_bytes = 0;   // operands * (4 + sizeof(T)): the recording itself
  std::size_t adjoint_bytes = 0;   // adjoint array reserved (sizeof(T) per variable once backward ran)
  std::size_t blocks = 0;          // arena blocks held (used or kept for reuse)
  std::size_t reserved_bytes = 0;  // bytes of all blocks held
};

template <typename T>
class Tape {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "tapegrad::Tape<T> / Var<T> support T = float or double");
  using Cursor = detail::TapeCursor<T>;

 public:
  // A position on the tape; rewind(mark) drops everything recorded after it.
  struct Mark {
    std::size_t variables;  // the next variable number at the mark
    std::size_t block;      // block index
    std::size_t offset;     // entries used in that block
  };

  // The calling thread's tape for T (created on first use, freed at thread exit).
  static Tape& current();

  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  // ---- recording (used by Var and its functions; open to custom scalar functions) ----
  // These act on the calling thread's tape; each returns the new variable's number.

  // A new input variable.
  static TAPEGRAD_ALWAYS_INLINE var_index push_input() {
    Cursor& c = detail::thread_cursor<T>;
    if (TAPEGRAD_UNLIKELY(c.end - c.pos < 1)) grow(1);
    c.idx[c.pos] = 1u | detail::kInputsCode;
    c.partial[c.pos] = T(0);  // unused
    c.pos += 1;
    return new_variable(c);
  }

  // result = f(a), d result / d a = da. `a` must be a variable (not 0).
  static TAPEGRAD_ALWAYS_INLINE var_index push1(var_index a, T da) {
    Cursor& c = detail::thread_cursor<T>;
    if (TAPEGRAD_UNLIKELY(c.end - c.pos < 1)) grow(1);
    const std::size_t k = c.pos;
    c.idx[k] = a | detail::kUnaryCode;
    c.partial[k] = da;
    c.pos = k + 1;
    return new_variable(c);
  }

  // result = f(a, b) with partials da, db. Both must be variables.
  static TAPEGRAD_ALWAYS_INLINE var_index push2(var_index a, T da, var_index b, T db) {
    Cursor& c = detail::thread_cursor<T>;
    if (TAPEGRAD_UNLIKELY(c.end - c.pos < 2)) grow(2);
    const std::size_t k = c.pos;
    c.idx[k] = a;
    c.idx[k + 1] = b | detail::kBinaryCode;
    c.partial[k] = da;
    c.partial[k + 1] = db;
    c.pos = k + 2;
    return new_variable(c);
  }

  // n new input variables numbered first, first + 1, ..., first + n - 1; returns first.
  // One entry per call, whatever n.
  static var_index push_inputs(std::size_t n) {
    Cursor& c = detail::thread_cursor<T>;
    Tape& t = current();
    const std::size_t first = c.variables;
    if (n == 0) return static_cast<var_index>(first);
    if (t.failed_ == Growth::ok) {
      if (n > detail::kMaxVariables - std::min(first, detail::kMaxVariables)) too_many_variables(n, "inputs");
      if (c.end - c.pos < 1) t.grow_or_throw(1);
      c.idx[c.pos] = static_cast<var_index>(n) | detail::kInputsCode;
      c.partial[c.pos] = T(0);  // unused
      c.pos += 1;
    }  // else: a failed recording (see grow) drops everything until it is rewound
    c.variables += n;
    if (t.failed_ == Growth::ok) t.set_block_end();  // n variables took one entry: less room for numbers
#if TAPEGRAD_CHECK_STALE_VARS
    t.stamps_.resize(c.variables, static_cast<std::uint32_t>(t.generation_));
#endif
    return static_cast<var_index>(first);
  }

  // A statement of up to n operands written in place: fill operands()[k] and
  // partials()[k] for k < used, then end_statement(used) records it and returns its
  // variable; used == 0 records nothing and returns 0 (a constant).
  static void begin_statement(std::size_t n) {
    Cursor& c = detail::thread_cursor<T>;
    Tape& t = current();
    if (n > detail::kMaxVariables) too_many_operands(n);
    if (t.failed_ != Growth::ok) t.recording_failed("precomputed_gradients");
    if (c.end - c.pos < n + 1) t.grow_or_throw(n + 1);  // + 1: the count entry of an n-ary statement
  }
  static var_index* operands() { return detail::thread_cursor<T>.idx + detail::thread_cursor<T>.pos; }
  static T* partials() { return detail::thread_cursor<T>.partial + detail::thread_cursor<T>.pos; }
  static var_index end_statement(std::size_t used) {
    Cursor& c = detail::thread_cursor<T>;
    const std::size_t k = c.pos;
    if (used == 0) return 0;
    if (used == 1) {
      c.idx[k] |= detail::kUnaryCode;
    } else if (used == 2) {
      c.idx[k + 1] |= detail::kBinaryCode;
    } else {
      c.idx[k + used] = static_cast<var_index>(used) | detail::kNaryCode;
      c.partial[k + used] = T(0);  // unused
      ++used;
    }
    c.pos = k + used;
    return new_variable(c);
  }

  // ---- gradients ----

  // Sets every adjoint of the current scope to d y / d variable: zeroes the scope's
  // adjoints, seeds adj[y] = seed and sweeps the scope's statements once, back to front.
  // Variables of enclosing scopes that the scope used act as constants here: the sweep
  // stops at the scope's start and never writes their adjoints, so gradients an
  // enclosing scope computed before stay readable (Stan's nested gradients, by
  // contrast, add into them).
  void backward(var_index y, T seed = T(1)) {
    if (failed_ != Growth::ok) recording_failed("backward");
    const Mark base = scope_base();
    if (y != 0 && y < base.variables)
      detail::fail<GraphError>("backward: the output (variable ", static_cast<std::size_t>(y),
                               ") was recorded outside the current TapeScope, which begins at variable ",
                               base.variables, "; call backward() after the scope has exited, "
                               "or compute the output inside the scope");
    const std::size_t n = cur_->variables;
    reserve_adjoints(n);
    std::fill(adjoints_.get() + base.variables, adjoints_.get() + n, T(0));
    valid_begin_ = base.variables;
    valid_end_ = n;
    if (y == 0) return;  // a constant: every gradient is zero
    adjoints_[y] = seed;
    sweep(base);
  }

  // d y / d v after the last backward() of this scope (or of an enclosing scope, run
  // before this scope began); 0 for constants and variables no backward() covered.
  T adjoint(var_index v) const {
    if (v >= valid_begin_ && v < valid_end_) return adjoints_[v];  // valid_begin_ >= 1
    return adjoint_outside(v);
  }

  // ---- memory ----

  // Drops everything recorded since the innermost active TapeScope began (the whole
  // tape when no scope is active). Blocks are kept for reuse, not returned to the OS.
  void clear() { rewind(scope_base()); }

  // Returns the blocks not in use (and the adjoint array, if no scope holds gradients)
  // to the allocator. clear() never does this; call it after an unusually large tape.
  void release_memory() {
    if (failed_ != Growth::ok) return;  // the cursor points at the sink; clear() first
    if (cur_->variables == 1 && scopes_.empty()) {
      blocks_.clear();
      cur_->idx = nullptr;
      cur_->partial = nullptr;
      cur_->pos = cur_->end = 0;
      block_ = 0;
      adjoints_.reset();
      adjoint_capacity_ = 0;
      valid_begin_ = valid_end_ = 0;
    } else if (!blocks_.empty()) {
      blocks_.resize(block_ + 1);
    }
  }

  Mark mark() const { return Mark{cur_->variables, block_, used_in_block()}; }

  // Drops everything recorded after `m` (a mark taken on this tape, not already dropped).
  void rewind(const Mark& m) {
    if (m.variables > cur_->variables || (m.block != 0 && m.block >= blocks_.size()))
      detail::fail<GraphError>("Tape::rewind: the mark (", m.variables,
                               " variables) lies beyond the tape's end (", cur_->variables, " variables)");
    cur_->variables = m.variables;
    if (failed_ != Growth::ok && m.variables > failed_at_.variables) {
      // A mark taken after the recording failed: nothing was recorded since, the
      // tape stays failed.
    } else if (!blocks_.empty()) {
      failed_ = Growth::ok;
      block_ = m.block;
      Block& b = blocks_[block_];
      cur_->idx = b.idx.get();
      cur_->partial = b.partial.get();
      cur_->pos = m.offset;
      set_block_end();
    } else {
      failed_ = Growth::ok;  // failed before the first block: the cursor is empty again
      cur_->idx = nullptr;
      cur_->partial = nullptr;
      cur_->pos = cur_->end = 0;
    }
    valid_end_ = std::min(valid_end_, cur_->variables);
    valid_begin_ = std::min(valid_begin_, valid_end_);
    generation_ = detail::next_generation();
#if TAPEGRAD_CHECK_STALE_VARS
    stamps_.resize(cur_->variables);
#endif
  }

  // Scopes (TapeScope calls these). A scope starts with no gradients of its own; the
  // enclosing scope's gradients stay readable inside it and again after it exits.
  void push_scope() {
    scopes_.push_back(Scope{mark(), valid_begin_, valid_end_});
    valid_begin_ = valid_end_ = 0;
  }
  void pop_scope() {
    const Scope s = scopes_.back();
    scopes_.pop_back();
    rewind(s.mark);
    valid_begin_ = s.valid_begin;
    valid_end_ = s.valid_end;
  }
  std::size_t scope_depth() const { return scopes_.size(); }

  std::size_t num_variables() const { return cur_->variables - 1; }

  TapeStats stats() const {
    TapeStats s;
    s.variables = cur_->variables - 1;
    for (std::size_t b = 0; b < blocks_.size(); ++b) {
      s.reserved_bytes += blocks_[b].capacity * (sizeof(var_index) + sizeof(T));
      if (b < block_) s.operands += blocks_[b].used;
    }
    s.operands += used_in_block();
    s.operand_bytes = s.operands * (sizeof(var_index) + sizeof(T));
    s.adjoint_bytes = adjoint_capacity_ * sizeof(T);
    s.blocks = blocks_.size();
    return s;
  }

  // ---- debug checks (no-ops unless TAPEGRAD_CHECK_STALE_VARS) ----

  std::uint32_t generation() const { return static_cast<std::uint32_t>(generation_); }

  // Throws when variable `v` stamped `stamp` is not alive on this tape.
  void check_alive(var_index v, std::uint32_t stamp, const char* where) const {
#if TAPEGRAD_CHECK_STALE_VARS
    if (v != 0 && (v >= cur_->variables || v >= stamps_.size() || stamps_[v] != stamp)) stale_error(v, where);
#else
    (void)v, (void)stamp, (void)where;
#endif
  }

 private:
  template <typename U>
  friend Tape<U>* detail::make_thread_tape() noexcept;

  // Allocates nothing, so creating a thread's tape on its first op cannot fail.
  explicit Tape(Cursor& cursor) noexcept : cur_(&cursor), generation_(detail::next_generation()) {}

  struct Block {
    std::unique_ptr<var_index[]> idx;
    std::unique_ptr<T[]> partial;
    std::size_t capacity = 0;
    std::size_t used = 0;  // valid for blocks before the current one
  };
  struct Scope {
    Mark mark;
    std::size_t valid_begin, valid_end;  // the enclosing scope's gradients
  };

  static constexpr std::size_t kFirstBlock = std::size_t(1) << 14;  // entries
  static constexpr std::size_t kLargestBlock = std::size_t(1) << 22;

  static TAPEGRAD_ALWAYS_INLINE var_index new_variable(Cursor& c) {
    const std::size_t v = c.variables;
    c.variables = v + 1;
#if TAPEGRAD_CHECK_STALE_VARS
    c.tape->stamps_.resize(v + 1, static_cast<std::uint32_t>(c.tape->generation_));  // stamps_[v]
#endif
    return static_cast<var_index>(v);
  }

  // Why the recording stopped (ok: it did not).
  enum class Growth { ok, out_of_memory, out_of_numbers };

  // The slow path of every op: no room for n <= 2 entries in the current block (or no
  // tape yet). Out of line and cold, so the inlined fast path stays a compare and
  // stores. It never throws: an op that can throw puts an exception edge into every
  // loop of the user's code that records, and GCC then keeps values carried around
  // such a loop (the accumulator of s += x[i]) in memory when the function also
  // holds a TapeScope or other destructor, which measured 1.2-1.6x slower. When the
  // tape cannot grow (memory exhausted, or 2^30 - 1 variables numbered), the recording
  // fails instead: the ops still compute their values, their entries go to a sink, and
  // the next backward() throws an error saying what happened. Rewinding to before the
  // failure (the TapeScope exit, clear()) makes the tape usable again.
  static TAPEGRAD_COLD void grow(std::size_t n) noexcept {
    Tape& t = current();
    if (t.failed_ == Growth::ok) {
      const Growth g = t.next_block(n);
      if (g == Growth::ok) return;
      t.failed_at_ = t.mark();  // before failed_ is set: mark() reads the cursor
      t.failed_ = g;
    }
    t.cur_->idx = t.sink_idx_;
    t.cur_->partial = t.sink_partial_;
    t.cur_->pos = 0;
    t.cur_->end = kSinkEntries;
  }

  // The same for the statements that are not on the hot path (inputs, n-ary): these
  // throw right away and record nothing.
  void grow_or_throw(std::size_t n) {
    const Growth g = next_block(n);
    if (g == Growth::out_of_memory) throw std::bad_alloc();
    if (g == Growth::out_of_numbers) too_many_variables(n, "tape entries");
  }

  std::size_t used_in_block() const { return failed_ == Growth::ok ? cur_->pos : failed_at_.offset; }

  Mark scope_base() const { return scopes_.empty() ? Mark{1, 0, 0} : scopes_.back().mark; }

  // Moves to the next block with room for n entries, reusing a kept block if it is
  // big enough; statements never straddle blocks. On failure the cursor is unchanged.
  Growth next_block(std::size_t n) noexcept {
    const std::size_t room = detail::kMaxVariables - std::min(cur_->variables, detail::kMaxVariables);
    if (room < n) return Growth::out_of_numbers;  // see set_block_end
    std::size_t next = blocks_.empty() ? 0 : block_ + 1;
    while (next < blocks_.size() && blocks_[next].capacity < n) blocks_[next++].used = 0;  // too small: skip
    if (next == blocks_.size()) {
      try {
        const std::size_t cap =
            std::max(n, blocks_.empty() ? kFirstBlock : std::min(2 * blocks_.back().capacity, kLargestBlock));
        Block b;
        b.idx.reset(new var_index[cap]);
        b.partial.reset(new T[cap]);
        b.capacity = cap;
        blocks_.push_back(std::move(b));
      } catch (const std::exception&) {  // std::bad_alloc, or std::length_error from the vector
        return Growth::out_of_memory;
      }
    }
    if (!blocks_.empty() && next != 0) blocks_[block_].used = cur_->pos;
    block_ = next;
    cur_->idx = blocks_[block_].idx.get();
    cur_->partial = blocks_[block_].partial.get();
    cur_->pos = 0;
    set_block_end();
    return Growth::ok;
  }

  // Every op statement takes at least one entry and exactly one variable number, so
  // capping the entries still usable at (2^30 - 1) - variables keeps the numbering
  // inside 30 bits without a second test on the fast path.
  void set_block_end() {
    const std::size_t room = detail::kMaxVariables - std::min(cur_->variables, detail::kMaxVariables);
    cur_->end = std::min(blocks_[block_].capacity, cur_->pos + room);
  }

  // (Every entry may start a statement, so entries count against the numbers left too.)
  [[noreturn]] static TAPEGRAD_COLD void too_many_variables(std::size_t adding, const char* what) {
    detail::fail<ValueError>("Var<", detail::scalar_name<T>(), ">: the tape holds ",
                             detail::thread_cursor<T>.variables - 1, " variables and has no room for ", adding,
                             " more ", what, ": one thread's tape numbers at most 2^30 - 1 variables; clear() it "
                             "or record inside a TapeScope");
  }
  [[noreturn]] TAPEGRAD_COLD void recording_failed(const char* where) const {
    detail::fail<GraphError>(where, ": the recording on this thread's Var<", detail::scalar_name<T>(),
                             "> tape stopped at variable ", failed_at_.variables, ": ",
                             failed_ == Growth::out_of_memory ? "out of memory for a new tape block"
                                                              : "one tape numbers at most 2^30 - 1 variables",
                             "; what was recorded after that is lost. Leave the TapeScope (or clear() the tape) "
                             "to drop the failed part, then record again with fewer variables per tape (smaller "
                             "TapeScopes, or tg::precomputed_gradients for big sums)");
  }
  [[noreturn]] static TAPEGRAD_COLD void too_many_operands(std::size_t n) {
    detail::fail<ValueError>("precomputed_gradients: ", n, " operands; one statement takes at most 2^30 - 1, "
                             "split it into several statements");
  }

  void reserve_adjoints(std::size_t n) {
    if (n <= adjoint_capacity_) return;
    std::size_t cap = std::max<std::size_t>(n, 2 * adjoint_capacity_);
    std::unique_ptr<T[]> grown(new T[cap]);
    std::fill(grown.get(), grown.get() + cap, T(0));
    if (adjoint_capacity_ != 0) std::memcpy(grown.get(), adjoints_.get(), adjoint_capacity_ * sizeof(T));
    adjoints_ = std::move(grown);
    adjoint_capacity_ = cap;
  }

  T adjoint_outside(var_index v) const {
    if (v == 0) return T(0);
    for (auto s = scopes_.rbegin(); s != scopes_.rend(); ++s)
      if (v >= s->valid_begin && v < s->valid_end) return adjoints_[v];
    return T(0);
  }

  // The reverse sweep over the statements of [base, end), back to front:
  //   adj[operand] += partial * adj[statement]
  // Refinements that keep it from waiting on memory:
  //   - the statement kind in its last entry lets binary and unary statements, nearly
  //     all of a tape, run as straight code without an inner loop;
  //   - the adjoint of the variable just below the statement being swept (the previous
  //     statement: the common case in loops like s = s + x[i]) is carried in the
  //     register `next`, so one statement's adjoint is never stored and reloaded by
  //     the next before it is used;
  //   - operands numbered below the scope's first variable (variables of enclosing
  //     scopes) and statements with a zero adjoint are skipped. The latter means a
  //     branch the output does not depend on cannot leak 0 * inf = NaN into the
  //     gradient (PyTorch's reachability semantics).
  TAPEGRAD_NOINLINE void sweep(const Mark& base) {
    if (base.variables == 1)
      sweep_statements<false>(base);
    else
      sweep_statements<true>(base);
  }

  // Nested: the scope begins after variable 1, so operands may be variables of
  // enclosing scopes, which must be skipped; at the top level every operand is in range
  // and the test is compiled out.
  template <bool Nested>
  void sweep_statements(const Mark& base) {
    T* const adj = adjoints_.get();
    const std::size_t first = base.variables;  // >= 1
    std::size_t lhs = cur_->variables;         // one past the statement being swept
    T next = adj[lhs - 1];                     // adj[lhs - 1] plus what the sweep added to it so far
    // adj[i] += p a, for operand i of statement lhs (so i < lhs) with partial p.
    auto add = [&](std::size_t i, T p, T a) {
      if (i + 1 == lhs) {
        // The chain of a loop like s = s + x[i]: its latency bounds the sweep. Such
        // partials are often 1 (sums, differences), and a * 1 == a exactly: skipping
        // the multiply took the sum loop's sweep from 1.74 to 1.33 ns per statement
        // (costing statements whose partial is not 1 about 0.1 ns for the test).
        if (p == T(1))
          next += a;
        else
          next += p * a;
      } else if (!Nested || i >= first) {
        adj[i] += p * a;
      }
    };
    for (std::size_t b = block_ + 1; b-- > base.block;) {
      const Block& blk = blocks_[b];
      const var_index* idx = blk.idx.get();
      const T* partial = blk.partial.get();
      std::size_t k = (b == block_) ? cur_->pos : blk.used;  // one past the statement's last entry
      const std::size_t begin = (b == base.block) ? base.offset : 0;
      while (k > begin) {
        // Sweep statement lhs - 1 next: its adjoint is complete, since every
        // statement that uses it comes later and has been swept.
        --lhs;
        const T a = next;
        adj[lhs] = a;
        next = adj[lhs - 1];  // lhs >= first >= 1; below `first` it is only read, never stored
        const var_index last = idx[k - 1];
        const var_index code = last & detail::kCodeMask;
        if (TAPEGRAD_LIKELY(code == detail::kBinaryCode)) {  // the bulk of most tapes: first, as straight code
          k -= 2;
          if (a != T(0)) {
            add(idx[k], partial[k], a);
            add(last & detail::kIndexMask, partial[k + 1], a);
          }
          continue;
        }
        if (code == detail::kUnaryCode) {
          k -= 1;
          if (a != T(0)) add(last & detail::kIndexMask, partial[k], a);
        } else if (code == detail::kNaryCode) {
          const std::size_t n = last & detail::kIndexMask;
          k -= n + 1;
          if (a != T(0))
            for (std::size_t j = n; j-- > 0;) add(idx[k + j], partial[k + j], a);
        } else {  // n inputs, numbered lhs - n + 1 .. lhs: no operands, adjoints complete
          const std::size_t n = last & detail::kIndexMask;
          k -= 1;
          if (n > 1) {
            adj[lhs - 1] = next;
            lhs -= n - 1;
            next = adj[lhs - 1];
          }
        }
      }
    }
  }

  [[noreturn]] TAPEGRAD_COLD void stale_error(var_index v, const char* where) const {
    detail::fail<GraphError>(where, ": this Var<", detail::scalar_name<T>(), "> (variable ", static_cast<std::size_t>(v),
                             ") is no longer on this thread's tape: it was recorded in a TapeScope that has "
                             "exited, before a clear() of its tape, or on another thread. Its value is still "
                             "readable with val(); to keep using it, record it again inside the current scope "
                             "(tg::variable(x.val())) or keep the computation inside the scope that made it");
  }

  static constexpr std::size_t kSinkEntries = 2;  // the most entries push_input/push1/push2 write

  Cursor* cur_;  // the owning thread's cursor (valid while that thread lives)
  Growth failed_ = Growth::ok;
  Mark failed_at_{1, 0, 0};  // where the recording stopped, when failed_ != ok
  var_index sink_idx_[kSinkEntries] = {};  // where a failed recording's ops write
  T sink_partial_[kSinkEntries] = {};
  std::size_t block_ = 0;
  std::vector<Block> blocks_;

  std::unique_ptr<T[]> adjoints_;
  std::size_t adjoint_capacity_ = 0;
  std::size_t valid_begin_ = 0, valid_end_ = 0;  // adjoints written by this scope's last backward()
  std::vector<Scope> scopes_;

  std::uint64_t generation_;
#if TAPEGRAD_CHECK_STALE_VARS
  std::vector<std::uint32_t> stamps_;  // generation of each live variable
#endif
};

namespace detail {
template <typename T>
TAPEGRAD_NOINLINE Tape<T>* make_thread_tape() noexcept {
  struct Owner {
    Tape<T> tape{thread_cursor<T>};
    ~Owner() { thread_cursor<T> = TapeCursor<T>{}; }  // the blocks are gone: no room
  };
  static thread_local Owner owner;
  thread_cursor<T>.tape = &owner.tape;
  return &owner.tape;
}
}  // namespace detail

template <typename T>
TAPEGRAD_ALWAYS_INLINE Tape<T>& Tape<T>::current() {
  Tape<T>* t = detail::thread_cursor<T>.tape;
  if (TAPEGRAD_UNLIKELY(t == nullptr)) t = detail::make_thread_tape<T>();
  return *t;
}

// The calling thread's tape for Var<T>: tg::tape().clear(), tg::tape().stats(), ...
template <typename T = double>
Tape<T>& tape() {
  return Tape<T>::current();
}

// RAII scope on the calling thread's tapes (float and double): what is recorded inside
// is dropped when the scope exits, the memory stays for reuse, and Vars of enclosing
// scopes keep working. Nest them for inner gradients (Stan's nested_rev_autodiff):
//
//   tg::Var<double> x = tg::variable(2.0);
//   { tg::TapeScope scope;                   // inner gradient, outer tape untouched
//     auto u = tg::variable(x.val()); auto z = u * u; z.backward();  // u.grad() == 4
//   }
class TapeScope {
 public:
  TapeScope() {
    Tape<double>::current().push_scope();
    Tape<float>::current().push_scope();
  }
  ~TapeScope() {
    Tape<float>::current().pop_scope();
    Tape<double>::current().pop_scope();
  }
  TapeScope(const TapeScope&) = delete;
  TapeScope& operator=(const TapeScope&) = delete;
};

}  // namespace tapegrad

#pragma once
// The scalar reverse-mode tape behind tg::Var<T>: one per thread and scalar type.
//
// Layout ("Jacobian taping", as Adept and CoDiPack do it; not Stan's vari objects):
//   - Variables are numbered in recording order: 1, 2, 3, ... (0 means "a constant").
//     A Var is its value plus that number; it owns nothing.
//   - Each recorded statement stores, per operand that is not a constant, the operand's
//     number (4 bytes) and the partial derivative d(result)/d(operand) (sizeof(T)),
//     computed while recording. The statement's own number is implicit (statements and
//     variables share one counter), and the end of a statement is the top bit of its
//     first operand's number, so there is no per-statement header at all:
//       binary op  x * y  ->  2 x (4 + 8) = 24 bytes of tape for T = double
//       unary op   exp(x) ->  1 x (4 + 8) = 12 bytes
//       new input  variable(3.0) -> one dummy operand, 12 bytes
//   - Indices and partials live in two arrays inside large blocks (pointer bump; a
//     block is allocated once and kept for reuse by clear() and scopes), never one
//     allocation per node, no virtual call, no shared_ptr.
//   - Adjoints are one array indexed by variable number (sizeof(T) per variable),
//     sized at the first backward() and kept.
//   - The reverse sweep is one linear loop over the operand array, back to front:
//         adj[operand] += partial * adj[statement]
//
// Scopes: TapeScope (scalar/var.hpp) marks the tape on entry and rewinds to the mark on
// exit; everything recorded inside is dropped, the memory stays for reuse. Builds
// without NDEBUG stamp every variable with a generation number and check it whenever a
// Var is used, so a Var whose scope has exited (or whose tape was cleared, or that was
// recorded on another thread) is a clear GraphError instead of a wrong gradient.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "../core/error.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define TAPEGRAD_ALWAYS_INLINE inline __attribute__((always_inline))
#define TAPEGRAD_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define TAPEGRAD_ALWAYS_INLINE inline
#define TAPEGRAD_UNLIKELY(x) (x)
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

namespace detail {
constexpr std::uint32_t kFirstOperand = 0x80000000u;       // marks the first operand of a statement
constexpr std::uint32_t kIndexMask = kFirstOperand - 1u;    // the operand's variable number
constexpr std::size_t kMaxVariables = kIndexMask;           // numbers 1 .. 2^31 - 1

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
}  // namespace detail

// Memory of one tape, as returned by Tape<T>::stats().
struct TapeStats {
  std::size_t variables = 0;       // recorded variables (inputs and results), not constants
  std::size_t operands = 0;        // operand entries on the tape (inputs count one dummy entry)
  std::size_t operand_bytes = 0;   // operands * (4 + sizeof(T)): the recording itself
  std::size_t adjoint_bytes = 0;   // adjoint array reserved (sizeof(T) per variable once backward ran)
  std::size_t blocks = 0;          // arena blocks held (used or kept for reuse)
  std::size_t reserved_bytes = 0;  // bytes of all blocks held
};

template <typename T>
class Tape {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "tapegrad::Tape<T> / Var<T> support T = float or double");

 public:
  // A position on the tape; rewind(mark) drops everything recorded after it.
  struct Mark {
    std::size_t variables;  // num_vars_ at the mark
    std::size_t block;      // block index
    std::size_t offset;     // operand entries used in that block
  };

  // The calling thread's tape for T (created on first use, freed at thread exit).
  static Tape& current();

  Tape() : generation_(detail::next_generation()) {
#if TAPEGRAD_CHECK_STALE_VARS
    stamps_.push_back(0);  // slot 0: constants
#endif
  }
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  // ---- recording (used by Var and its functions; open to custom scalar functions) ----

  // A new input variable: no operands, one dummy entry keeps the statement count aligned.
  TAPEGRAD_ALWAYS_INLINE var_index push_input() {
    if (TAPEGRAD_UNLIKELY(end_ - pos_ < 1)) next_block(1);
    idx_[pos_] = detail::kFirstOperand;  // operand 0 (the constant slot), partial 0
    partial_[pos_] = T(0);
    pos_ += 1;
    return new_variable();
  }

  // result = f(a), d result / d a = da. `a` must be a variable (not 0).
  TAPEGRAD_ALWAYS_INLINE var_index push1(var_index a, T da) {
    if (TAPEGRAD_UNLIKELY(end_ - pos_ < 1)) next_block(1);
    idx_[pos_] = a | detail::kFirstOperand;
    partial_[pos_] = da;
    pos_ += 1;
    return new_variable();
  }

  // result = f(a, b) with partials da, db. Both must be variables.
  TAPEGRAD_ALWAYS_INLINE var_index push2(var_index a, T da, var_index b, T db) {
    if (TAPEGRAD_UNLIKELY(end_ - pos_ < 2)) next_block(2);
    idx_[pos_] = a | detail::kFirstOperand;
    idx_[pos_ + 1] = b;
    partial_[pos_] = da;
    partial_[pos_ + 1] = db;
    pos_ += 2;
    return new_variable();
  }

  // n new input variables numbered first, first + 1, ..., first + n - 1; returns first.
  var_index push_inputs(std::size_t n) {
    const std::size_t first = num_vars_;
    while (n > 0) {
      if (end_ == pos_) next_block(1);
      const std::size_t m = std::min(n, end_ - pos_);
      std::fill(idx_ + pos_, idx_ + pos_ + m, detail::kFirstOperand);
      std::fill(partial_ + pos_, partial_ + pos_ + m, T(0));
      pos_ += m;
      n -= m;
#if TAPEGRAD_CHECK_STALE_VARS
      stamps_.resize(stamps_.size() + m, static_cast<std::uint32_t>(generation_));
#endif
      num_vars_ += m;
    }
    return static_cast<var_index>(first);
  }

  // A statement of up to n operands written in place: fill operands()[k] and
  // partials()[k] for k < used, then end_statement(used) records it (used >= 1) and
  // returns its variable; used == 0 records nothing.
  void begin_statement(std::size_t n) {
    if (TAPEGRAD_UNLIKELY(end_ - pos_ < n)) next_block(n);
  }
  var_index* operands() { return idx_ + pos_; }
  T* partials() { return partial_ + pos_; }
  var_index end_statement(std::size_t used) {
    idx_[pos_] |= detail::kFirstOperand;
    pos_ += used;
    return new_variable();
  }

  // ---- gradients ----

  // Sets every adjoint of the current scope to d y / d variable: zeroes the scope's
  // adjoints, seeds adj[y] = seed and sweeps the scope's statements once, back to front.
  // Variables of enclosing scopes that the scope used act as constants here: the sweep
  // stops at the scope's start and never writes their adjoints, so gradients an
  // enclosing scope computed before stay readable (Stan's nested gradients, by
  // contrast, add into them).
  void backward(var_index y, T seed = T(1)) {
    const Mark base = scope_base();
    if (y != 0 && y < base.variables)
      detail::fail<GraphError>("backward: the output (variable ", static_cast<std::size_t>(y),
                               ") was recorded outside the current TapeScope, which begins at variable ",
                               base.variables, "; call backward() after the scope has exited, "
                               "or compute the output inside the scope");
    const std::size_t n = num_vars_;
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
    if (v == 0) return T(0);
    if (v >= valid_begin_ && v < valid_end_) return adjoints_[v];
    for (auto s = scopes_.rbegin(); s != scopes_.rend(); ++s)
      if (v >= s->valid_begin && v < s->valid_end) return adjoints_[v];
    return T(0);
  }

  // ---- memory ----

  // Drops everything recorded since the innermost active TapeScope began (the whole
  // tape when no scope is active). Blocks are kept for reuse, not returned to the OS.
  void clear() { rewind(scope_base()); }

  // Returns the blocks not in use (and the adjoint array, if no scope holds gradients)
  // to the allocator. clear() never does this; call it after an unusually large tape.
  void release_memory() {
    if (num_vars_ == 1 && scopes_.empty()) {
      blocks_.clear();
      idx_ = nullptr;
      partial_ = nullptr;
      pos_ = end_ = 0;
      block_ = 0;
      adjoints_.reset();
      adjoint_capacity_ = 0;
      valid_begin_ = valid_end_ = 0;
    } else if (!blocks_.empty()) {
      blocks_.resize(block_ + 1);
    }
  }

  Mark mark() const { return Mark{num_vars_, block_, used_in_block()}; }

  // Drops everything recorded after `m` (a mark taken on this tape, not already dropped).
  void rewind(const Mark& m) {
    if (m.variables > num_vars_ || (m.block != 0 && m.block >= blocks_.size()))
      detail::fail<GraphError>("Tape::rewind: the mark (", m.variables,
                               " variables) lies beyond the tape's end (", num_vars_, " variables)");
    num_vars_ = m.variables;
    if (!blocks_.empty()) {
      block_ = m.block;
      Block& b = blocks_[block_];
      idx_ = b.idx.get();
      partial_ = b.partial.get();
      pos_ = m.offset;
      set_block_end();
    }
    valid_end_ = std::min(valid_end_, num_vars_);
    valid_begin_ = std::min(valid_begin_, valid_end_);
    generation_ = detail::next_generation();
#if TAPEGRAD_CHECK_STALE_VARS
    stamps_.resize(num_vars_);
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

  std::size_t num_variables() const { return num_vars_ - 1; }

  TapeStats stats() const {
    TapeStats s;
    s.variables = num_vars_ - 1;
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
    if (v != 0 && (v >= num_vars_ || stamps_[v] != stamp)) stale_error(v, where);
#else
    (void)v, (void)stamp, (void)where;
#endif
  }

 private:
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

  static constexpr std::size_t kFirstBlock = std::size_t(1) << 14;  // operand entries
  static constexpr std::size_t kLargestBlock = std::size_t(1) << 22;

  TAPEGRAD_ALWAYS_INLINE var_index new_variable() {
#if TAPEGRAD_CHECK_STALE_VARS
    stamps_.push_back(static_cast<std::uint32_t>(generation_));
#endif
    return static_cast<var_index>(num_vars_++);
  }

  std::size_t used_in_block() const { return pos_; }
  std::size_t used_blocks() const { return blocks_.empty() ? 0 : block_ + 1; }

  Mark scope_base() const { return scopes_.empty() ? Mark{1, 0, 0} : scopes_.back().mark; }

  // Moves to the next block with room for n entries, reusing a kept block if it is
  // big enough; statements never straddle blocks.
  TAPEGRAD_NOINLINE void next_block(std::size_t n) {
    if (!blocks_.empty()) blocks_[block_].used = used_in_block();
    std::size_t next = blocks_.empty() ? 0 : block_ + 1;
    while (next < blocks_.size() && blocks_[next].capacity < n) blocks_[next++].used = 0;  // too small: skip
    if (next == blocks_.size()) {
      const std::size_t cap =
          std::max(n, blocks_.empty() ? kFirstBlock : std::min(2 * blocks_.back().capacity, kLargestBlock));
      Block b;
      b.idx.reset(new var_index[cap]);
      b.partial.reset(new T[cap]);
      b.capacity = cap;
      blocks_.push_back(std::move(b));
    }
    block_ = next;
    idx_ = blocks_[block_].idx.get();
    partial_ = blocks_[block_].partial.get();
    pos_ = 0;
    set_block_end();
    if (end_ - pos_ < n)
      detail::fail<ValueError>("Var<", detail::scalar_name<T>(), ">: the tape holds ", num_vars_ - 1,
                               " variables, the most one thread's tape can number (2^31 - 1); clear() it "
                               "or record inside a TapeScope");
  }

  // Every variable takes at least one operand entry, so capping the entries still free
  // at (2^31 - 1) - variables keeps the numbering inside 31 bits.
  void set_block_end() {
    const std::size_t room = detail::kMaxVariables - std::min(num_vars_, detail::kMaxVariables);
    end_ = std::min(blocks_[block_].capacity, pos_ + room);
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

  // The reverse sweep over statements [base, end): one loop per block, back to front.
  //   adj[operand] += partial * adj[statement]
  // Two refinements keep it from waiting on memory:
  //   - the adjoint `a` of the statement being swept stays in a register, and the
  //     contributions to the variable just before it (the previous statement: the
  //     common case in loops like s = s + x[i]) are carried in a register too, so one
  //     statement's adjoint is never stored and immediately reloaded by the next;
  //   - operands numbered below the scope's first variable (operand 0, the constant
  //     slot that inputs use as their dummy operand, and variables of enclosing scopes)
  //     and statements with a zero adjoint are skipped. The latter means a branch the
  //     output does not depend on cannot leak 0 * inf = NaN into the gradient
  //     (PyTorch's reachability semantics).
  void sweep(const Mark& base) {
    T* adj = adjoints_.get();
    const std::size_t first = base.variables;  // >= 1
    std::size_t lhs = num_vars_ - 1;
    T a = adj[lhs];
    T next = adj[lhs - 1];  // adj[lhs - 1] plus the current statement's contributions to it
    for (std::size_t b = block_ + 1; b-- > base.block;) {
      const Block& blk = blocks_[b];
      const std::size_t end = (b == block_) ? used_in_block() : blk.used;
      const std::size_t begin = (b == base.block) ? base.offset : 0;
      const var_index* idx = blk.idx.get();
      const T* partial = blk.partial.get();
      for (std::size_t k = end; k-- > begin;) {
        const var_index raw = idx[k];
        const std::size_t i = raw & detail::kIndexMask;
        if (a != T(0) && i >= first) {
          const T c = partial[k] * a;
          if (i + 1 == lhs)
            next += c;
          else
            adj[i] += c;
        }
        if (raw & detail::kFirstOperand) {  // statement done: move to the one before it
          --lhs;
          a = next;
          adj[lhs] = a;
          next = lhs != 0 ? adj[lhs - 1] : T(0);
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

  // Hot fields first: every recorded operation touches these. The cursor is an integer
  // offset, not a pointer: GCC lets a pointer store alias any pointer (the thread's tape
  // pointer included), so a pointer cursor forces every op to reload the tape from
  // scratch, while integer stores let consecutive ops keep it in registers.
  var_index* idx_ = nullptr;  // the current block's operand numbers
  T* partial_ = nullptr;      // and partials
  std::size_t pos_ = 0;       // entries used in the current block
  std::size_t end_ = 0;       // entries usable in the current block
  std::size_t num_vars_ = 1;  // variable 0 is the constant slot
  std::size_t block_ = 0;
  std::vector<Block> blocks_;

  std::unique_ptr<T[]> adjoints_;
  std::size_t adjoint_capacity_ = 0;
  std::size_t valid_begin_ = 0, valid_end_ = 0;  // adjoints written by this scope's last backward()
  std::vector<Scope> scopes_;

  // 64 bits on purpose: a 32-bit member would let GCC assume that every operand-number
  // store (uint32) may modify the tape object, and reload it after each one.
  std::uint64_t generation_;
#if TAPEGRAD_CHECK_STALE_VARS
  std::vector<std::uint32_t> stamps_;  // generation of each live variable
#endif
};

namespace detail {
// Constant-initialised thread_local pointer: reading it is one load, no guard.
template <typename T>
inline thread_local Tape<T>* thread_tape = nullptr;

template <typename T>
TAPEGRAD_NOINLINE Tape<T>* make_thread_tape() {
  struct Owner {
    Tape<T> tape;
    ~Owner() { thread_tape<T> = nullptr; }
  };
  static thread_local Owner owner;
  thread_tape<T> = &owner.tape;
  return &owner.tape;
}
}  // namespace detail

template <typename T>
TAPEGRAD_ALWAYS_INLINE Tape<T>& Tape<T>::current() {
  Tape<T>* t = detail::thread_tape<T>;
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

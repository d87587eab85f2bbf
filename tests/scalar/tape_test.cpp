// The scalar tape: bytes per statement, arena block reuse, scopes (nested gradients,
// the outer tape intact), stale-Var detection in debug builds, thread-local tapes.
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <thread>
#include <vector>

#include "scalar_test_util.hpp"

using V = tg::Var<double>;

// Array allocations of 64 KiB or more fail while this is set: tape blocks are such
// arrays, so a test can make the tape run out of memory. (Replacing operator new[] and
// delete[] together keeps allocation and release paired, also under AddressSanitizer.)
namespace {
bool fail_big_arrays = false;
}
void* operator new[](std::size_t n) {
  if (fail_big_arrays && n >= (std::size_t(1) << 16)) throw std::bad_alloc();
  if (void* p = std::malloc(n != 0 ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace scalar_tape_test {

TEST_CASE("Tape: 24 bytes per binary op, 12 per unary op and per input batch", "[tape]") {
  tg::TapeScope scope;
  auto bytes = [] { return tg::tape().stats().operand_bytes; };
  std::size_t before = bytes();
  const V x = tg::variable(1.5), y = tg::variable(2.5);
  CHECK(bytes() - before == 2 * 12);  // tg::variable: one 12-byte entry each
  before = bytes();
  const std::vector<V> batch = tg::variables(std::vector<double>(1000, 0.5));
  CHECK(bytes() - before == 12);  // tg::variables: one entry for the whole batch
  CHECK(batch[999].index() == batch[0].index() + 999);
  before = bytes();
  const V p = x * y;
  CHECK(bytes() - before == 24);  // 2 x (4-byte operand index + 8-byte partial), no header
  before = bytes();
  const V e = exp(p);
  CHECK(bytes() - before == 12);
  before = bytes();
  const V c = e * 2.0 + 1.0;  // ops with constants record only the variable operand
  CHECK(bytes() - before == 24);
  const tg::TapeStats s = tg::tape().stats();
  CHECK(s.operand_bytes == s.operands * (sizeof(tg::var_index) + sizeof(double)));
  // 1000 more binary ops: exactly 24 bytes each, amortised over block boundaries too.
  before = bytes();
  V acc = c;
  for (int i = 0; i < 1000; ++i) acc = acc * x;
  CHECK(bytes() - before == 24 * 1000);
  // Adjoints: one T per variable, allocated by the first backward and kept.
  acc.backward();
  CHECK(tg::tape().stats().adjoint_bytes >= tg::tape().stats().variables * sizeof(double));
}

TEST_CASE("Tape: record/clear cycles reuse the same blocks", "[tape]") {
  tg::Tape<double>& tape = tg::tape();
  auto record = [] {
    const std::vector<V> xs = tg::variables(std::vector<double>(50000, 1.001));
    V p = 1.0;
    for (const V& x : xs) p = p * x + 0.5 * sin(x);
    p.backward();
    return std::make_pair(p.val(), xs[123].grad());
  };
  tg::TapeScope scope;
  const tg::TapeStats empty = tape.stats();
  const auto first = record();
  tape.clear();
  const tg::TapeStats warm = tape.stats();
  CHECK(warm.blocks >= 2);  // 300000 operand entries need more than the first block
  CHECK(warm.variables == empty.variables);
  CHECK(warm.operands == empty.operands);
  for (int cycle = 0; cycle < 20; ++cycle) {
    const auto again = record();
    CHECK(again == first);  // same values and gradients every time
    const tg::TapeStats s = tape.stats();
    CHECK(s.blocks == warm.blocks);
    CHECK(s.reserved_bytes == warm.reserved_bytes);
    CHECK(s.adjoint_bytes == warm.adjoint_bytes);
    tape.clear();
  }
  // A scope that records the same amount reuses them too.
  for (int cycle = 0; cycle < 5; ++cycle) {
    tg::TapeScope inner;
    record();
  }
  CHECK(tape.stats().blocks == warm.blocks);
  CHECK(tape.stats().reserved_bytes == warm.reserved_bytes);
}

TEST_CASE("Tape: release_memory returns the blocks of an empty tape", "[tape]") {
  std::thread([] {  // a fresh thread: its tape starts empty and no scope is open
    tg::Tape<double>& tape = tg::tape();
    CHECK(tape.stats().blocks == 0);  // nothing allocated before the first record
    {
      const std::vector<V> xs = tg::variables(std::vector<double>(40000, 1.0));
      V s = 0.0;
      for (const V& x : xs) s += x;
      s.backward();
    }
    CHECK(tape.stats().blocks >= 2);
    tape.clear();
    CHECK(tape.stats().blocks >= 2);  // clear() keeps them
    tape.release_memory();
    CHECK(tape.stats().blocks == 0);
    CHECK(tape.stats().adjoint_bytes == 0);
    const V x = tg::variable(2.0);  // and recording starts again
    const V y = x * x;
    y.backward();
    CHECK(x.grad() == 4.0);
  }).join();
}

TEST_CASE("Tape: when a block cannot be allocated, the recording stops and backward says so", "[tape]") {
  std::thread([] {  // a fresh tape: no blocks kept from other tests
    {
      tg::TapeScope scope;
      const V x = tg::variable(1.5);  // the first block exists from here on
      V s = x;
      fail_big_arrays = true;
      double expected = 1.5;
      for (int i = 0; i < 20000; ++i) {  // more entries than the first block holds
        s = s * 0.5 + x;
        expected = expected * 0.5 + 1.5;
      }
      fail_big_arrays = false;
      CHECK(s.val() == expected);  // ops never throw: the values are still computed
      CHECK_THROWS_AS(s.backward(), tg::GraphError);
      CHECK_THROWS_WITH(s.backward(), Catch::Matchers::Contains("out of memory") &&
                                          Catch::Matchers::Contains("Leave the TapeScope"));
      CHECK_THROWS_WITH(tg::precomputed_gradients(1.0, std::vector<V>{x, s}, std::vector<double>{1, 2}),
                        Catch::Matchers::Contains("out of memory"));
      {  // a scope opened and left after the failure does not undo it
        tg::TapeScope inner;
        const V u = tg::variable(2.0) * x;
        (void)u;
      }
      CHECK_THROWS_AS(s.backward(), tg::GraphError);
    }  // leaving the scope drops the failed recording
    const V x = tg::variable(3.0);
    V y = x;
    for (int i = 0; i < 20000; ++i) y = y * 1.0 + 0.0;  // grows the tape now that memory is there
    y = y * x;
    y.backward();
    CHECK(x.grad() == 6.0);
  }).join();
}

#if !TAPEGRAD_CHECK_STALE_VARS  // debug builds would stamp a billion variables
TEST_CASE("Tape: running out of variable numbers stops the recording with a clear error", "[tape]") {
  tg::TapeScope scope;
  const V x = tg::variable(2.0);
  // A batch of inputs takes one entry however long it is, so the numbers run out fast.
  CHECK_THROWS_AS(tg::Tape<double>::push_inputs(std::size_t(1) << 30), tg::ValueError);
  CHECK_THROWS_WITH(tg::Tape<double>::push_inputs(std::size_t(1) << 30),
                    Catch::Matchers::Contains("no room for 1073741824 more inputs") &&
                        Catch::Matchers::Contains("2^30 - 1"));
  const std::size_t left = ((std::size_t(1) << 30) - 1) - (tg::tape().num_variables() + 1);  // numbers still free
  tg::Tape<double>::push_inputs(left - 3);
  V y = x;
  for (int i = 0; i < 10; ++i) y = y * 1.5;  // the fourth op finds no number left
  CHECK(y.val() == 2.0 * std::pow(1.5, 10));
  CHECK_THROWS_WITH(y.backward(), Catch::Matchers::Contains("at most 2^30 - 1 variables"));
  tg::tape().clear();  // drops everything recorded in the scope, the failed ops included
  const V u = tg::variable(2.0);
  const V z = u * u;
  z.backward();
  CHECK(u.grad() == 4.0);
}
#endif

TEST_CASE("Tape: a gradient sweeps across block boundaries and big statements", "[tape]") {
  tg::TapeScope scope;
  // A chain of 300000 statements spans several blocks: y = x * 1.00001^n + n * 0.5.
  const V x = tg::variable(2.0);
  V y = x;
  const int n = 300000;
  for (int i = 0; i < n; ++i) y = (i % 2 == 0) ? y * 1.00001 : y + 1.0;
  CHECK(tg::tape().stats().blocks >= 3);
  y.backward();
  CHECK(x.grad() == Approx(std::pow(1.00001, n / 2)).epsilon(1e-12));
  // One statement with more operands than a fresh block holds.
  const std::vector<V> xs = tg::variables(std::vector<double>(40000, 3.0));
  std::vector<double> partials(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) partials[i] = static_cast<double>(i);
  const V big = tg::precomputed_gradients(0.0, xs, partials);
  const V z = big * x;
  z.backward();
  CHECK(xs[0].grad() == 0.0);
  CHECK(xs[39999].grad() == 39999.0 * 2.0);
  CHECK(x.grad() == 0.0);  // big.val() == 0
}

TEST_CASE("Tape: backward sets the gradients, it does not accumulate them", "[tape]") {
  tg::TapeScope scope;
  const V x = tg::variable(3.0), y = tg::variable(4.0);
  const V f = x * y, g = x + y * y;
  f.backward();
  CHECK(x.grad() == 4.0);
  CHECK(y.grad() == 3.0);
  f.backward();  // again: the same, not doubled
  CHECK(x.grad() == 4.0);
  tg::grad(g);  // Stan's spelling; another output resets everything first
  CHECK(x.grad() == 1.0);
  CHECK(y.adj() == 8.0);
  CHECK(f.grad() == 0.0);  // f does not feed g
  CHECK(g.grad() == 1.0);
  // A Var recorded after the last backward has no gradient yet.
  const V h = x * 2.0;
  CHECK(h.grad() == 0.0);
  // backward() of a constant: every gradient is zero.
  V(5.0).backward();
  CHECK(x.grad() == 0.0);
  CHECK(y.grad() == 0.0);
}

TEST_CASE("TapeScope: everything recorded inside is dropped on exit, the outer tape intact", "[tape][scope]") {
  tg::TapeScope outer;
  const V x = tg::variable(2.0);
  const V y = x * x;  // outer recording
  const tg::TapeStats before = tg::tape().stats();
  {
    tg::TapeScope inner;
    const V a = tg::variable(5.0);
    V b = a;
    for (int i = 0; i < 100; ++i) b = b * 1.5 + x;  // inner may use outer Vars
    CHECK(tg::tape().stats().variables > before.variables + 100);
  }
  const tg::TapeStats after = tg::tape().stats();
  CHECK(after.variables == before.variables);
  CHECK(after.operands == before.operands);
  // The outer computation is still there and differentiates as before.
  const V z = y * x;  // x^3
  z.backward();
  CHECK(x.grad() == 12.0);
}

TEST_CASE("TapeScope: nested gradients (Stan's nested_rev_autodiff)", "[tape][scope]") {
  tg::TapeScope outer;
  const V x = tg::variable(1.5);
  const V y = sin(x) * x;
  y.backward();
  const double dy = x.grad();
  CHECK(dy == Approx(std::cos(1.5) * 1.5 + std::sin(1.5)));

  // An inner gradient at the point x: d/du (u^3) = 3 u^2, computed in a nested scope
  // from a fresh input holding x's value.
  double inner_gradient = 0;
  {
    tg::TapeScope inner;
    const V u = tg::variable(x.val());
    const V w = u * u * u;
    w.backward();
    inner_gradient = u.grad();
    // Nested two deep.
    {
      tg::TapeScope innermost;
      const V v = tg::variable(2.0);
      const V q = exp(v);
      q.backward();
      CHECK(v.grad() == Approx(std::exp(2.0)));
    }
    CHECK(u.grad() == inner_gradient);  // the inner gradients survive the innermost scope
  }
  CHECK(inner_gradient == Approx(3 * 1.5 * 1.5));
  // The outer gradients computed before the inner scope are still readable.
  CHECK(x.grad() == dy);
  CHECK(y.grad() == 1.0);

  // The inner result used as a number in the outer computation.
  const V outer_result = y + inner_gradient * x;
  outer_result.backward();
  CHECK(x.grad() == Approx(dy + inner_gradient));
}

TEST_CASE("TapeScope: backward of an outer Var inside an inner scope is an error", "[tape][scope]") {
  tg::TapeScope outer;
  const V x = tg::variable(1.0);
  const V y = x * 3.0;
  tg::TapeScope inner;
  CHECK_THROWS_AS(y.backward(), tg::GraphError);
  CHECK_THROWS_WITH(y.backward(), Catch::Matchers::Contains("recorded outside the current TapeScope"));
}

TEST_CASE("TapeScope: an exception inside the scope still rewinds the tape", "[tape][scope]") {
  tg::TapeScope outer;
  const std::size_t before = tg::tape().num_variables();
  const std::size_t depth = tg::tape().scope_depth();
  try {
    tg::TapeScope inner;
    const V a = tg::variable(1.0);
    const V b = a * a;
    (void)b;
    throw std::runtime_error("user code failed");
  } catch (const std::runtime_error&) {
  }
  CHECK(tg::tape().num_variables() == before);
  CHECK(tg::tape().scope_depth() == depth);
}

TEST_CASE("Tape::clear inside a scope clears only that scope", "[tape][scope]") {
  tg::TapeScope outer;
  const V x = tg::variable(2.0);
  const std::size_t before = tg::tape().num_variables();
  {
    tg::TapeScope inner;
    const V a = tg::variable(1.0) * x;
    (void)a;
    tg::tape().clear();
    CHECK(tg::tape().num_variables() == before);
    const V u = tg::variable(3.0);
    const V b = u * x;  // x is still alive
    b.backward();
    CHECK(u.grad() == 2.0);
  }
  CHECK(tg::tape().num_variables() == before);
}

TEST_CASE("TapeScope: Vars of an enclosing scope act as constants for a nested backward", "[tape][scope]") {
  tg::TapeScope outer;
  const V x = tg::variable(2.0);
  const V y = x * x * x;
  y.backward();
  CHECK(x.grad() == 12.0);
  {
    tg::TapeScope inner;
    const V u = tg::variable(5.0);
    const V z = u * x + x * x;  // uses x directly
    z.backward();
    CHECK(u.grad() == 2.0);    // d z / d u = x
    CHECK(x.grad() == 12.0);   // x is a constant here: its outer gradient is untouched
    CHECK(z.grad() == 1.0);
  }
  CHECK(x.grad() == 12.0);
  CHECK(y.grad() == 1.0);
}

#if TAPEGRAD_CHECK_STALE_VARS
TEST_CASE("Tape: a Var from an exited scope or a cleared tape is an error in debug builds", "[tape][debug]") {
  tg::TapeScope outer;
  const V x = tg::variable(2.0);
  V stale;
  {
    tg::TapeScope inner;
    stale = tg::variable(3.0) * x;
  }
  CHECK(stale.val() == 6.0);  // the value is still readable
  CHECK_THROWS_AS(stale * x, tg::GraphError);
  CHECK_THROWS_WITH(stale + 1.0, Catch::Matchers::Contains("no longer on this thread's tape"));
  CHECK_THROWS_WITH(exp(stale), Catch::Matchers::Contains("exp"));
  CHECK_THROWS_WITH(stale.grad(), Catch::Matchers::Contains("Var::grad"));
  CHECK_THROWS_WITH(stale.backward(), Catch::Matchers::Contains("Var::backward"));
  CHECK_THROWS_AS(fmin(stale, x), tg::GraphError);
  CHECK_THROWS_AS(floor(stale), tg::GraphError);
  // A new Var now occupies the dropped variable's number: still detected.
  const V fresh = tg::variable(7.0);
  const V again = tg::variable(8.0) * fresh;
  (void)again;
  CHECK_THROWS_AS(stale * 2.0, tg::GraphError);
  // The outer Var is alive.
  CHECK_NOTHROW(x * 2.0);
  // After clear() too.
  const V y = x * x;
  tg::tape().clear();
  CHECK_THROWS_WITH(y * 2.0, Catch::Matchers::Contains("clear()"));
  CHECK_THROWS_AS(x * 2.0, tg::GraphError);
}

TEST_CASE("Tape: a Var recorded on another thread is an error in debug builds", "[tape][debug][thread]") {
  tg::TapeScope scope;
  const V here = tg::variable(1.0) * 2.0;
  bool threw = false;
  std::string message;
  std::thread([&] {
    tg::TapeScope other;
    for (int i = 0; i < 10; ++i) (void)(tg::variable(1.0) * 3.0);  // the same variable numbers exist here
    try {
      (void)(here * 2.0);
    } catch (const tg::GraphError& e) {
      threw = true;
      message = e.what();
    }
  }).join();
  CHECK(threw);
  CHECK_THAT(message, Catch::Matchers::Contains("another thread"));
}
#endif

TEST_CASE("Tape: each thread records on its own tape", "[tape][thread]") {
  // Two threads record and differentiate at the same time; each gets its own answer.
  auto work = [](double scale, double& grad_out, std::size_t& vars_out, const tg::Tape<double>*& tape_out) {
    tg::TapeScope scope;
    const std::vector<V> xs = tg::variables(std::vector<double>(20000, scale));
    V s = 0.0;
    for (const V& x : xs) s += x * x * scale;  // d/dx_i = 2 x_i scale
    s.backward();
    grad_out = xs[17].grad();
    vars_out = tg::tape().num_variables();
    tape_out = &tg::tape();
  };
  double g1 = 0, g2 = 0;
  std::size_t n1 = 0, n2 = 0;
  const tg::Tape<double>* t1 = nullptr;
  const tg::Tape<double>* t2 = nullptr;
  std::thread a(work, 1.5, std::ref(g1), std::ref(n1), std::ref(t1));
  std::thread b(work, -2.0, std::ref(g2), std::ref(n2), std::ref(t2));
  a.join();
  b.join();
  CHECK(g1 == 2 * 1.5 * 1.5);
  CHECK(g2 == 2 * -2.0 * -2.0);
  CHECK(n1 == n2);
  CHECK(t1 != t2);
  CHECK(t1 != &tg::tape());
}

TEST_CASE("Tape: stats count what is recorded", "[tape]") {
  tg::TapeScope scope;
  const tg::TapeStats before = tg::tape().stats();
  const std::vector<V> xs = tg::variables(std::vector<double>{1, 2, 3});
  const V y = xs[0] * xs[1] + exp(xs[2]);  // 3 inputs, 3 statements: 1 + 2 + 1 + 2 entries
  (void)y;
  const tg::TapeStats s = tg::tape().stats();
  CHECK(s.variables - before.variables == 6);
  CHECK(s.operands - before.operands == 6);
  CHECK(s.operand_bytes - before.operand_bytes == 6 * 12);
  CHECK(s.reserved_bytes >= s.operand_bytes);
  // A statement of n >= 3 operands takes one more entry, for its operand count.
  const V z = tg::precomputed_gradients(1.0, xs, std::vector<double>{1, 2, 3});
  (void)z;
  CHECK(tg::tape().stats().operands - s.operands == 4);
}

TEST_CASE("Tape: statements of every kind sweep correctly, mixed with input batches", "[tape]") {
  // Inputs recorded one by one and in batches, between statements of 1, 2 and n
  // operands (precomputed_gradients of 1 and 2 operands are stored as unary and binary
  // statements); every gradient against its closed form.
  tg::TapeScope scope;
  const V a = tg::variable(2.0);
  const std::vector<V> b = tg::variables(std::vector<double>{3.0, 5.0});
  const V c = a * b[0];                                                            // 6
  const std::vector<V> d = tg::variables(std::vector<double>{7.0, 11.0, 13.0});
  const V e = tg::precomputed_gradients(0.0, std::vector<V>{d[1]}, std::vector<double>{4.0});       // 4 d1
  const V f = tg::precomputed_gradients(0.0, std::vector<V>{c, d[0]}, std::vector<double>{2.0, 3.0});  // 2c + 3 d0
  const V g = tg::variable(17.0);
  const V h = tg::precomputed_gradients(0.0, std::vector<V>{e, f, g, d[2], b[1]},
                                        std::vector<double>{1.0, 10.0, 100.0, 1000.0, 10000.0});
  const V y = h * exp(a) - b[1];
  y.backward();
  const double ea = std::exp(2.0), hv = 0.0;  // h's value is 0 by construction
  // y = h e^a - b1, h = e + 10 f + 100 g + 1000 d2 + 10000 b1, f = 2 a b0 + 3 d0, e = 4 d1
  CHECK(a.grad() == Approx(ea * 10 * 2 * 3.0 + hv * ea));
  CHECK(b[0].grad() == Approx(ea * 10 * 2 * 2.0));
  CHECK(b[1].grad() == Approx(ea * 10000 - 1));
  CHECK(d[0].grad() == Approx(ea * 10 * 3));
  CHECK(d[1].grad() == Approx(ea * 4));
  CHECK(d[2].grad() == Approx(ea * 1000));
  CHECK(g.grad() == Approx(ea * 100));
  CHECK(c.grad() == Approx(ea * 10 * 2));
  CHECK(h.grad() == Approx(ea));
  // The same inside a nested scope whose statements use the outer variables: the outer
  // gradients stay as they are.
  {
    tg::TapeScope inner;
    const std::vector<V> u = tg::variables(std::vector<double>{0.5, 0.25});
    const V w = u[0] * a + tg::precomputed_gradients(0.0, std::vector<V>{u[1], b[0], g},
                                                         std::vector<double>{2.0, 3.0, 4.0});
    w.backward();
    CHECK(u[0].grad() == 2.0);
    CHECK(u[1].grad() == 2.0);
    CHECK(a.grad() == Approx(ea * 10 * 2 * 3.0));  // untouched
    CHECK(g.grad() == Approx(ea * 100));
  }
}

}  // namespace scalar_tape_test

#include "test_util.hpp"

#include <cmath>
#include <limits>
#include <string>

namespace ops_decomposition_test {

// Matrix functions and decompositions: inverse, solve, det, slogdet, logdet, cholesky,
// cholesky_solve, solve_triangular / triangular_solve, qr, eigh / eigvalsh, svd / svdvals,
// matrix_exp. Forward values are checked against hand-computed closed forms; gradients
// against closed forms and gradcheck / gradgradcheck.

namespace {

// A = [[4, 7], [2, 6]]: det 10, A^-1 = [[0.6, -0.7], [-0.2, 0.4]].
const std::vector<double> kA{4, 7, 2, 6};
const std::vector<double> kAinv{0.6, -0.7, -0.2, 0.4};
// S = [[4, 2], [2, 5]] = L L^T with L = [[2, 0], [1, 2]].
const std::vector<double> kS{4, 2, 2, 5};
const std::vector<double> kL{2, 0, 1, 2};

std::vector<double> concat(std::initializer_list<std::vector<double>> parts) {
  std::vector<double> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// max |t - expected| / max |expected|
double relative_error(const Tensor& t, const std::vector<double>& expected) {
  REQUIRE(t.numel() == static_cast<std::int64_t>(expected.size()));
  double err = 0, scale = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    err = std::max(err, std::abs(t.data_ptr()[i] - expected[i]));
    scale = std::max(scale, std::abs(expected[i]));
  }
  return err / scale;
}

void require_close(const Tensor& a, const Tensor& b, double eps = 1e-12) {
  REQUIRE(a.shape() == b.shape());
  require_values(a, b.to_vector(), eps);
}

// One assertion for a large tensor: max |a - b| <= eps.
double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.data_ptr()[i] - b.data_ptr()[i]));
  return m;
}
#define CHECK_MAX_ABS_DIFF(a, b, eps) CHECK(max_abs_diff(a, b) <= (eps))

// Well-conditioned random square matrices: randn + 3 I.
Tensor well_conditioned(const tg::Shape& shape, tg::Generator& gen) {
  tg::NoGradGuard no_grad;
  return tg::randn<double>(shape, gen) + tg::eye<double>(shape.back()) * 3.0;
}

// A lower-triangular factor with a positive diagonal (plus noise above it, which is not read).
Tensor factor_like(const tg::Shape& shape, tg::Generator& gen) {
  tg::NoGradGuard no_grad;
  return tg::randn<double>(shape, gen) * 0.3 + tg::eye<double>(shape.back()) * 2.0;
}

Tensor hilbert(std::int64_t n) {
  Tensor h = tg::zeros<double>({n, n});
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) h.set({i, j}, 1.0 / static_cast<double>(i + j + 1));
  return h;
}

// The exact inverse of the 6 x 6 Hilbert matrix (integers) and its determinant.
const std::vector<double> kHilbert6Inverse{
    36,    -630,    3360,     -7560,    7560,     -2772,   -630,    14700,   -88200,   211680,   -220500, 83160,
    3360,  -88200,  564480,   -1411200, 1512000,  -582120, -7560,   211680,  -1411200, 3628800,  -3969000, 1552320,
    7560,  -220500, 1512000,  -3969000, 4410000,  -1746360, -2772,  83160,   -582120,  1552320,  -1746360, 698544};
const double kHilbert6Det = 1.0 / 186313420339200000.0;

// For symmetric-input ops: the function of X + X^T (or X X^T + I), so that gradcheck
// perturbs a symmetric matrix.
Tensor symmetric(const Tensor& x) { return x + x.transpose(-2, -1); }
Tensor positive_definite(const Tensor& x) {
  return tg::matmul(x, x.transpose(-2, -1)) + tg::eye<double>(x.shape().back());
}

}  // namespace

// ---- inverse ----

TEST_CASE("inverse", "[decomposition][inverse]") {
  auto a = values(kA, {2, 2}, true);
  auto y = tg::inverse(a);
  CHECK(y.shape() == tg::Shape{2, 2});
  require_values(y, kAinv, 1e-15);
  CHECK(grad_fn_name(y) == "LinalgInvExBackward0");
  require_values(a.inverse(), kAinv, 1e-15);
  // d sum(A^-1) / dA = -A^-T 1 A^-T
  y.sum().backward();
  require_values(a.grad(), {0.04, -0.08, -0.03, 0.06}, 1e-15);

  // [[2, 0, 0], [0, 3, 4], [0, 1, 1]]^-1 = [[0.5, 0, 0], [0, -1, 4], [0, 1, -3]]
  require_values(tg::inverse(values({2, 0, 0, 0, 3, 4, 0, 1, 1}, {3, 3})), {0.5, 0, 0, 0, -1, 4, 0, 1, -3}, 1e-15);
  // batched, with a row permutation needed
  auto batch = tg::inverse(values(concat({kA, {0, 1, 1, 0}, {3, 0, 0, 3}}), {3, 2, 2}));
  CHECK(batch.shape() == tg::Shape{3, 2, 2});
  require_values(batch, concat({kAinv, {0, 1, 1, 0}, {1.0 / 3, 0, 0, 1.0 / 3}}), 1e-15);
  CHECK(tg::inverse(tg::zeros<double>({0, 0})).shape() == tg::Shape{0, 0});
  CHECK(tg::inverse(tg::zeros<double>({2, 0, 0})).shape() == tg::Shape{2, 0, 0});

  tg::Generator gen(70);
  const auto inv = [](const Tensor& x) { return tg::inverse(x); };
  CHECK_GRAD(inv, well_conditioned({3, 3}, gen));
  CHECK_GRAD(inv, well_conditioned({2, 2, 2}, gen));
  CHECK_GRAD(inv, values({-2}, {1, 1}));
  CHECK_GRADGRAD(inv, well_conditioned({3, 3}, gen));
  CHECK_GRADGRAD(inv, well_conditioned({2, 2, 2}, gen));
}

TEST_CASE("inverse of an ill-conditioned matrix is accurate", "[decomposition][inverse][hilbert]") {
  // cond(H6) is about 1.5e7: the inverse of H6 (rounded to double) can be expected to
  // match the exact integer inverse to about cond * eps = 3e-9 (relative).
  const Tensor h = hilbert(6);
  CHECK(relative_error(tg::inverse(h), kHilbert6Inverse) < 1e-9);
  CHECK(tg::det(h).item() == Approx(kHilbert6Det).epsilon(1e-9));
  CHECK(tg::logdet(h).item() == Approx(std::log(kHilbert6Det)).epsilon(1e-10));
  // H x = H 1 gives back x = 1.
  const Tensor x = tg::solve(h, tg::matmul(h, tg::ones<double>({6})));
  for (double v : x.to_vector()) CHECK(v == Approx(1.0).epsilon(1e-8));
}

TEST_CASE("inverse: singular matrices and errors", "[decomposition][inverse][errors]") {
  CHECK_THROWS_AS(tg::inverse(values({1, 2, 2, 4}, {2, 2})), tg::ValueError);
  CHECK_THROWS_WITH(tg::inverse(values({1, 2, 2, 4}, {2, 2})),
                    TG_CONTAINS("inverse: the matrix is singular (pivot 2 is zero); it has "
                                "no inverse"));
  CHECK_THROWS_WITH(tg::inverse(tg::zeros<double>({3, 3})), TG_CONTAINS("(pivot 1 is zero)"));
  CHECK_THROWS_WITH(tg::inverse(values(concat({kA, {1, 1, 1, 1}}), {2, 2, 2})),
                    TG_CONTAINS("inverse: matrix 1 of the batch is singular (pivot 2"));
  CHECK_THROWS_AS(tg::inverse(tg::ones<double>({2, 3})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::inverse(tg::ones<double>({2, 3})),
                    TG_CONTAINS("inverse: expects square matrices, got shape [2, 3] (2 x 3 matrices)"));
  CHECK_THROWS_AS(tg::inverse(tg::ones<double>({4})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::inverse(tg::ones<double>({4})),
                    TG_CONTAINS("inverse: expects a matrix or a batch of matrices (at least 2 dimensions), got "
                                "shape [4]"));
}

// ---- solve ----

TEST_CASE("solve with a vector right-hand side", "[decomposition][solve]") {
  auto a = values(kA, {2, 2}, true);
  auto b = values({1, 2}, {2}, true);
  auto x = tg::solve(a, b);
  CHECK(x.shape() == tg::Shape{2});
  require_values(x, {-0.8, 0.6}, 1e-15);
  CHECK(grad_fn_name(x) == "LinalgSolveExBackward0");
  // dB = A^-T 1, dA = -dB x^T
  x.sum().backward();
  require_values(b.grad(), {0.4, -0.3}, 1e-15);
  require_values(a.grad(), {0.32, -0.24, -0.24, 0.18}, 1e-15);

  // A batch of systems with one matrix each: B has the shape of A without its last dim.
  auto xs = tg::solve(values(concat({kA, {2, 0, 0, 4}}), {2, 2, 2}), values({1, 2, 2, 4}, {2, 2}));
  CHECK(xs.shape() == tg::Shape{2, 2});
  require_values(xs, {-0.8, 0.6, 1, 1}, 1e-15);
  // One vector for a batch of matrices.
  auto xb = tg::solve(values(concat({kA, {2, 0, 0, 4}}), {2, 2, 2}), values({1, 2}, {2}));
  CHECK(xb.shape() == tg::Shape{2, 2});
  require_values(xb, {-0.8, 0.6, 0.5, 0.5}, 1e-15);

  tg::Generator gen(71);
  const auto solve_f = [](const Tensors& in) { return tg::solve(in[0], in[1]); };
  CHECK_GRAD(solve_f, well_conditioned({3, 3}, gen), tg::randn<double>({3}, gen));
  CHECK_GRAD(solve_f, well_conditioned({2, 2, 2}, gen), tg::randn<double>({2}, gen));  // broadcast b
  CHECK_GRAD(solve_f, well_conditioned({2, 2, 2}, gen), tg::randn<double>({2, 2}, gen));
  CHECK_GRADGRAD(solve_f, well_conditioned({3, 3}, gen), tg::randn<double>({3}, gen));
  CHECK_GRADGRAD(solve_f, well_conditioned({2, 2, 2}, gen), tg::randn<double>({2}, gen));
}

TEST_CASE("solve with matrix right-hand sides", "[decomposition][solve]") {
  auto a = values(kA, {2, 2}, true);
  auto b = values({1, 0, 2, 1}, {2, 2}, true);
  auto x = tg::solve(a, b);
  CHECK(x.shape() == tg::Shape{2, 2});
  require_values(x, {-0.8, -0.7, 0.6, 0.4}, 1e-15);
  CHECK(grad_fn_name(x) == "LinalgSolveExBackward0");
  require_close(tg::matmul(a, x), b);
  x.sum().backward();
  require_values(b.grad(), {0.4, 0.4, -0.3, -0.3}, 1e-15);  // A^-T 1
  // -dB X^T = -[0.4; -0.3] [-1.5, 1.0]
  require_values(a.grad(), {0.6, -0.4, -0.45, 0.3}, 1e-15);

  // Batch dims broadcast: [3, 1, 2, 2] with [2, 2, 1] -> [3, 2, 2, 1].
  tg::Generator gen(72);
  const Tensor as = well_conditioned({3, 1, 2, 2}, gen), bs = tg::randn<double>({2, 2, 1}, gen);
  const Tensor xs = tg::solve(as, bs);
  CHECK(xs.shape() == tg::Shape{3, 2, 2, 1});
  require_close(tg::matmul(as, xs), bs.expand({3, 2, 2, 1}), 1e-12);

  const auto solve_f = [](const Tensors& in) { return tg::solve(in[0], in[1]); };
  CHECK_GRAD(solve_f, well_conditioned({3, 3}, gen), tg::randn<double>({3, 2}, gen));
  CHECK_GRAD(solve_f, well_conditioned({2, 2}, gen), tg::randn<double>({2, 2, 3}, gen));  // broadcast A
  CHECK_GRAD(solve_f, well_conditioned({2, 1, 2, 2}, gen), tg::randn<double>({3, 2, 1}, gen));
  CHECK_GRADGRAD(solve_f, well_conditioned({2, 2}, gen), tg::randn<double>({2, 2, 3}, gen));
}

TEST_CASE("solve: errors", "[decomposition][solve][errors]") {
  const auto a = values(kA, {2, 2});
  CHECK_THROWS_AS(tg::solve(values({1, 2, 2, 4}, {2, 2}), values({1, 1}, {2})), tg::ValueError);
  CHECK_THROWS_WITH(tg::solve(values({1, 2, 2, 4}, {2, 2}), values({1, 1}, {2})),
                    TG_CONTAINS("solve: the matrix is singular (pivot 2 is zero); "
                                "A X = B has no unique solution"));
  CHECK_THROWS_AS(tg::solve(tg::ones<double>({2, 3}), tg::ones<double>({2})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::solve(tg::ones<double>({2, 3}), tg::ones<double>({2})),
                    TG_CONTAINS("solve: expects square matrices, got shape [2, 3]"));
  CHECK_THROWS_AS(tg::solve(a, tg::ones<double>({3})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::solve(a, tg::ones<double>({3})),
                    TG_CONTAINS("solve: A has shape [2, 2] but B has shape [3]; B needs 2 rows (A X = B), or to be "
                                "a vector of length 2"));
  CHECK_THROWS_AS(tg::solve(a, tg::ones<double>({3, 2})), tg::ShapeError);
  CHECK_THROWS_AS(tg::solve(a, tg::scalar_tensor<double>(1.0)), tg::ShapeError);
  CHECK_THROWS_WITH(tg::solve(a, tg::scalar_tensor<double>(1.0)), TG_CONTAINS("solve: B must be a vector or a matrix"));
  CHECK_THROWS_AS(tg::solve(tg::ones<double>({2, 2, 2}), tg::ones<double>({3, 2, 1})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::solve(tg::ones<double>({2, 2, 2}), tg::ones<double>({3, 2, 1})),
                    TG_CONTAINS("solve: shapes [2] and [3] cannot be broadcast together"));
}

// ---- det, slogdet, logdet ----

TEST_CASE("det", "[decomposition][det]") {
  auto a = values(kA, {2, 2}, true);
  auto d = tg::det(a);
  CHECK(d.shape() == tg::Shape{});
  CHECK(d.item() == Approx(10.0).epsilon(1e-15));
  CHECK(grad_fn_name(d) == "LinalgDetBackward0");
  CHECK(a.det().item() == Approx(10.0).epsilon(1e-15));
  // d det / dA = the cofactor matrix
  d.backward();
  require_values(a.grad(), {6, -2, -7, 4}, 1e-14);

  CHECK(tg::det(values({2, 0, 0, 0, 3, 4, 0, 1, 1}, {3, 3})).item() == Approx(-2.0).epsilon(1e-15));
  auto batch = tg::det(values(concat({kA, {0, 1, 1, 0}, {1, 2, 2, 4}}), {3, 2, 2}));
  CHECK(batch.shape() == tg::Shape{3});
  require_values(batch, {10, -1, 0}, 1e-14);
  CHECK(tg::det(tg::zeros<double>({0, 0})).item() == 1.0);  // the empty product
  CHECK(tg::det(values({-3}, {1, 1})).item() == -3.0);

  tg::Generator gen(73);
  const auto det_f = [](const Tensor& x) { return tg::det(x); };
  CHECK_GRAD(det_f, tg::randn<double>({3, 3}, gen));
  CHECK_GRAD(det_f, tg::randn<double>({2, 2, 2}, gen));
  CHECK_GRAD(det_f, values({0.5}, {1, 1}));
  CHECK_GRADGRAD(det_f, well_conditioned({3, 3}, gen));
  CHECK_GRADGRAD(det_f, well_conditioned({2, 2, 2}, gen));

  CHECK_THROWS_AS(tg::det(tg::ones<double>({2, 3})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::det(tg::ones<double>({2, 3})), TG_CONTAINS("det: expects square matrices, got shape [2, 3]"));
  CHECK_THROWS_AS(tg::det(tg::ones<double>({3})), tg::ShapeError);
}

TEST_CASE("det: the gradient at singular matrices is the cofactor matrix", "[decomposition][det][singular]") {
  // rank 1 of 2: cofactors [[4, -2], [-2, 1]]
  auto a = values({1, 2, 2, 4}, {2, 2}, true);
  auto d = tg::det(a);
  CHECK(d.item() == 0.0);
  d.backward();
  require_values(a.grad(), {4, -2, -2, 1}, 1e-14);

  // rank 2 of 3 (LU leaves a tiny nonzero pivot here): the cofactor matrix is rank 1
  auto b = values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3}, true);
  tg::det(b).backward();
  require_values(b.grad(), {-3, 6, -3, 6, -12, 6, -3, 6, -3}, 1e-12);

  // rank 1 of 3: all 2 x 2 minors vanish
  auto c = tg::ones<double>({3, 3}, tg::requires_grad());
  tg::det(c).backward();
  require_values(c.grad(), {0, 0, 0, 0, 0, 0, 0, 0, 0}, 1e-14);

  // det is a polynomial: finite differences agree at singular points too
  const auto det_f = [](const Tensor& x) { return tg::det(x); };
  CHECK_GRAD(det_f, values({1, 2, 2, 4}, {2, 2}));
  CHECK_GRAD(det_f, values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3}));
  CHECK_GRAD(det_f, values(concat({kA, {1, 2, 2, 4}}), {2, 2, 2}));

  // The second derivative is implemented only for invertible matrices.
  auto s = values({1, 2, 2, 4}, {2, 2}, true);
  const auto first = [&s] { return tg::grad(tg::det(s), {s}, {}, std::nullopt, /*create_graph=*/true)[0]; };
  require_values(first(), {4, -2, -2, 1}, 1e-14);
  CHECK_THROWS_AS(first().sum().backward(), tg::ValueError);
  CHECK_THROWS_WITH(tg::grad(first().sum(), {s}),
                    TG_CONTAINS("det: the second derivative of det at a singular matrix (rank < n, up to rounding) "
                                "is not implemented; its first derivative is"));
  // also where the matrix is singular only up to rounding
  auto r = values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3}, true);
  auto gr = tg::grad(tg::det(r), {r}, {}, std::nullopt, /*create_graph=*/true)[0];
  CHECK_THROWS_AS(tg::grad(gr.sum(), {r}), tg::ValueError);
}

TEST_CASE("slogdet", "[decomposition][slogdet]") {
  auto a = values(kA, {2, 2}, true);
  auto r = tg::slogdet(a);
  CHECK(r.sign.item() == 1.0);
  CHECK(r.logabsdet.item() == Approx(std::log(10.0)).epsilon(1e-15));
  CHECK(grad_fn_name(r.logabsdet) == "LinalgSlogdetBackward0");
  CHECK_FALSE(r.sign.requires_grad());  // the sign is not differentiable
  r.logabsdet.backward();
  require_values(a.grad(), {0.6, -0.2, -0.7, 0.4}, 1e-15);  // A^-T

  auto b = values({2, 0, 0, 0, 3, 4, 0, 1, 1}, {3, 3}, true);  // det -2
  auto rb = tg::slogdet(b);
  CHECK(rb.sign.item() == -1.0);
  CHECK(rb.logabsdet.item() == Approx(std::log(2.0)).epsilon(1e-15));
  rb.logabsdet.backward();
  require_values(b.grad(), {0.5, 0, 0, 0, -1, 1, 0, 4, -3}, 1e-15);  // (B^-1)^T

  auto batch = tg::slogdet(values(concat({kA, {0, 1, 1, 0}, {1, 2, 2, 4}}), {3, 2, 2}));
  require_values(batch.sign, {1, -1, 0});
  CHECK(batch.logabsdet.data_ptr()[0] == Approx(std::log(10.0)));
  CHECK(batch.logabsdet.data_ptr()[1] == 0.0);
  CHECK(batch.logabsdet.data_ptr()[2] == -std::numeric_limits<double>::infinity());
  // No overflow: det(1e10 I_40) = 1e400 is not a double, its log is.
  const Tensor big = tg::eye<double>(40) * 1e10;
  CHECK(std::isinf(tg::det(big).item()));
  CHECK(tg::slogdet(big).logabsdet.item() == Approx(400 * std::log(10.0)).epsilon(1e-14));
  auto empty = tg::slogdet(tg::zeros<double>({0, 0}));
  CHECK(empty.sign.item() == 1.0);
  CHECK(empty.logabsdet.item() == 0.0);

  tg::Generator gen(74);
  const auto logabs = [](const Tensor& x) { return tg::slogdet(x).logabsdet; };
  CHECK_GRAD(logabs, tg::randn<double>({3, 3}, gen));
  CHECK_GRAD(logabs, well_conditioned({2, 2, 2}, gen));
  CHECK_GRADGRAD(logabs, well_conditioned({3, 3}, gen));
  CHECK_GRADGRAD(logabs, well_conditioned({2, 2, 2}, gen));

  // At a singular matrix log|det| is -inf and its gradient infinite: backward throws.
  auto s = values({1, 2, 2, 4}, {2, 2}, true);
  auto rs = tg::slogdet(s);
  CHECK(rs.sign.item() == 0.0);
  CHECK_THROWS_AS(rs.logabsdet.backward(), tg::ValueError);
  CHECK_THROWS_WITH(tg::slogdet(s).logabsdet.backward(),
                    TG_CONTAINS("slogdet: the matrix is singular (pivot 2 is zero); the "
                                "gradient of log|det A| is infinite at a singular matrix"));
  CHECK_THROWS_AS(tg::slogdet(tg::ones<double>({3, 2})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::slogdet(tg::ones<double>({3, 2})), TG_CONTAINS("slogdet: expects square matrices"));
}

TEST_CASE("logdet", "[decomposition][logdet]") {
  auto a = values(kA, {2, 2}, true);
  auto y = tg::logdet(a);
  CHECK(y.item() == Approx(std::log(10.0)).epsilon(1e-15));
  CHECK(grad_fn_name(y) == "LogdetBackward0");
  CHECK(a.logdet().item() == Approx(std::log(10.0)).epsilon(1e-15));
  y.backward();
  require_values(a.grad(), {0.6, -0.2, -0.7, 0.4}, 1e-15);

  // det < 0: nan, and gradient 0 there (as in PyTorch); det = 0: -inf.
  auto batch = values(concat({kA, {0, 1, 1, 0}, {1, 2, 2, 4}}), {3, 2, 2}, true);
  auto yb = tg::logdet(batch);
  CHECK(yb.data_ptr()[0] == Approx(std::log(10.0)));
  CHECK(std::isnan(yb.data_ptr()[1]));
  CHECK(yb.data_ptr()[2] == -std::numeric_limits<double>::infinity());
  auto negative = values({0, 1, 1, 0}, {2, 2}, true);
  tg::logdet(negative).backward();
  require_values(negative.grad(), {0, 0, 0, 0});
  CHECK_THROWS_AS(tg::logdet(values({1, 2, 2, 4}, {2, 2}, true)).backward(), tg::ValueError);
  CHECK_THROWS_WITH(tg::logdet(values({1, 2, 2, 4}, {2, 2}, true)).backward(),
                    TG_CONTAINS("logdet: the matrix is singular"));

  tg::Generator gen(75);
  const auto logdet_f = [](const Tensor& x) { return tg::logdet(positive_definite(x)); };
  CHECK_GRAD(logdet_f, tg::randn<double>({3, 3}, gen));
  CHECK_GRAD(logdet_f, tg::randn<double>({2, 2, 2}, gen));
  CHECK_GRADGRAD(logdet_f, tg::randn<double>({2, 2}, gen));
  CHECK_GRADGRAD(logdet_f, tg::randn<double>({2, 2, 2}, gen));

  CHECK_THROWS_AS(tg::logdet(tg::ones<double>({2})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::logdet(tg::ones<double>({2})), TG_CONTAINS("logdet: expects a matrix or a batch of matrices"));
}

// ---- Cholesky ----

TEST_CASE("cholesky", "[decomposition][cholesky]") {
  auto s = values(kS, {2, 2}, true);
  auto l = tg::cholesky(s);
  require_values(l, kL, 1e-15);
  CHECK(grad_fn_name(l) == "LinalgCholeskyExBackward0");
  require_values(s.cholesky(true), {2, 1, 0, 2}, 1e-15);  // U = L^T
  // d sum(L) / dS, symmetric (derivation: L11 = sqrt(a), L21 = b / sqrt(a), L22 = sqrt(c - b^2 / a),
  // the derivative in b split evenly between the two off-diagonal entries)
  l.sum().backward();
  require_values(s.grad(), {0.1875, 0.125, 0.125, 0.25}, 1e-15);

  // The classic 3 x 3 example: [[4, 12, -16], [12, 37, -43], [-16, -43, 98]] = L L^T.
  auto l3 = tg::cholesky(values({4, 12, -16, 12, 37, -43, -16, -43, 98}, {3, 3}));
  require_values(l3, {2, 0, 0, 6, 1, 0, -8, 5, 3}, 1e-14);
  // Only the lower triangle is read.
  require_values(tg::cholesky(values({4, 100, 2, 5}, {2, 2})), kL, 1e-15);
  auto batch = tg::cholesky(values(concat({kS, {9, 0, 0, 1}}), {2, 2, 2}));
  require_values(batch, concat({kL, {3, 0, 0, 1}}), 1e-15);
  require_values(tg::cholesky(values(concat({kS, {9, 0, 0, 1}}), {2, 2, 2}), true),
                 concat({{2, 1, 0, 2}, {3, 0, 0, 1}}), 1e-15);

  tg::Generator gen(76);
  const auto chol = [](const Tensor& x) { return tg::cholesky(positive_definite(x)); };
  const auto chol_upper = [](const Tensor& x) { return tg::cholesky(positive_definite(x), true); };
  CHECK_GRAD(chol, tg::randn<double>({3, 3}, gen));
  CHECK_GRAD(chol, tg::randn<double>({2, 2, 2}, gen));
  CHECK_GRAD(chol_upper, tg::randn<double>({3, 3}, gen));
  CHECK_GRADGRAD(chol, tg::randn<double>({3, 3}, gen));
  CHECK_GRADGRAD(chol_upper, tg::randn<double>({2, 2, 2}, gen));
}

TEST_CASE("cholesky: matrices that are not positive-definite", "[decomposition][cholesky][errors]") {
  CHECK_THROWS_AS(tg::cholesky(values({1, 2, 2, 1}, {2, 2})), tg::ValueError);
  CHECK_THROWS_WITH(tg::cholesky(values({1, 2, 2, 1}, {2, 2})),
                    TG_CONTAINS("cholesky: the matrix is not positive-definite (its leading minor of order 2 is not "
                                "positive-definite). If it should be (a covariance or kernel matrix), add a small "
                                "jitter to the diagonal, e.g. A + 1e-6 * I"));
  CHECK_THROWS_WITH(tg::cholesky(values({-1, 0, 0, 1}, {2, 2})), TG_CONTAINS("leading minor of order 1"));
  CHECK_THROWS_WITH(tg::cholesky(tg::zeros<double>({3, 3})), TG_CONTAINS("leading minor of order 1"));
  CHECK_THROWS_WITH(tg::cholesky(values({4, 2, 0, 2, 1, 0, 0, 0, 1}, {3, 3})),
                    TG_CONTAINS("leading minor of order 2"));  // semi-definite
  CHECK_THROWS_WITH(tg::cholesky(values(concat({kS, kS, {1, 2, 2, 1}}), {3, 2, 2})),
                    TG_CONTAINS("cholesky: matrix 2 of the batch is not positive-definite"));
  CHECK_THROWS_AS(tg::cholesky(values({1, 0, std::numeric_limits<double>::quiet_NaN(), 1}, {2, 2})), tg::ValueError);
  CHECK_THROWS_WITH(tg::cholesky(values({1, 0, std::numeric_limits<double>::quiet_NaN(), 1}, {2, 2})),
                    TG_CONTAINS("cholesky: the matrix contains nan or inf values"));
  CHECK_THROWS_AS(tg::cholesky(tg::ones<double>({2, 3})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::cholesky(tg::ones<double>({2, 3})), TG_CONTAINS("cholesky: expects square matrices"));
}

TEST_CASE("cholesky_solve", "[decomposition][cholesky_solve]") {
  auto b = values({1, 2}, {2, 1}, true);
  auto l = values(kL, {2, 2}, true);
  auto x = tg::cholesky_solve(b, l);  // S^-1 b, S^-1 = [[5, -2], [-2, 4]] / 16
  CHECK(x.shape() == tg::Shape{2, 1});
  require_values(x, {0.0625, 0.375}, 1e-15);
  CHECK(grad_fn_name(x) == "CholeskySolveBackward0");
  require_values(b.cholesky_solve(values({2, 1, 0, 2}, {2, 2}), true), {0.0625, 0.375}, 1e-15);
  x.sum().backward();
  require_values(b.grad(), {0.1875, 0.125}, 1e-15);  // S^-1 1
  // -(gB X^T + X gB^T) L, lower triangle: the upper entry of L is not read, its gradient is 0
  CHECK(l.grad().at({0, 1}) == 0.0);
  // gB X^T + X gB^T = [[0.0234375, 0.078125], [0.078125, 0.09375]]; times L, negated, lower part:
  require_values(l.grad(), {-0.125, 0, -0.25, -0.1875}, 1e-15);
  // with a batch of factors and broadcast right-hand sides
  auto xs = tg::cholesky_solve(values({1, 2}, {2, 1}), values(concat({kL, {1, 0, 0, 2}}), {2, 2, 2}));
  CHECK(xs.shape() == tg::Shape{2, 2, 1});
  require_values(xs, {0.0625, 0.375, 1, 0.5}, 1e-15);

  tg::Generator gen(77);
  const auto cs = [](const Tensors& in) { return tg::cholesky_solve(in[0], in[1]); };
  const auto cs_upper = [](const Tensors& in) { return tg::cholesky_solve(in[0], in[1], true); };
  CHECK_GRAD(cs, tg::randn<double>({3, 2}, gen), factor_like({3, 3}, gen));
  CHECK_GRAD(cs, tg::randn<double>({2, 2, 1}, gen), factor_like({2, 2}, gen));
  CHECK_GRAD(cs_upper, tg::randn<double>({2, 2, 2}, gen), factor_like({2, 2, 2}, gen));
  CHECK_GRADGRAD(cs, tg::randn<double>({2, 2}, gen), factor_like({2, 2}, gen));
  CHECK_GRADGRAD(cs_upper, tg::randn<double>({2, 2, 1}, gen), factor_like({2, 2, 2}, gen));
  // composed with cholesky: the solution of S X = B, differentiated through both
  const auto through = [](const Tensors& in) {
    return tg::cholesky_solve(in[0], tg::cholesky(positive_definite(in[1])));
  };
  CHECK_GRAD(through, tg::randn<double>({3, 1}, gen), tg::randn<double>({3, 3}, gen));

  CHECK_THROWS_AS(tg::cholesky_solve(tg::ones<double>({2}), values(kL, {2, 2})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::cholesky_solve(tg::ones<double>({2}), values(kL, {2, 2})),
                    TG_CONTAINS("cholesky_solve: B must be a matrix or a batch of matrices (at least 2 dimensions), "
                                "got shape [2]; for a vector b use b.unsqueeze(-1)"));
  CHECK_THROWS_AS(tg::cholesky_solve(tg::ones<double>({3, 1}), values(kL, {2, 2})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::cholesky_solve(tg::ones<double>({3, 1}), values(kL, {2, 2})),
                    TG_CONTAINS("cholesky_solve: the factor has shape [2, 2] but B has shape [3, 1]; B needs 2 rows"));
  CHECK_THROWS_AS(tg::cholesky_solve(tg::ones<double>({2, 1}), values({1, 0, 1, 0}, {2, 2})), tg::ValueError);
  CHECK_THROWS_WITH(tg::cholesky_solve(tg::ones<double>({2, 1}), values({1, 0, 1, 0}, {2, 2})),
                    TG_CONTAINS("cholesky_solve: the matrix (the Cholesky factor) is singular: diagonal element 2 is "
                                "zero"));
  CHECK_THROWS_AS(tg::cholesky_solve(tg::ones<double>({2, 1}), tg::ones<double>({2, 3})), tg::ShapeError);
}

// ---- triangular solves ----

TEST_CASE("solve_triangular", "[decomposition][solve_triangular]") {
  auto a = values({2, 1, 0, 4}, {2, 2}, true);  // upper
  auto b = values({4, 8}, {2, 1}, true);
  auto x = tg::solve_triangular(a, b, /*upper=*/true);
  require_values(x, {1, 2}, 1e-15);
  CHECK(grad_fn_name(x) == "LinalgSolveTriangularBackward0");
  x.sum().backward();
  require_values(b.grad(), {0.5, 0.125}, 1e-15);  // A^-T 1
  require_values(a.grad(), {-0.5, -1, 0, -0.25}, 1e-15);  // triu(-dB X^T): the lower entry is not read

  // Only the named triangle is read: the same system with junk below the diagonal.
  require_values(tg::solve_triangular(values({2, 1, 99, 4}, {2, 2}), values({4, 8}, {2, 1}), true), {1, 2}, 1e-15);
  require_values(tg::solve_triangular(values({2, 99, 1, 4}, {2, 2}), values({4, 8}, {2, 1}), false), {2, 1.5}, 1e-15);
  // unitriangular: the diagonal is taken as ones
  require_values(tg::solve_triangular(values({5, 0, 3, 7}, {2, 2}), values({4, 8}, {2, 1}), false, true, true),
                 {4, -4}, 1e-15);
  // left = false: X A = B
  require_values(tg::solve_triangular(values({2, 1, 0, 4}, {2, 2}), values({2, 5}, {1, 2}), true, false), {1, 1},
                 1e-15);
  // batched, with broadcasting
  auto xs = tg::solve_triangular(values(concat({{2, 1, 0, 4}, {1, 0, 0, 2}}), {2, 2, 2}), values({4, 8}, {2, 1}), true);
  CHECK(xs.shape() == tg::Shape{2, 2, 1});
  require_values(xs, {1, 2, 4, 4}, 1e-15);

  tg::Generator gen(78);
  const auto st = [](bool upper, bool left, bool unit) {
    return [=](const Tensors& in) { return tg::solve_triangular(in[0], in[1], upper, left, unit); };
  };
  CHECK_GRAD(st(true, true, false), factor_like({3, 3}, gen), tg::randn<double>({3, 2}, gen));
  CHECK_GRAD(st(false, true, true), factor_like({2, 2, 2}, gen), tg::randn<double>({2, 3}, gen));
  CHECK_GRAD(st(false, false, false), factor_like({3, 3}, gen), tg::randn<double>({2, 3}, gen));
  CHECK_GRAD(st(true, false, true), factor_like({2, 2}, gen), tg::randn<double>({2, 1, 2}, gen));
  CHECK_GRADGRAD(st(true, true, false), factor_like({2, 2}, gen), tg::randn<double>({2, 2}, gen));
  CHECK_GRADGRAD(st(false, false, true), factor_like({2, 2, 2}, gen), tg::randn<double>({1, 2}, gen));

  CHECK_THROWS_AS(tg::solve_triangular(values({2, 1, 0, 0}, {2, 2}), values({4, 8}, {2, 1}), true), tg::ValueError);
  CHECK_THROWS_WITH(tg::solve_triangular(values({2, 1, 0, 0}, {2, 2}), values({4, 8}, {2, 1}), true),
                    TG_CONTAINS("solve_triangular: the matrix (A) is singular: diagonal element 2 is zero"));
  CHECK_THROWS_AS(tg::solve_triangular(values({2, 1, 0, 4}, {2, 2}), values({4, 8}, {2}), true), tg::ShapeError);
  CHECK_THROWS_WITH(tg::solve_triangular(values({2, 1, 0, 4}, {2, 2}), values({4, 8}, {2}), true),
                    TG_CONTAINS("solve_triangular: B must be a matrix or a batch of matrices"));
  CHECK_THROWS_AS(tg::solve_triangular(values({2, 1, 0, 4}, {2, 2}), tg::ones<double>({2, 3}), true, false),
                  tg::ShapeError);
  CHECK_THROWS_WITH(tg::solve_triangular(values({2, 1, 0, 4}, {2, 2}), tg::ones<double>({2, 3}), true, false),
                    TG_CONTAINS("solve_triangular: A has shape [2, 2] but B has shape [2, 3]; with left=false B needs "
                                "2 columns"));
  CHECK_THROWS_AS(tg::solve_triangular(tg::ones<double>({2, 3}), tg::ones<double>({2, 1}), true), tg::ShapeError);
}

TEST_CASE("triangular_solve (the older argument order)", "[decomposition][triangular_solve]") {
  const auto a = values({2, 1, 0, 4}, {2, 2});
  auto r = tg::triangular_solve(values({4, 8}, {2, 1}), a);  // upper by default
  require_values(r.solution, {1, 2}, 1e-15);
  require_values(r.cloned_coefficient, {2, 1, 0, 4});
  // transpose: A^T X = B, A^T = [[2, 0], [1, 4]]
  require_values(tg::triangular_solve(values({4, 8}, {2, 1}), a, true, true).solution, {2, 1.5}, 1e-15);
  tg::Generator gen(79);
  CHECK_GRAD([](const Tensors& in) { return tg::triangular_solve(in[0], in[1], false, true).solution; },
             tg::randn<double>({2, 2}, gen), factor_like({2, 2}, gen));
}

// ---- QR ----

TEST_CASE("qr", "[decomposition][qr]") {
  // A = [[3, 0], [4, 5]]: Householder (LAPACK's sign convention) gives R = [[-5, -4], [0, 3]].
  auto a = values({3, 0, 4, 5}, {2, 2}, true);
  auto r = tg::qr(a);
  require_values(r.Q, {-0.6, -0.8, -0.8, 0.6}, 1e-15);
  require_values(r.R, {-5, -4, 0, 3}, 1e-14);
  CHECK(grad_fn_name(r.Q) == "LinalgQrBackward0");
  CHECK(grad_fn_name(r.R) == "LinalgQrBackward0");
  // d(R00 + R11) / dA. With n = ||a0|| (the first column), R00 = -n and R11 = det(A) / n, so
  // dR00 = -[a0 | 0] / n = [[-0.6, 0], [-0.8, 0]] and dR11 = cof(A) / n - det(A) dn / n^2
  // = [[5, -4], [0, 3]] / 5 - 15 [[0.6, 0], [0.8, 0]] / 25 = [[0.64, -0.8], [-0.48, 0.6]].
  r.R.diag().sum().backward();
  require_values(a.grad(), {0.04, -0.8, -1.28, 0.6}, 1e-14);

  tg::Generator gen(80);
  // tall, wide and batched: Q^T Q = I, R upper triangular, Q R = A
  for (const tg::Shape& shape : {tg::Shape{4, 3}, tg::Shape{2, 3}, tg::Shape{2, 3, 3}}) {
    const Tensor m = tg::randn<double>(shape, gen);
    const auto qr = tg::qr(m);
    const std::int64_t rows = shape[shape.size() - 2], cols = shape.back(), k = std::min(rows, cols);
    CHECK(qr.Q.shape().back() == k);
    CHECK(qr.R.shape()[qr.R.shape().size() - 2] == k);
    require_close(tg::matmul(qr.Q, qr.R), m, 1e-13);
    const Tensor qtq = tg::matmul(qr.Q.transpose(-2, -1), qr.Q);
    require_close(qtq, tg::eye<double>(k).expand(qtq.shape()), 1e-13);
    require_close(tg::triu(qr.R), qr.R, 0);
  }

  const auto qr_f = [](const Tensor& x) {
    const auto r = tg::qr(x);
    return Tensors{r.Q, r.R};
  };
  CHECK_GRAD(qr_f, tg::randn<double>({3, 2}, gen));
  CHECK_GRAD(qr_f, tg::randn<double>({2, 3, 3}, gen));
  CHECK_GRAD(qr_f, tg::randn<double>({2, 3}, gen));  // m < n
  CHECK_GRAD([](const Tensor& x) { return tg::qr(x).Q; }, tg::randn<double>({3, 2}, gen));
  CHECK_GRAD([](const Tensor& x) { return tg::qr(x).R; }, tg::randn<double>({2, 4}, gen));
  CHECK_GRADGRAD(qr_f, tg::randn<double>({3, 2}, gen));
  CHECK_GRADGRAD(qr_f, tg::randn<double>({2, 3}, gen));

  // rank deficient: the forward works, the gradient is not defined
  auto deficient = values({1, 1, 1, 1, 1, 1}, {3, 2}, true);
  auto rd = tg::qr(deficient);
  require_close(tg::matmul(rd.Q, rd.R), deficient.detach(), 1e-14);
  CHECK_THROWS_AS(rd.R.sum().backward(), tg::ValueError);
  CHECK_THROWS_WITH(tg::qr(deficient).Q.sum().backward(),
                    TG_CONTAINS("qr: backward: R of the matrix has a zero on its diagonal (element 2, at the "
                                "rounding level): the input does not have full rank"));
  CHECK_THROWS_AS(tg::qr(tg::ones<double>({3})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::qr(tg::ones<double>({3})),
                    TG_CONTAINS("qr: expects a matrix or a batch of matrices (at least 2 dimensions), got shape [3]"));
}

// ---- symmetric eigendecomposition ----

TEST_CASE("eigh", "[decomposition][eigh]") {
  auto a = values({2, 1, 1, 2}, {2, 2}, true);
  auto r = tg::eigh(a);
  require_values(r.eigenvalues, {1, 3}, 1e-15);
  CHECK(grad_fn_name(r.eigenvalues) == "LinalgEighBackward0");
  CHECK(grad_fn_name(r.eigenvectors) == "LinalgEighBackward0");
  const double h = std::sqrt(0.5);
  require_values(r.eigenvectors.abs(), {h, h, h, h}, 1e-15);
  require_close(tg::matmul(a, r.eigenvectors), r.eigenvectors * r.eigenvalues.unsqueeze(-2), 1e-15);
  // d lambda_max / dA = v v^T with v = [1, 1] / sqrt(2); d (sum of eigenvalues) / dA = I
  (r.eigenvalues * values({0, 1}, {2})).sum().backward();
  require_values(a.grad(), {0.5, 0.5, 0.5, 0.5}, 1e-15);
  auto b = values({2, 1, 1, 2}, {2, 2}, true);
  tg::eigh(b).eigenvalues.sum().backward();
  require_values(b.grad(), {1, 0, 0, 1}, 1e-14);

  // [[2, 0, 0], [0, 3, 4], [0, 4, 9]]: 2 and the eigenvalues 6 -+ 5 of [[3, 4], [4, 9]]
  require_values(tg::eigh(values({2, 0, 0, 0, 3, 4, 0, 4, 9}, {3, 3})).eigenvalues, {1, 2, 11}, 1e-14);
  require_values(tg::eigvalsh(values({2, 100, 1, 2}, {2, 2})), {1, 3}, 1e-15);  // only the lower triangle is read
  auto batch = tg::eigh(values({3, 0, 0, 1, 2, 1, 1, 2}, {2, 2, 2}));
  require_values(batch.eigenvalues, {1, 3, 1, 3}, 1e-15);
  CHECK(batch.eigenvectors.shape() == tg::Shape{2, 2, 2});
  require_values(batch.eigenvectors.abs(), {0, 1, 1, 0, h, h, h, h}, 1e-15);
  // repeated eigenvalues are fine in the forward pass (the gradient assumes distinct ones)
  require_values(tg::eigvalsh(tg::eye<double>(3)), {1, 1, 1});

  tg::Generator gen(81);
  // V * V: a function of the eigenvectors that does not depend on their signs
  const auto eigh_f = [](const Tensor& x) {
    const auto e = tg::eigh(symmetric(x));
    return Tensors{e.eigenvalues, e.eigenvectors * e.eigenvectors};
  };
  const auto values_f = [](const Tensor& x) { return tg::eigvalsh(symmetric(x)); };
  CHECK_GRAD(eigh_f, tg::randn<double>({3, 3}, gen));
  CHECK_GRAD(eigh_f, tg::randn<double>({2, 2, 2}, gen));
  CHECK_GRAD(values_f, tg::randn<double>({3, 3}, gen));
  CHECK_GRADGRAD(eigh_f, tg::randn<double>({3, 3}, gen));
  CHECK_GRADGRAD(values_f, tg::randn<double>({2, 2, 2}, gen));
  // a gradient from the eigenvectors alone, and the gradient is symmetric
  auto c = tg::randn<double>({3, 3}, gen);
  c = symmetric(c).detach().requires_grad_();
  const auto ec = tg::eigh(c);
  (ec.eigenvectors * ec.eigenvectors * tg::randn<double>({3, 3}, gen)).sum().backward();
  require_close(c.grad(), c.grad().t(), 1e-12);

  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(tg::eigh(values({1, 0, nan, 1}, {2, 2})), tg::ValueError);
  CHECK_THROWS_WITH(tg::eigh(values({1, 0, nan, 1}, {2, 2})),
                    TG_CONTAINS("eigh: the matrix contains nan or inf values (in its lower triangle"));
  require_values(tg::eigvalsh(values({1, nan, 0, 1}, {2, 2})), {1, 1});  // the upper triangle is not read
  CHECK_THROWS_AS(tg::eigh(tg::ones<double>({2, 3})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::eigh(tg::ones<double>({2, 3})), TG_CONTAINS("eigh: expects square matrices, got shape [2, 3]"));
  CHECK_THROWS_AS(tg::eigvalsh(tg::ones<double>({3})), tg::ShapeError);
}

// ---- SVD ----

TEST_CASE("svdvals", "[decomposition][svdvals]") {
  // [[3, 0], [4, 5]]: A^T A = [[25, 20], [20, 25]] has eigenvalues 45 and 5
  auto a = values({3, 0, 4, 5}, {2, 2}, true);
  auto s = tg::svdvals(a);
  require_values(s, {std::sqrt(45.0), std::sqrt(5.0)}, 1e-14);
  CHECK(grad_fn_name(s) == "LinalgSvdBackward0");
  CHECK(grad_fn_name(tg::svdvals(values({3, 0, 4, 5}, {2, 2}))) == "<none>");
  // the nuclear norm's gradient is U V^T: for diag(3, -2), diag(1, -1)
  auto d = values({3, 0, 0, -2}, {2, 2}, true);
  auto sd = tg::svdvals(d);
  require_values(sd, {3, 2}, 1e-15);
  sd.sum().backward();
  require_values(d.grad(), {1, 0, 0, -1}, 1e-15);
  // d s_max / dA = u1 v1^T
  tg::svdvals(a).max().backward();
  {
    const Tensor u1v1 = a.grad();  // s_max^2 = largest eigenvalue of A^T A: check via the identity
    CHECK(tg::sum(u1v1 * a).item() == Approx(std::sqrt(45.0)).epsilon(1e-14));  // <u1 v1^T, A> = s1
  }

  require_values(tg::svdvals(values({1, 0, 0, 1, 0, 0}, {3, 2})), {1, 1}, 1e-15);
  require_values(tg::svdvals(values({0, 2, 0, 0, 0, 1}, {2, 3})), {2, 1}, 1e-15);
  auto batch = tg::svdvals(values(concat({{3, 0, 4, 5}, {0, -7, 1, 0}}), {2, 2, 2}));
  require_values(batch, {std::sqrt(45.0), std::sqrt(5.0), 7, 1}, 1e-14);
  CHECK(tg::svdvals(tg::zeros<double>({3, 0})).shape() == tg::Shape{0});

  tg::Generator gen(82);
  const auto sv = [](const Tensor& x) { return tg::svdvals(x); };
  CHECK_GRAD(sv, tg::randn<double>({3, 2}, gen));
  CHECK_GRAD(sv, tg::randn<double>({2, 3}, gen));
  CHECK_GRAD(sv, tg::randn<double>({2, 2, 2}, gen));
  // The second derivative goes through U and V: all three branches of the SVD backward.
  CHECK_GRADGRAD(sv, tg::randn<double>({3, 2}, gen));
  CHECK_GRADGRAD(sv, tg::randn<double>({2, 3}, gen));
  CHECK_GRADGRAD(sv, tg::randn<double>({2, 2, 2}, gen));

  CHECK_THROWS_AS(tg::svdvals(values({1, std::numeric_limits<double>::quiet_NaN()}, {1, 2})), tg::ValueError);
  CHECK_THROWS_WITH(tg::svdvals(values(concat({{1, 0, 0, 1}, {1, 0, 0, std::numeric_limits<double>::infinity()}}),
                                       {2, 2, 2})),
                    TG_CONTAINS("svdvals: matrix 1 of the batch contains nan or inf values, for which the SVD is not "
                                "defined"));
  CHECK_THROWS_AS(tg::svdvals(tg::ones<double>({3})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::svdvals(tg::ones<double>({3})),
                    TG_CONTAINS("svdvals: expects a matrix or a batch of matrices (at least 2 dimensions)"));
}

TEST_CASE("svd", "[decomposition][svd]") {
  tg::Generator gen(83);
  for (const tg::Shape& shape : {tg::Shape{4, 2}, tg::Shape{2, 3}, tg::Shape{2, 3, 3}}) {
    const Tensor m = tg::randn<double>(shape, gen);
    const auto r = tg::svd(m, /*full_matrices=*/false);
    const std::int64_t k = std::min(shape[shape.size() - 2], shape.back());
    CHECK(r.S.shape().back() == k);
    require_close(tg::matmul(r.U * r.S.unsqueeze(-2), r.Vh), m, 1e-13);
    const Tensor utu = tg::matmul(r.U.transpose(-2, -1), r.U), vvt = tg::matmul(r.Vh, r.Vh.transpose(-2, -1));
    require_close(utu, tg::eye<double>(k).expand(utu.shape()), 1e-13);
    require_close(vvt, tg::eye<double>(k).expand(vvt.shape()), 1e-13);
    require_close(r.S, tg::svdvals(m), 1e-14);
  }
  auto a = values({3, 0, 0, -2}, {2, 2}, true);
  auto r = tg::svd(a);  // square: full_matrices makes no difference
  CHECK(grad_fn_name(r.U) == "LinalgSvdBackward0");
  CHECK(grad_fn_name(r.Vh) == "LinalgSvdBackward0");
  require_values(r.S, {3, 2}, 1e-15);
  require_values(r.U.abs(), {1, 0, 0, 1}, 1e-15);

  // Functions that do not depend on the signs of the singular vectors.
  const auto svd_f = [](const Tensor& x) {
    const auto s = tg::svd(x, false);
    return Tensors{s.S, s.U * s.U, s.Vh * s.Vh, tg::matmul(s.U * s.S.unsqueeze(-2), s.Vh)};
  };
  CHECK_GRAD(svd_f, tg::randn<double>({3, 2}, gen));
  CHECK_GRAD(svd_f, tg::randn<double>({2, 3}, gen));
  CHECK_GRAD(svd_f, tg::randn<double>({2, 2, 2}, gen));
  CHECK_GRADGRAD(svd_f, tg::randn<double>({3, 2}, gen));
  CHECK_GRADGRAD(svd_f, tg::randn<double>({2, 2}, gen));

  CHECK_THROWS_AS(tg::svd(tg::ones<double>({3, 2})), tg::ValueError);
  CHECK_THROWS_WITH(tg::svd(tg::ones<double>({3, 2})),
                    TG_CONTAINS("svd: full_matrices=true is not supported for non-square matrices (shape [3, 2]); "
                                "pass full_matrices=false for the reduced SVD"));
  CHECK_THROWS_AS(tg::svd(tg::ones<double>({2}), false), tg::ShapeError);
}

// ---- matrix exponential ----

TEST_CASE("matrix_exp", "[decomposition][matrix_exp]") {
  const double e = std::exp(1.0);
  require_values(tg::matrix_exp(tg::zeros<double>({2, 2})), {1, 0, 0, 1});
  require_values(tg::matrix_exp(values({1, 0, 0, 2}, {2, 2})), {e, 0, 0, e * e}, 1e-14);
  require_values(tg::matrix_exp(values({0, 1, 0, 0}, {2, 2})), {1, 1, 0, 1}, 1e-15);  // nilpotent: I + N
  require_values(tg::matrix_exp(values({1, 2, 0, 1}, {2, 2})), {e, 2 * e, 0, e}, 1e-14);
  // rotations; t = 30 needs several squarings
  for (double t : {1.0, 30.0}) {
    INFO("t = " << t);
    const Tensor r = tg::matrix_exp(values({0, t, -t, 0}, {2, 2}));
    CHECK(relative_error(r, {std::cos(t), std::sin(t), -std::sin(t), std::cos(t)}) < 1e-13);
  }
  // Moler and Van Loan's example: eigenvalues -1 and -17, a large norm, strong cancellation.
  // exp(A) = e^-1 [[-2, 1.5], [-4, 3]] + e^-17 [[3, -1.5], [4, -2]]
  const double a1 = std::exp(-1.0), a17 = std::exp(-17.0);
  const Tensor mv = tg::matrix_exp(values({-49, 24, -64, 31}, {2, 2}));
  CHECK(relative_error(mv, {-2 * a1 + 3 * a17, 1.5 * a1 - 1.5 * a17, -4 * a1 + 4 * a17, 3 * a1 - 2 * a17}) < 1e-12);
  auto batch = tg::matrix_exp(values(concat({{1, 0, 0, 2}, {0, 1, 0, 0}}), {2, 2, 2}));
  require_values(batch, {e, 0, 0, e * e, 1, 1, 0, 1}, 1e-14);
  tg::Generator gen(84);
  const Tensor m = tg::randn<double>({4, 4}, gen) * 2.0;
  require_close(tg::matmul(tg::matrix_exp(m), tg::matrix_exp(-m)), tg::eye<double>(4), 1e-10);
  CHECK(std::isnan(tg::matrix_exp(values({1, std::numeric_limits<double>::infinity(), 0, 1}, {2, 2})).at({0, 0})));
  CHECK(tg::matrix_exp(tg::zeros<double>({0, 0})).shape() == tg::Shape{0, 0});

  // For diagonal A the gradient of sum(exp(A)) has divided differences off the diagonal:
  // (e^a_i - e^a_j) / (a_i - a_j).
  auto d = values({0, 0, 0, 1}, {2, 2}, true);
  auto y = tg::matrix_exp(d);
  CHECK(grad_fn_name(y) == "LinalgMatrixExpBackward0");
  y.sum().backward();
  require_values(d.grad(), {1, e - 1, e - 1, e}, 1e-14);
  // X = I + N with N = 2 E_01: the adjoint derivative at X^T = I + M (M = N^T, M^2 = 0) in the
  // direction G = 1 is e (G + (M G + G M) / 2 + M G M / 6) = e [[2, 1], [11/3, 2]].
  auto x = values({1, 2, 0, 1}, {2, 2}, true);
  x.matrix_exp().sum().backward();
  require_values(x.grad(), {2 * e, e, 11 * e / 3, 2 * e}, 1e-14);

  const auto expm = [](const Tensor& t) { return tg::matrix_exp(t); };
  CHECK_GRAD(expm, tg::randn<double>({3, 3}, gen) * 0.5);
  CHECK_GRAD(expm, tg::randn<double>({2, 2, 2}, gen));
  CHECK_GRAD(expm, values({0, 4, -4, 0}, {2, 2}));  // scaled and squared
  CHECK_GRADGRAD(expm, tg::randn<double>({2, 2}, gen));
  CHECK_GRADGRAD(expm, tg::randn<double>({2, 2, 2}, gen) * 0.5);

  CHECK_THROWS_AS(tg::matrix_exp(tg::ones<double>({2, 3})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::matrix_exp(tg::ones<double>({2, 3})),
                    TG_CONTAINS("matrix_exp: expects square matrices, got shape [2, 3]"));
}

// ---- larger matrices (Eigen's blocked code paths) ----

TEST_CASE("decompositions of larger matrices", "[decomposition][large]") {
  tg::Generator gen(85);
  const std::int64_t n = 70;
  const Tensor a = well_conditioned({n, n}, gen) + tg::eye<double>(n) * 5.0;
  const Tensor identity = tg::eye<double>(n);
  CHECK_MAX_ABS_DIFF(tg::matmul(a, tg::inverse(a)), identity, 1e-12);
  const Tensor b = tg::randn<double>({n, 3}, gen);
  CHECK_MAX_ABS_DIFF(tg::matmul(a, tg::solve(a, b)), b, 1e-11);
  CHECK(std::log(std::abs(tg::det(a).item())) == Approx(tg::slogdet(a).logabsdet.item()).epsilon(1e-12));
  const Tensor spd = positive_definite(tg::randn<double>({n, n}, gen));
  const Tensor l = tg::cholesky(spd);
  CHECK_MAX_ABS_DIFF(tg::matmul(l, l.t()), spd, 1e-10);
  CHECK_MAX_ABS_DIFF(tg::matmul(spd, tg::cholesky_solve(b, l)), b, 1e-9);
  const Tensor tall = tg::randn<double>({n, 50}, gen);
  const auto qr = tg::qr(tall);
  CHECK_MAX_ABS_DIFF(tg::matmul(qr.Q, qr.R), tall, 1e-12);
  CHECK_MAX_ABS_DIFF(tg::matmul(qr.Q.t(), qr.Q), tg::eye<double>(50), 1e-12);
  const Tensor sym = symmetric(tg::randn<double>({n, n}, gen));
  const auto e = tg::eigh(sym);
  CHECK_MAX_ABS_DIFF(tg::matmul(e.eigenvectors * e.eigenvalues.unsqueeze(0), e.eigenvectors.t()), sym, 1e-11);
  for (const Tensor& m : {tall, Tensor(tall.t())}) {
    const auto s = tg::svd(m, false);
    CHECK_MAX_ABS_DIFF(tg::matmul(s.U * s.S.unsqueeze(0), s.Vh), m, 1e-11);
    CHECK_MAX_ABS_DIFF(tg::matmul(s.U.t(), s.U), tg::eye<double>(50), 1e-12);
  }
  const Tensor g = tg::randn<double>({n, n}, gen) * 0.2;
  CHECK_MAX_ABS_DIFF(tg::matmul(tg::matrix_exp(g), tg::matrix_exp(-g)), identity, 1e-10);
}

// ---- float ----

TEST_CASE("decompositions on float tensors", "[decomposition][float]") {
  using F = tg::Tensor<float>;
  const F a = tg::from_vector(std::vector<float>{4, 7, 2, 6}, {2, 2});
  const auto close = [](const F& t, const std::vector<float>& expected) {
    REQUIRE(t.numel() == static_cast<std::int64_t>(expected.size()));
    for (std::size_t i = 0; i < expected.size(); ++i)
      CHECK(t.data_ptr()[i] == Approx(expected[i]).epsilon(1e-6).margin(1e-6));
  };
  close(tg::inverse(a), {0.6f, -0.7f, -0.2f, 0.4f});
  close(tg::solve(a, tg::tensor<float>({1, 2})), {-0.8f, 0.6f});
  close(tg::det(a).reshape({1}), {10});
  close(tg::logdet(a).reshape({1}), {std::log(10.0f)});
  close(tg::slogdet(a).sign.reshape({1}), {1});
  const F s = tg::from_vector(std::vector<float>{4, 2, 2, 5}, {2, 2});
  close(tg::cholesky(s), {2, 0, 1, 2});
  close(tg::cholesky_solve(tg::from_vector(std::vector<float>{1, 2}, {2, 1}), tg::cholesky(s)), {0.0625f, 0.375f});
  close(tg::solve_triangular(tg::from_vector(std::vector<float>{2, 1, 0, 4}, {2, 2}),
                             tg::from_vector(std::vector<float>{4, 8}, {2, 1}), true),
        {1, 2});
  close(tg::qr(tg::from_vector(std::vector<float>{3, 0, 4, 5}, {2, 2})).R, {-5, -4, 0, 3});
  close(tg::eigvalsh(tg::from_vector(std::vector<float>{2, 1, 1, 2}, {2, 2})), {1, 3});
  close(tg::svdvals(tg::from_vector(std::vector<float>{3, 0, 0, -2}, {2, 2})), {3, 2});
  close(tg::matrix_exp(tg::from_vector(std::vector<float>{0, 1, 0, 0}, {2, 2})), {1, 1, 0, 1});

  F x = tg::from_vector(std::vector<float>{4, 7, 2, 6}, {2, 2}, tg::requires_grad());
  (tg::det(x) + tg::inverse(x).sum()).backward();
  close(x.grad(), {6 + 0.04f, -2 - 0.08f, -7 - 0.03f, 4 + 0.06f});
  F y = tg::from_vector(std::vector<float>{4, 2, 2, 5}, {2, 2}, tg::requires_grad());
  tg::cholesky(y).sum().backward();
  close(y.grad(), {0.1875f, 0.125f, 0.125f, 0.25f});
}

}  // namespace ops_decomposition_test

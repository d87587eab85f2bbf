#include "test_util.hpp"

#include <string>

// matmul: dot, mv, vector-matrix, mm, batched with broadcast batch dims.

namespace {

// A = [[1, 2, 3], [4, 5, 6]], B = [[7, 8], [9, 10], [11, 12]], A B = [[58, 64], [139, 154]];
// P = [[1, 0, 0], [0, 1, 0]] picks the first two rows: P B = [[7, 8], [9, 10]].
const std::vector<double> kA{1, 2, 3, 4, 5, 6};
const std::vector<double> kB{7, 8, 9, 10, 11, 12};
const std::vector<double> kP{1, 0, 0, 0, 1, 0};

std::vector<double> concat(std::initializer_list<std::vector<double>> parts) {
  std::vector<double> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<double> scaled(const std::vector<double>& v, double s) {
  std::vector<double> out(v);
  for (double& x : out) x *= s;
  return out;
}

const auto matmul_f = [](const Tensors& in) { return tg::matmul(in[0], in[1]); };

}  // namespace

TEST_CASE("matmul 1-D @ 1-D is a dot product", "[linalg][matmul][dot]") {
  auto a = values({1, 2, 3}, {3}, true);
  auto b = values({4, 5, 6}, {3}, true);
  auto y = tg::matmul(a, b);
  CHECK(y.shape() == tg::Shape{});
  CHECK(y.item() == 32.0);
  CHECK(grad_fn_name(y) == "DotBackward0");
  CHECK(a.matmul(b).item() == 32.0);
  CHECK(tg::matmul(values({-2}, {1}), values({3}, {1})).item() == -6.0);
  (y * 2).backward();
  require_values(a.grad(), {8, 10, 12});
  require_values(b.grad(), {2, 4, 6});

  tg::Generator gen(41);
  CHECK_GRAD(matmul_f, tg::randn<double>({3}, gen), tg::randn<double>({3}, gen));
  CHECK_GRAD(matmul_f, tg::randn<double>({1}, gen), tg::randn<double>({1}, gen));
  CHECK_GRADGRAD(matmul_f, tg::randn<double>({4}, gen), tg::randn<double>({4}, gen));
}

TEST_CASE("matmul 2-D @ 2-D", "[linalg][matmul][mm]") {
  auto a = values(kA, {2, 3}, true);
  auto b = values(kB, {3, 2}, true);
  auto y = tg::matmul(a, b);
  CHECK(y.shape() == tg::Shape{2, 2});
  require_values(y, {58, 64, 139, 154});
  CHECK(grad_fn_name(y) == "MmBackward0");
  require_values(b.matmul(a), {39, 54, 69, 49, 68, 87, 59, 82, 105});  // B A
  y.sum().backward();
  require_values(a.grad(), {15, 19, 23, 15, 19, 23});  // 1 B^T: row sums of B
  require_values(b.grad(), {5, 5, 7, 7, 9, 9});        // A^T 1: column sums of A

  tg::Generator gen(42);
  CHECK_GRAD(matmul_f, tg::randn<double>({2, 3}, gen), tg::randn<double>({3, 4}, gen));
  CHECK_GRAD(matmul_f, tg::randn<double>({1, 1}, gen), tg::randn<double>({1, 1}, gen));
  CHECK_GRAD(matmul_f, tg::randn<double>({4, 1}, gen), tg::randn<double>({1, 3}, gen) * 30.0);
  CHECK_GRADGRAD(matmul_f, tg::randn<double>({2, 3}, gen), tg::randn<double>({3, 4}, gen));
  // x x^T: both operands come from one input.
  const auto gram = [](const Tensor& x) { return x.matmul(x.t()); };
  CHECK_GRAD(gram, tg::randn<double>({2, 3}, gen));
  CHECK_GRADGRAD(gram, tg::randn<double>({2, 3}, gen));
}

TEST_CASE("matmul 2-D @ 1-D is a matrix-vector product", "[linalg][matmul][mv]") {
  auto a = values(kA, {2, 3}, true);
  auto v = values({1, 0, -1}, {3}, true);
  auto y = tg::matmul(a, v);
  CHECK(y.shape() == tg::Shape{2});
  require_values(y, {-2, -2});
  CHECK(grad_fn_name(y) == "MvBackward0");
  (y * values({1, 2}, {2})).sum().backward();
  require_values(a.grad(), {1, 0, -1, 2, 0, -2});  // g v^T
  require_values(v.grad(), {9, 12, 15});            // A^T g

  tg::Generator gen(43);
  CHECK_GRAD(matmul_f, tg::randn<double>({2, 3}, gen), tg::randn<double>({3}, gen));
  CHECK_GRAD(matmul_f, tg::randn<double>({1, 4}, gen), tg::randn<double>({4}, gen));
  CHECK_GRADGRAD(matmul_f, tg::randn<double>({2, 3}, gen), tg::randn<double>({3}, gen));
}

TEST_CASE("matmul 1-D @ 2-D is a vector-matrix product", "[linalg][matmul]") {
  auto v = values({1, -1}, {2}, true);
  auto a = values(kA, {2, 3}, true);
  auto y = tg::matmul(v, a);
  CHECK(y.shape() == tg::Shape{3});
  require_values(y, {-3, -3, -3});
  CHECK(grad_fn_name(y) == "MmBackward0");
  (y * values({1, 2, 3}, {3})).sum().backward();
  require_values(v.grad(), {14, 32});                // A g
  require_values(a.grad(), {1, 2, 3, -1, -2, -3});  // v g^T

  tg::Generator gen(44);
  CHECK_GRAD(matmul_f, tg::randn<double>({3}, gen), tg::randn<double>({3, 2}, gen));
  CHECK_GRADGRAD(matmul_f, tg::randn<double>({3}, gen), tg::randn<double>({3, 2}, gen));
}

TEST_CASE("matmul 3-D @ 3-D is a batched product", "[linalg][matmul][bmm]") {
  auto a = values(concat({kA, kP}), {2, 2, 3}, true);
  auto b = values(concat({kB, kB}), {2, 3, 2}, true);
  auto y = tg::matmul(a, b);
  CHECK(y.shape() == tg::Shape{2, 2, 2});
  require_values(y, {58, 64, 139, 154, 7, 8, 9, 10});
  CHECK(grad_fn_name(y) == "BmmBackward0");
  y.sum().backward();
  require_values(a.grad(), {15, 19, 23, 15, 19, 23, 15, 19, 23, 15, 19, 23});
  require_values(b.grad(), {5, 5, 7, 7, 9, 9, 1, 1, 1, 1, 0, 0});  // per batch: column sums of A, of P

  tg::Generator gen(45);
  CHECK_GRAD(matmul_f, tg::randn<double>({2, 2, 3}, gen), tg::randn<double>({2, 3, 4}, gen));
  CHECK_GRADGRAD(matmul_f, tg::randn<double>({2, 2, 3}, gen), tg::randn<double>({2, 3, 4}, gen));
}

TEST_CASE("matmul broadcasts batch dims", "[linalg][matmul][bmm]") {
  SECTION("(b, n, k) @ (k, m)") {
    auto a = values(concat({kA, kP}), {2, 2, 3}, true);
    auto b = values(kB, {3, 2}, true);
    auto y = a.matmul(b);
    CHECK(y.shape() == tg::Shape{2, 2, 2});
    require_values(y, {58, 64, 139, 154, 7, 8, 9, 10});
    CHECK(grad_fn_name(y) == "BmmBackward0");
    y.sum().backward();
    require_values(a.grad(), {15, 19, 23, 15, 19, 23, 15, 19, 23, 15, 19, 23});
    require_values(b.grad(), {6, 6, 8, 8, 9, 9});  // summed over the batch
  }
  SECTION("(1, n, k) @ (b, k, m)") {
    auto a = values(kA, {1, 2, 3}, true);
    auto b = values(concat({kB, scaled(kB, -1)}), {2, 3, 2}, true);
    auto y = a.matmul(b);
    CHECK(y.shape() == tg::Shape{2, 2, 2});
    require_values(y, {58, 64, 139, 154, -58, -64, -139, -154});
    CHECK(grad_fn_name(y) == "BmmBackward0");
    y.sum().backward();
    REQUIRE(a.grad().shape() == tg::Shape{1, 2, 3});
    require_values(a.grad(), {0, 0, 0, 0, 0, 0});  // the batches of B cancel
    require_values(b.grad(), {5, 5, 7, 7, 9, 9, 5, 5, 7, 7, 9, 9});
  }
  SECTION("(n, k) @ (b, k, m)") {
    auto a = values(kA, {2, 3}, true);
    auto b = values(concat({kB, scaled(kB, 2)}), {2, 3, 2}, true);
    auto y = tg::matmul(a, b);
    CHECK(y.shape() == tg::Shape{2, 2, 2});
    require_values(y, {58, 64, 139, 154, 116, 128, 278, 308});
    CHECK(grad_fn_name(y) == "BmmBackward0");
    y.sum().backward();
    REQUIRE(a.grad().shape() == tg::Shape{2, 3});
    require_values(a.grad(), {45, 57, 69, 45, 57, 69});
    require_values(b.grad(), {5, 5, 7, 7, 9, 9, 5, 5, 7, 7, 9, 9});
  }
  SECTION("(2, 1, n, k) @ (3, k, m) -> (2, 3, n, m)") {
    auto a = values(concat({kA, kP}), {2, 1, 2, 3});
    auto b = values(concat({kB, scaled(kB, 2), scaled(kB, -1)}), {3, 3, 2});
    auto y = tg::matmul(a, b);
    REQUIRE(y.shape() == tg::Shape{2, 3, 2, 2});
    CHECK(y.at({0, 0, 1, 1}) == 154.0);   // A B
    CHECK(y.at({0, 1, 1, 0}) == 278.0);   // A 2B
    CHECK(y.at({1, 0, 0, 1}) == 8.0);     // P B
    CHECK(y.at({1, 2, 1, 0}) == -9.0);    // P (-B)
    CHECK(y.at({0, 2, 0, 0}) == -58.0);   // A (-B)
  }

  tg::Generator gen(46);
  const Tensor a3 = tg::randn<double>({2, 2, 3}, gen), a1 = tg::randn<double>({1, 2, 3}, gen);
  const Tensor a2 = tg::randn<double>({2, 3}, gen), b2 = tg::randn<double>({3, 4}, gen);
  const Tensor b3 = tg::randn<double>({2, 3, 4}, gen);
  CHECK_GRAD(matmul_f, a3, b2);
  CHECK_GRAD(matmul_f, a1, b3);
  CHECK_GRAD(matmul_f, a2, b3);
  CHECK_GRAD(matmul_f, b3.transpose(1, 2), a2.t());  // (2, 4, 3) @ (3, 2)
  CHECK_GRAD(matmul_f, tg::randn<double>({2, 1, 2, 3}, gen), tg::randn<double>({3, 3, 2}, gen));
  CHECK_GRADGRAD(matmul_f, a3, b2);
  CHECK_GRADGRAD(matmul_f, a1, b3);
  CHECK_GRADGRAD(matmul_f, a2, b3);
  CHECK_GRADGRAD(matmul_f, tg::randn<double>({2, 1, 2, 3}, gen), tg::randn<double>({3, 3, 2}, gen));
}

TEST_CASE("matmul of a vector with a batch of matrices", "[linalg][matmul][bmm]") {
  auto v = values({1, 0, -1}, {3});
  auto left = tg::matmul(v, values(concat({kB, scaled(kB, 2)}), {2, 3, 2}));  // v B, v 2B
  CHECK(left.shape() == tg::Shape{2, 2});
  require_values(left, {-4, -4, -8, -8});
  auto right = tg::matmul(values(concat({kA, kP}), {2, 2, 3}), v);  // A v, P v
  CHECK(right.shape() == tg::Shape{2, 2});
  require_values(right, {-2, -2, 1, 0});

  tg::Generator gen(47);
  CHECK_GRAD(matmul_f, tg::randn<double>({3}, gen), tg::randn<double>({2, 3, 4}, gen));
  CHECK_GRAD(matmul_f, tg::randn<double>({2, 2, 3}, gen), tg::randn<double>({3}, gen));
  CHECK_GRADGRAD(matmul_f, tg::randn<double>({3}, gen), tg::randn<double>({2, 3, 4}, gen));
  CHECK_GRADGRAD(matmul_f, tg::randn<double>({2, 2, 3}, gen), tg::randn<double>({3}, gen));
}

TEST_CASE("matmul with an empty dimension", "[linalg][matmul]") {
  auto a = tg::zeros<double>({2, 0}, tg::requires_grad());
  auto b = tg::zeros<double>({0, 3}, tg::requires_grad());
  auto y = tg::matmul(a, b);  // a sum over nothing: zeros
  CHECK(y.shape() == tg::Shape{2, 3});
  require_values(y, {0, 0, 0, 0, 0, 0});
  CHECK(grad_fn_name(y) == "MmBackward0");
  y.sum().backward();
  CHECK(a.grad().shape() == tg::Shape{2, 0});
  CHECK(b.grad().shape() == tg::Shape{0, 3});

  auto rows = tg::matmul(tg::zeros<double>({0, 3}), tg::ones<double>({3, 2}));
  CHECK(rows.shape() == tg::Shape{0, 2});
}

TEST_CASE("matmul: shape errors", "[linalg][matmul][errors]") {
  const auto m23 = tg::ones<double>({2, 3});
  REQUIRE_THROWS_AS(tg::matmul(m23, tg::ones<double>({4, 5})), tg::ShapeError);
  REQUIRE_THROWS_WITH(tg::matmul(m23, tg::ones<double>({4, 5})),
                      TG_CONTAINS("matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)"));
  REQUIRE_THROWS_AS(tg::matmul(tg::ones<double>({3}), tg::ones<double>({4})), tg::ShapeError);
  REQUIRE_THROWS_WITH(tg::matmul(tg::ones<double>({3}), tg::ones<double>({4})),
                      TG_CONTAINS("matmul: shapes [3] and [4] cannot be multiplied (3 != 4)"));
  REQUIRE_THROWS_AS(m23.matmul(tg::ones<double>({4})), tg::ShapeError);
  REQUIRE_THROWS_WITH(m23.matmul(tg::ones<double>({4})),
                      TG_CONTAINS("matmul: shapes [2, 3] and [4] cannot be multiplied (3 != 4)"));
  REQUIRE_THROWS_AS(tg::matmul(tg::ones<double>({2}), tg::ones<double>({3, 4})), tg::ShapeError);
  REQUIRE_THROWS_WITH(tg::matmul(tg::ones<double>({2}), tg::ones<double>({3, 4})),
                      TG_CONTAINS("matmul: shapes [2] and [3, 4] cannot be multiplied (2 != 3)"));
  REQUIRE_THROWS_AS(tg::matmul(tg::ones<double>({2, 2, 3}), tg::ones<double>({2, 4, 5})), tg::ShapeError);
  REQUIRE_THROWS_WITH(tg::matmul(tg::ones<double>({2, 2, 3}), tg::ones<double>({2, 4, 5})),
                      TG_CONTAINS("matmul: shapes [2, 2, 3] and [2, 4, 5] cannot be multiplied (3 != 4)"));
  REQUIRE_THROWS_WITH(tg::matmul(tg::ones<double>({2, 2, 3}), tg::ones<double>({4})),
                      TG_CONTAINS("matmul: shapes [2, 2, 3] and [4] cannot be multiplied (3 != 4)"));
  // Batch dims that do not broadcast.
  REQUIRE_THROWS_AS(tg::matmul(tg::ones<double>({2, 2, 3}), tg::ones<double>({3, 3, 2})), tg::ShapeError);
  REQUIRE_THROWS_WITH(tg::matmul(tg::ones<double>({2, 2, 3}), tg::ones<double>({3, 3, 2})),
                      TG_CONTAINS("matmul: shapes [2] and [3] cannot be broadcast together"));
  // 0-d operands.
  const auto s = tg::scalar_tensor<double>(2.0);
  REQUIRE_THROWS_AS(tg::matmul(s, tg::ones<double>({3})), tg::ShapeError);
  REQUIRE_THROWS_WITH(tg::matmul(s, tg::ones<double>({3})),
                      TG_CONTAINS("matmul: both arguments need at least 1 dimension, got shapes [] and [3]"));
  REQUIRE_THROWS_AS(m23.matmul(s), tg::ShapeError);
  REQUIRE_THROWS_WITH(m23.matmul(s), TG_CONTAINS("got shapes [2, 3] and []"));
}

TEST_CASE("matmul on float tensors", "[linalg][matmul][float]") {
  auto a = tg::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  auto b = tg::from_vector(std::vector<float>{7, 8, 9, 10, 11, 12}, {3, 2});
  CHECK(tg::matmul(a, b).to_vector() == std::vector<float>{58, 64, 139, 154});
  CHECK(tg::matmul(a, tg::tensor<float>({1, 0, -1})).to_vector() == std::vector<float>{-2, -2});
  CHECK(tg::matmul(tg::tensor<float>({1, 2, 3}), tg::tensor<float>({4, 5, 6})).item() == 32.0f);
}

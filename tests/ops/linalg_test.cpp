#include "test_util.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ops_linalg_test {

// matmul: dot, mv, vector-matrix, mm, batched with broadcast batch dims; the strict
// products (mm, bmm, mv, dot, outer), trace, diag / diagonal / diag_embed, triu / tril
// and einsum.

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

// matmul copies a transposed operand with transpose_into: 32x32 blocks of 8x8 tiles
// plus the ragged edges. Every shape class against the element-by-element definition.
TEST_CASE("transpose_into: tiles and edges", "[linalg][matmul][transpose]") {
  for (const auto& [rows, cols] : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {1, 1}, {1, 13}, {7, 9}, {8, 8}, {32, 32}, {33, 17}, {64, 40}, {100, 37}, {256, 8}}) {
    INFO(rows << " x " << cols);
    std::vector<double> src(static_cast<std::size_t>(rows * cols)), dst(src.size(), -1.0);
    for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<double>(i);
    tg::detail::transpose_into(src.data(), rows, cols, dst.data());
    bool same = true;
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c)
        same = same && dst[static_cast<std::size_t>(c * rows + r)] == src[static_cast<std::size_t>(r * cols + c)];
    CHECK(same);
  }
  // matmul's gradients on sizes that cross tiles, through the transposed copies
  tg::Generator gen(23);
  const auto f = [](const Tensors& in) { return tg::matmul(in[0], in[1]); };
  CHECK_GRAD(f, tg::randn<double>({19, 35}, gen), tg::randn<double>({35, 11}, gen));
}

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

TEST_CASE("matmul gradients with a small batch and wide matrices", "[linalg][matmul][mm]") {
  // A (3 x 40) @ B (40 x 30): dA = G B^T copies G and the result rather than B (3*30 + 3*40
  // elements against 40*30), dB = A^T G copies A^T; batched and broadcast too. Checked
  // against the same products computed by Eigen.
  tg::Generator gen(48);
  for (const tg::Shape& batch : {tg::Shape{}, tg::Shape{2}}) {
    tg::Shape sa = batch, sb = {40, 30};
    sa.push_back(3);
    sa.push_back(40);
    auto a = tg::randn<double>(sa, gen).requires_grad_();
    auto b = tg::randn<double>(sb, gen).requires_grad_();
    auto w = tg::randn<double>(tg::matmul(a, b).shape(), gen);
    (tg::matmul(a, b) * w).sum().backward();
    using Rm = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Eigen::Map<const Rm> B(b.data_ptr(), 40, 30);
    Rm db = Rm::Zero(40, 30);
    const std::int64_t batches = batch.empty() ? 1 : batch[0];
    for (std::int64_t p = 0; p < batches; ++p) {
      const Eigen::Map<const Rm> A(a.data_ptr() + p * 120, 3, 40), G(w.data_ptr() + p * 90, 3, 30);
      const Rm da = G * B.transpose();
      const Eigen::Map<const Rm> got(a.grad().data_ptr() + p * 120, 3, 40);
      CHECK(got.isApprox(da, 1e-13));
      db += A.transpose() * G;
    }
    CHECK(Eigen::Map<const Rm>(b.grad().data_ptr(), 40, 30).isApprox(db, 1e-13));
    CHECK_GRAD(matmul_f, tg::randn<double>(sa, gen), tg::randn<double>(sb, gen));
  }
  // The double backward of a wide product (its rules multiply transposed gradients again).
  CHECK_GRADGRAD(matmul_f, tg::randn<double>({2, 24}, gen), tg::randn<double>({24, 20}, gen));
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
                      TG_CONTAINS("matmul: the batch dimensions [2] and [3] of shapes [2, 2, 3] and [3, 3, 2] cannot be broadcast together"));
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

// ---- strict products ----

TEST_CASE("mm multiplies two matrices", "[linalg][mm]") {
  auto a = values(kA, {2, 3}, true);
  auto b = values(kB, {3, 2}, true);
  auto y = tg::mm(a, b);
  CHECK(y.shape() == tg::Shape{2, 2});
  require_values(y, {58, 64, 139, 154});
  CHECK(grad_fn_name(y) == "MmBackward0");
  require_values(b.mm(a), {39, 54, 69, 49, 68, 87, 59, 82, 105});
  y.sum().backward();
  require_values(a.grad(), {15, 19, 23, 15, 19, 23});
  require_values(b.grad(), {5, 5, 7, 7, 9, 9});

  tg::Generator gen(50);
  const auto mm_f = [](const Tensors& in) { return tg::mm(in[0], in[1]); };
  CHECK_GRAD(mm_f, tg::randn<double>({2, 3}, gen), tg::randn<double>({3, 4}, gen));
  CHECK_GRAD(mm_f, tg::randn<double>({1, 1}, gen), tg::randn<double>({1, 2}, gen));
  CHECK_GRADGRAD(mm_f, tg::randn<double>({2, 3}, gen), tg::randn<double>({3, 2}, gen));

  CHECK_THROWS_AS(tg::mm(tg::ones<double>({3}), tg::ones<double>({3, 2})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::mm(tg::ones<double>({3}), tg::ones<double>({3, 2})),
                    TG_CONTAINS("mm: expects two 2-D tensors (matrices), got shapes [3] and [3, 2]"));
  CHECK_THROWS_AS(tg::mm(tg::ones<double>({2, 2, 3}), tg::ones<double>({3, 2})), tg::ShapeError);
  CHECK_THROWS_AS(tg::mm(tg::ones<double>({2, 3}), tg::ones<double>({2, 2})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::mm(tg::ones<double>({2, 3}), tg::ones<double>({2, 2})),
                    TG_CONTAINS("mm: shapes [2, 3] and [2, 2] cannot be multiplied (3 != 2)"));
}

TEST_CASE("bmm multiplies batches of matrices without broadcasting", "[linalg][bmm]") {
  auto a = values(concat({kA, kP}), {2, 2, 3}, true);
  auto b = values(concat({kB, kB}), {2, 3, 2}, true);
  auto y = tg::bmm(a, b);
  CHECK(y.shape() == tg::Shape{2, 2, 2});
  require_values(y, {58, 64, 139, 154, 7, 8, 9, 10});
  CHECK(grad_fn_name(y) == "BmmBackward0");
  require_values(a.bmm(b), {58, 64, 139, 154, 7, 8, 9, 10});
  y.sum().backward();
  require_values(a.grad(), {15, 19, 23, 15, 19, 23, 15, 19, 23, 15, 19, 23});
  require_values(b.grad(), {5, 5, 7, 7, 9, 9, 1, 1, 1, 1, 0, 0});

  tg::Generator gen(51);
  const auto bmm_f = [](const Tensors& in) { return tg::bmm(in[0], in[1]); };
  CHECK_GRAD(bmm_f, tg::randn<double>({2, 2, 3}, gen), tg::randn<double>({2, 3, 2}, gen));
  CHECK_GRAD(bmm_f, tg::randn<double>({1, 3, 1}, gen), tg::randn<double>({1, 1, 2}, gen));
  CHECK_GRADGRAD(bmm_f, tg::randn<double>({2, 2, 2}, gen), tg::randn<double>({2, 2, 3}, gen));

  CHECK_THROWS_AS(tg::bmm(tg::ones<double>({2, 3}), tg::ones<double>({3, 2})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::bmm(tg::ones<double>({2, 3}), tg::ones<double>({3, 2})),
                    TG_CONTAINS("bmm: expects two 3-D tensors (batches of matrices), got shapes [2, 3] and [3, 2]"));
  CHECK_THROWS_AS(tg::bmm(tg::ones<double>({2, 2, 3}), tg::ones<double>({1, 3, 2})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::bmm(tg::ones<double>({2, 2, 3}), tg::ones<double>({1, 3, 2})),
                    TG_CONTAINS("bmm: batch sizes differ (2 vs 1)"));
  CHECK_THROWS_AS(tg::bmm(tg::ones<double>({2, 2, 3}), tg::ones<double>({2, 2, 2})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::bmm(tg::ones<double>({2, 2, 3}), tg::ones<double>({2, 2, 2})),
                    TG_CONTAINS("bmm: shapes [2, 2, 3] and [2, 2, 2] cannot be multiplied (3 != 2)"));
}

TEST_CASE("mv multiplies a matrix and a vector", "[linalg][mv]") {
  auto a = values(kA, {2, 3}, true);
  auto v = values({1, 0, -1}, {3}, true);
  auto y = tg::mv(a, v);
  CHECK(y.shape() == tg::Shape{2});
  require_values(y, {-2, -2});
  CHECK(grad_fn_name(y) == "MvBackward0");
  require_values(a.mv(v), {-2, -2});
  (y * values({1, 2}, {2})).sum().backward();
  require_values(a.grad(), {1, 0, -1, 2, 0, -2});
  require_values(v.grad(), {9, 12, 15});

  tg::Generator gen(52);
  const auto mv_f = [](const Tensors& in) { return tg::mv(in[0], in[1]); };
  CHECK_GRAD(mv_f, tg::randn<double>({2, 3}, gen), tg::randn<double>({3}, gen));
  CHECK_GRAD(mv_f, tg::randn<double>({1, 1}, gen), tg::randn<double>({1}, gen));
  CHECK_GRADGRAD(mv_f, tg::randn<double>({3, 2}, gen), tg::randn<double>({2}, gen));

  CHECK_THROWS_AS(tg::mv(tg::ones<double>({2, 3}), tg::ones<double>({3, 1})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::mv(tg::ones<double>({2, 3}), tg::ones<double>({3, 1})),
                    TG_CONTAINS("mv: expects a 2-D matrix and a 1-D vector, got shapes [2, 3] and [3, 1]"));
  CHECK_THROWS_AS(tg::mv(tg::ones<double>({2, 3}), tg::ones<double>({2})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::mv(tg::ones<double>({2, 3}), tg::ones<double>({2})),
                    TG_CONTAINS("mv: shapes [2, 3] and [2] cannot be multiplied (3 != 2)"));
}

TEST_CASE("dot is the inner product of two vectors", "[linalg][dot]") {
  auto a = values({1, 2, 3}, {3}, true);
  auto b = values({4, 5, -6}, {3}, true);
  auto y = tg::dot(a, b);
  CHECK(y.shape() == tg::Shape{});
  CHECK(y.item() == -4.0);
  CHECK(grad_fn_name(y) == "DotBackward0");
  CHECK(a.dot(b).item() == -4.0);
  (y * 3).backward();
  require_values(a.grad(), {12, 15, -18});
  require_values(b.grad(), {3, 6, 9});

  tg::Generator gen(53);
  const auto dot_f = [](const Tensors& in) { return tg::dot(in[0], in[1]); };
  CHECK_GRAD(dot_f, tg::randn<double>({4}, gen), tg::randn<double>({4}, gen));
  CHECK_GRAD(dot_f, tg::randn<double>({1}, gen), tg::randn<double>({1}, gen));
  CHECK_GRADGRAD(dot_f, tg::randn<double>({3}, gen), tg::randn<double>({3}, gen));

  CHECK_THROWS_AS(tg::dot(tg::ones<double>({2, 2}), tg::ones<double>({4})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::dot(tg::ones<double>({2, 2}), tg::ones<double>({4})),
                    TG_CONTAINS("dot: expects two 1-D tensors, got shapes [2, 2] and [4]"));
  CHECK_THROWS_AS(tg::dot(tg::ones<double>({3}), tg::ones<double>({4})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::dot(tg::ones<double>({3}), tg::ones<double>({4})),
                    TG_CONTAINS("dot: the vectors have different lengths (3 and 4)"));
}

TEST_CASE("outer is the outer product of two vectors", "[linalg][outer]") {
  auto a = values({1, 2}, {2}, true);
  auto b = values({3, 4, -5}, {3}, true);
  auto y = tg::outer(a, b);
  CHECK(y.shape() == tg::Shape{2, 3});
  require_values(y, {3, 4, -5, 6, 8, -10});
  CHECK(grad_fn_name(y) == "MulBackward0");  // as PyTorch: a.reshape(-1, 1) * b
  require_values(a.outer(b), {3, 4, -5, 6, 8, -10});
  y.sum().backward();
  require_values(a.grad(), {2, 2});     // sum of b
  require_values(b.grad(), {3, 3, 3});  // sum of a

  tg::Generator gen(54);
  const auto outer_f = [](const Tensors& in) { return tg::outer(in[0], in[1]); };
  CHECK_GRAD(outer_f, tg::randn<double>({3}, gen), tg::randn<double>({2}, gen));
  CHECK_GRAD(outer_f, tg::randn<double>({1}, gen), tg::randn<double>({4}, gen));
  CHECK_GRADGRAD(outer_f, tg::randn<double>({2}, gen), tg::randn<double>({3}, gen));

  CHECK_THROWS_AS(tg::outer(tg::ones<double>({2, 1}), tg::ones<double>({3})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::outer(tg::ones<double>({2, 1}), tg::ones<double>({3})),
                    TG_CONTAINS("outer: expects two 1-D tensors, got shapes [2, 1] and [3]"));
}

// ---- trace, diagonals, triangles ----

TEST_CASE("trace sums the main diagonal", "[linalg][trace]") {
  auto m = values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3}, true);
  auto y = tg::trace(m);
  CHECK(y.shape() == tg::Shape{});
  CHECK(y.item() == 15.0);
  CHECK(grad_fn_name(y) == "TraceBackward0");
  (y * 2).backward();
  require_values(m.grad(), {2, 0, 0, 0, 2, 0, 0, 0, 2});

  auto wide = values(kA, {2, 3}, true);  // non-square: the first min(n, m) diagonal elements
  CHECK(wide.trace().item() == 6.0);
  wide.trace().backward();
  require_values(wide.grad(), {1, 0, 0, 0, 1, 0});
  CHECK(tg::trace(values(kB, {3, 2})).item() == 17.0);
  CHECK(tg::trace(tg::zeros<double>({0, 3})).item() == 0.0);

  tg::Generator gen(55);
  const auto trace_f = [](const Tensor& x) { return tg::trace(x); };
  CHECK_GRAD(trace_f, tg::randn<double>({3, 3}, gen));
  CHECK_GRAD(trace_f, tg::randn<double>({2, 4}, gen));
  CHECK_GRADGRAD(trace_f, tg::randn<double>({2, 2}, gen));
  // A differentiable backward: tr(X X) has gradient 2 X^T.
  const auto trace_sq = [](const Tensor& x) { return tg::trace(tg::matmul(x, x)); };
  CHECK_GRADGRAD(trace_sq, tg::randn<double>({3, 3}, gen));

  CHECK_THROWS_AS(tg::trace(tg::ones<double>({3})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::trace(tg::ones<double>({3})),
                    TG_CONTAINS("trace: expects a 2-D tensor (a matrix), got shape [3]"));
  CHECK_THROWS_AS(tg::trace(tg::ones<double>({2, 2, 2})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::trace(tg::ones<double>({2, 2, 2})), TG_CONTAINS("diagonal(x, 0, -2, -1).sum(-1)"));
}

TEST_CASE("diag builds a diagonal matrix from a vector", "[linalg][diag]") {
  auto v = values({1, 2}, {2}, true);
  auto d = tg::diag(v);
  CHECK(d.shape() == tg::Shape{2, 2});
  require_values(d, {1, 0, 0, 2});
  CHECK(grad_fn_name(d) == "DiagEmbedBackward0");
  require_values(v.diag(1), {0, 1, 0, 0, 0, 2, 0, 0, 0});
  require_values(tg::diag(v, -1), {0, 0, 0, 1, 0, 0, 0, 2, 0});
  (d * values({1, 2, 3, 4}, {2, 2})).sum().backward();
  require_values(v.grad(), {1, 4});  // the diagonal of the weights

  tg::Generator gen(56);
  CHECK_GRAD([](const Tensor& x) { return tg::diag(x); }, tg::randn<double>({3}, gen));
  CHECK_GRAD([](const Tensor& x) { return tg::diag(x, -2); }, tg::randn<double>({2}, gen));
  CHECK_GRADGRAD([](const Tensor& x) { return tg::diag(x, 1); }, tg::randn<double>({2}, gen));
}

TEST_CASE("diag takes the diagonal of a matrix", "[linalg][diag]") {
  auto m = values(kA, {2, 3}, true);
  auto d = tg::diag(m);
  CHECK(d.shape() == tg::Shape{2});
  require_values(d, {1, 5});
  CHECK(grad_fn_name(d) == "DiagonalBackward0");
  require_values(m.diag(1), {2, 6});
  require_values(tg::diag(m, 2), {3});
  require_values(tg::diag(m, -1), {4});
  CHECK(tg::diag(m, 3).shape() == tg::Shape{0});
  CHECK(tg::diag(m, -2).shape() == tg::Shape{0});
  (d * values({10, 20}, {2})).sum().backward();
  require_values(m.grad(), {10, 0, 0, 0, 20, 0});

  tg::Generator gen(57);
  CHECK_GRAD([](const Tensor& x) { return tg::diag(x); }, tg::randn<double>({3, 3}, gen));
  CHECK_GRAD([](const Tensor& x) { return tg::diag(x, -1); }, tg::randn<double>({3, 2}, gen));
  CHECK_GRADGRAD([](const Tensor& x) { return tg::diag(x, 1); }, tg::randn<double>({2, 3}, gen));

  CHECK_THROWS_AS(tg::diag(tg::scalar_tensor<double>(1.0)), tg::ShapeError);
  CHECK_THROWS_AS(tg::diag(tg::ones<double>({2, 2, 2})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::diag(tg::ones<double>({2, 2, 2})),
                    TG_CONTAINS("diag: expects a 1-D tensor (to build a diagonal matrix) or a 2-D tensor (to take "
                                "its diagonal), got shape [2, 2, 2]"));
}

TEST_CASE("diagonal over any two dims", "[linalg][diagonal]") {
  // x[b, i, j] = 6 b + 3 i + j
  auto x = tg::arange<double>(12).reshape({2, 2, 3}).detach().requires_grad_();
  auto d = tg::diagonal(x, 0, 1, 2);  // x[b, i, i]
  CHECK(d.shape() == tg::Shape{2, 2});
  require_values(d, {0, 4, 6, 10});
  CHECK(grad_fn_name(d) == "DiagonalBackward0");
  require_values(x.diagonal(1, -2, -1), {1, 5, 7, 11});  // x[b, i, i + 1]
  require_values(tg::diagonal(x, -1, 1, 2), {3, 9});       // x[b, 1, 0]
  require_values(tg::diagonal(x, 0, 0, 2), {0, 7, 3, 10});  // out[i, t] = x[t, i, t]
  require_values(tg::diagonal(x, 0, 2, 0), {0, 7, 3, 10});  // the same diagonal
  require_values(tg::diagonal(x), {0, 9, 1, 10, 2, 11});    // dims 0 and 1: out[j, t] = x[t, t, j]
  d.sum().backward();
  require_values(x.grad(), {1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0});

  tg::Generator gen(58);
  CHECK_GRAD([](const Tensor& t) { return tg::diagonal(t, 0, -2, -1); }, tg::randn<double>({2, 3, 3}, gen));
  CHECK_GRAD([](const Tensor& t) { return tg::diagonal(t, 1, 0, 2); }, tg::randn<double>({3, 2, 2}, gen));
  CHECK_GRADGRAD([](const Tensor& t) { return tg::diagonal(t, -1, 1, 0); }, tg::randn<double>({3, 2}, gen));

  CHECK_THROWS_AS(tg::diagonal(x, 0, 1, 1), tg::ValueError);
  CHECK_THROWS_WITH(tg::diagonal(x, 0, 1, -2),
                    TG_CONTAINS("diagonal: dim1 and dim2 must be different dimensions, both are 1"));
  CHECK_THROWS_AS(tg::diagonal(x, 0, 0, 3), tg::IndexError);
  CHECK_THROWS_WITH(tg::diagonal(x, 0, 0, 3), TG_CONTAINS("diagonal: dimension 3 is out of range"));
  CHECK_THROWS_AS(tg::diagonal(tg::ones<double>({3})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::diagonal(tg::ones<double>({3})),
                    TG_CONTAINS("diagonal: expects a tensor with at least 2 dimensions, got shape [3]"));
}

TEST_CASE("diag_embed places vectors on diagonals", "[linalg][diag_embed]") {
  auto x = values({1, 2, 3, 4}, {2, 2}, true);
  auto d = tg::diag_embed(x);  // a batch of diagonal matrices
  CHECK(d.shape() == tg::Shape{2, 2, 2});
  require_values(d, {1, 0, 0, 2, 3, 0, 0, 4});
  CHECK(grad_fn_name(d) == "DiagEmbedBackward0");
  auto e = x.diag_embed(0, 0, 2);  // out[i, j, i] = x[j, i]
  CHECK(e.shape() == tg::Shape{2, 2, 2});
  require_values(e, {1, 0, 3, 0, 0, 2, 0, 4});
  auto f = tg::diag_embed(x, -1);  // x[b] below the main diagonal of a 3 x 3 matrix
  CHECK(f.shape() == tg::Shape{2, 3, 3});
  require_values(f, {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0, 4, 0});
  // diagonal undoes diag_embed
  require_values(tg::diagonal(f, -1, -2, -1), {1, 2, 3, 4});
  (d * tg::arange<double>(8).reshape({2, 2, 2})).sum().backward();
  require_values(x.grad(), {0, 3, 4, 7});

  tg::Generator gen(59);
  CHECK_GRAD([](const Tensor& t) { return tg::diag_embed(t); }, tg::randn<double>({2, 3}, gen));
  CHECK_GRAD([](const Tensor& t) { return tg::diag_embed(t, 1, 0, -1); }, tg::randn<double>({2, 2}, gen));
  CHECK_GRADGRAD([](const Tensor& t) { return tg::diag_embed(t, -1); }, tg::randn<double>({3}, gen));

  CHECK_THROWS_AS(tg::diag_embed(tg::scalar_tensor<double>(1.0)), tg::ShapeError);
  CHECK_THROWS_WITH(tg::diag_embed(tg::scalar_tensor<double>(1.0)),
                    TG_CONTAINS("diag_embed: expects a tensor with at least 1 dimension, got a 0-d tensor"));
  CHECK_THROWS_AS(tg::diag_embed(x, 0, 1, -2), tg::ValueError);
  CHECK_THROWS_WITH(tg::diag_embed(x, 0, 1, -2), TG_CONTAINS("diag_embed: dim1 and dim2 must be different"));
  CHECK_THROWS_AS(tg::diag_embed(x, 0, 0, 3), tg::IndexError);
}

TEST_CASE("triu and tril keep a triangle", "[linalg][triu][tril]") {
  auto m = values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3}, true);
  auto u = tg::triu(m);
  require_values(u, {1, 2, 3, 0, 5, 6, 0, 0, 9});
  CHECK(grad_fn_name(u) == "TriuBackward0");
  require_values(m.triu(1), {0, 2, 3, 0, 0, 6, 0, 0, 0});
  require_values(tg::triu(m, -1), {1, 2, 3, 4, 5, 6, 0, 8, 9});
  require_values(tg::triu(m, 3), {0, 0, 0, 0, 0, 0, 0, 0, 0});
  auto l = tg::tril(m);
  require_values(l, {1, 0, 0, 4, 5, 0, 7, 8, 9});
  CHECK(grad_fn_name(l) == "TrilBackward0");
  require_values(m.tril(-1), {0, 0, 0, 4, 0, 0, 7, 8, 0});
  require_values(tg::tril(m, 1), {1, 2, 0, 4, 5, 6, 7, 8, 9});
  require_values(tg::tril(m, -3), {0, 0, 0, 0, 0, 0, 0, 0, 0});
  // batched and non-square
  require_values(tg::triu(values(concat({kA, kA}), {2, 2, 3})), {1, 2, 3, 0, 5, 6, 1, 2, 3, 0, 5, 6});
  require_values(tg::tril(values(kB, {3, 2})), {7, 0, 9, 10, 11, 12});
  (u * 2 + tg::tril(m, -1)).sum().backward();
  require_values(m.grad(), {2, 2, 2, 1, 2, 2, 1, 1, 2});

  tg::Generator gen(60);
  CHECK_GRAD([](const Tensor& x) { return tg::triu(x); }, tg::randn<double>({3, 3}, gen));
  CHECK_GRAD([](const Tensor& x) { return tg::tril(x, 1); }, tg::randn<double>({2, 2, 3}, gen));
  CHECK_GRADGRAD([](const Tensor& x) { return tg::triu(x, -1) * x; }, tg::randn<double>({3, 2}, gen));
  CHECK_GRADGRAD([](const Tensor& x) { return tg::tril(x) * x; }, tg::randn<double>({2, 2, 2}, gen));

  CHECK_THROWS_AS(tg::triu(tg::ones<double>({3})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::triu(tg::ones<double>({3})),
                    TG_CONTAINS("triu: expects a matrix or a batch of matrices (at least 2 dimensions), got "
                                "shape [3]"));
  CHECK_THROWS_AS(tg::tril(tg::scalar_tensor<double>(1.0)), tg::ShapeError);
  CHECK_THROWS_WITH(tg::tril(tg::scalar_tensor<double>(1.0)), TG_CONTAINS("tril: expects a matrix"));
}

// ---- einsum ----

namespace {
double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.data_ptr()[i] - b.data_ptr()[i]));
  return m;
}
}  // namespace

TEST_CASE("einsum: products", "[linalg][einsum]") {
  auto a = values(kA, {2, 3});
  auto b = values(kB, {3, 2});
  require_values(tg::einsum("ij,jk->ik", a, b), {58, 64, 139, 154});
  require_values(tg::einsum("ij,jk", a, b), {58, 64, 139, 154});           // implicit output "ik"
  require_values(tg::einsum(" ij , jk -> ik ", a, b), {58, 64, 139, 154});  // spaces are ignored
  require_values(tg::einsum("ij,jk->ki", a, b), {58, 139, 64, 154});
  require_values(tg::einsum("Ab,bC->AC", a, b), {58, 64, 139, 154});
  require_values(tg::einsum("ij,kj->ik", a, b.t()), {58, 64, 139, 154});  // A B^T^T
  auto u = values({1, 2, 3}, {3}), v = values({4, 5, 6}, {3});
  auto dot = tg::einsum("i,i->", u, v);
  CHECK(dot.shape() == tg::Shape{});
  CHECK(dot.item() == 32.0);
  CHECK(tg::einsum("i,i", u, v).item() == 32.0);
  require_values(tg::einsum("i,j->ij", u, values({1, -1}, {2})), {1, -1, 2, -2, 3, -3});
  require_values(tg::einsum("i,j", u, values({1, -1}, {2})), {1, -1, 2, -2, 3, -3});
  require_values(tg::einsum("i,i->i", u, v), {4, 10, 18});
  require_values(tg::einsum("ij,ij->ij", a, a), {1, 4, 9, 16, 25, 36});
  require_values(tg::einsum("ij,j->i", a, values({1, 0, -1}, {3})), {-2, -2});  // mv
  CHECK(tg::einsum("ij,ij->", a, a).item() == 91.0);                           // Frobenius inner product

  auto batch_a = values(concat({kA, kP}), {2, 2, 3}, true);
  auto batch_b = values(concat({kB, kB}), {2, 3, 2}, true);
  auto y = tg::einsum("bij,bjk->bik", batch_a, batch_b);
  require_values(y, {58, 64, 139, 154, 7, 8, 9, 10});
  CHECK(grad_fn_name(y) == "BmmBackward0");  // no permute or reshape needed
  // Three operands, contracted left to right.
  require_values(tg::einsum("ij,jk,kl->il", a, b, values({1, 0, 0, 1}, {2, 2})), {58, 64, 139, 154});
  require_values(tg::einsum<double>("i,i,i->", {u, v, values({1, 1, -1}, {3})}).reshape({1}), {-4});
  require_values(tg::einsum<double>("i,j,k->ijk", {values({1, 2}, {2}), values({3}, {1}), values({1, -1}, {2})}),
                 {3, -3, 6, -6});

  tg::Generator gen(61);
  // attention scores: [b, h, q, d] x [b, h, k, d] -> [b, h, q, k]
  auto q = tg::randn<double>({2, 3, 4, 5}, gen), k = tg::randn<double>({2, 3, 6, 5}, gen);
  auto scores = tg::einsum("bhqd,bhkd->bhqk", q, k);
  CHECK(scores.shape() == tg::Shape{2, 3, 4, 6});
  CHECK(max_abs_diff(scores, tg::matmul(q, k.transpose(-1, -2))) < 1e-12);
  auto x = tg::randn<double>({3, 4}, gen), w = tg::randn<double>({4, 2}, gen), z = tg::randn<double>({2, 5}, gen);
  CHECK(max_abs_diff(tg::einsum<double>("ij,jk,kl->il", {x, w, z}), tg::matmul(tg::matmul(x, w), z)) < 1e-12);
  // A label that only one operand has and the output lacks is summed first.
  CHECK(max_abs_diff(tg::einsum("ij,jk->k", x, w), tg::matmul(x, w).sum(0)) < 1e-12);
  CHECK(max_abs_diff(tg::einsum("ij,kl->jl", x, z), tg::outer(x.sum(0), z.sum(0))) < 1e-12);
}

TEST_CASE("einsum: one operand", "[linalg][einsum]") {
  auto m = values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3});
  require_values(tg::einsum("ij->ji", m), {1, 4, 7, 2, 5, 8, 3, 6, 9});
  require_values(tg::einsum("ba", m), {1, 4, 7, 2, 5, 8, 3, 6, 9});  // implicit output "ab": a transpose
  require_values(tg::einsum("ij", m), {1, 2, 3, 4, 5, 6, 7, 8, 9});
  require_values(tg::einsum("ii->i", m), {1, 5, 9});
  CHECK(tg::einsum("ii->", m).item() == 15.0);
  CHECK(tg::einsum("ii", m).item() == 15.0);  // implicit: a trace
  CHECK(tg::einsum("ij->", m).item() == 45.0);
  require_values(tg::einsum("ij->i", m), {6, 15, 24});
  require_values(tg::einsum("ij->j", m), {12, 15, 18});
  // a repeated label across a batch: per-matrix diagonals and traces
  auto batch = tg::arange<double>(8).reshape({2, 2, 2});
  require_values(tg::einsum("bii->bi", batch), {0, 3, 4, 7});
  require_values(tg::einsum("bii->b", batch), {3, 11});
  require_values(tg::einsum("iji->j", batch), {0 + 5, 2 + 7});  // x[0, j, 0] + x[1, j, 1]
  auto cube = tg::arange<double>(8).reshape({2, 2, 2});
  require_values(tg::einsum("iii->i", cube), {0, 7});
}

TEST_CASE("einsum: ellipsis", "[linalg][einsum]") {
  tg::Generator gen(62);
  auto a = tg::randn<double>({2, 1, 2, 3}, gen), b = tg::randn<double>({3, 3, 2}, gen);
  auto y = tg::einsum("...ij,...jk->...ik", a, b);
  CHECK(y.shape() == tg::Shape{2, 3, 2, 2});
  CHECK(max_abs_diff(y, tg::matmul(a, b)) < 1e-12);
  CHECK(max_abs_diff(tg::einsum("...ij,...jk", a, b), y) < 1e-12);  // implicit: "..." first, then "ik"
  auto m = tg::arange<double>(8).reshape({2, 2, 2});
  require_values(tg::einsum("...ii->...i", m), {0, 3, 4, 7});
  require_values(tg::einsum("i...->...", m), {4, 6, 8, 10});
  require_values(tg::einsum("...ij->ij", m), {4, 6, 8, 10});  // "..." missing from the output: summed
  require_values(tg::einsum("...->...", values({1, 2}, {2})), {1, 2});
  // an ellipsis that covers nothing
  require_values(tg::einsum("...i,...i->...", values({1, 2}, {2}), values({3, 4}, {2})).reshape({1}), {11});
  // a size-1 "..." dim that is contracted away broadcasts too
  auto p = tg::randn<double>({1, 3}, gen), q = tg::randn<double>({4, 3}, gen);
  CHECK(max_abs_diff(tg::einsum("...i,...i->i", p, q), (p * q).sum(0)) < 1e-12);
}

TEST_CASE("einsum: subscript sizes broadcast across operands", "[linalg][einsum]") {
  // As in PyTorch: a subscript's sizes must match or be 1.
  require_values(tg::einsum("i,i->i", values({2}, {1}), values({1, 2, 3}, {3})), {2, 4, 6});
  tg::Generator gen(64);
  auto a = tg::randn<double>({2, 1}, gen), b = tg::randn<double>({3, 4}, gen);
  // a contracted subscript of size 1 against 3: a[i, 0] times the column sums of b
  CHECK(max_abs_diff(tg::einsum("ij,jk->ik", a, b), a * b.sum(0, true)) < 1e-12);
  auto c = tg::randn<double>({1, 3, 2}, gen), d = tg::randn<double>({4, 2, 5}, gen);
  CHECK(max_abs_diff(tg::einsum("bij,bjk->bik", c, d), tg::matmul(c, d)) < 1e-12);
  const auto f = [](const char* eq) { return [eq](const Tensors& in) { return tg::einsum(eq, in[0], in[1]); }; };
  CHECK_GRAD(f("ij,jk->ik"), a, b);
  CHECK_GRAD(f("bij,bjk->bik"), c, d);
  CHECK_GRAD(f("i,i->"), tg::randn<double>({1}, gen), tg::randn<double>({3}, gen));
  CHECK_GRADGRAD(f("ij,jk->ik"), a, b);
  // within one operand a repeated subscript still needs equal sizes
  CHECK_THROWS_AS(tg::einsum("ii,i->i", tg::ones<double>({1, 3}), tg::ones<double>({3})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::einsum("i,ii->i", tg::ones<double>({3}), tg::ones<double>({1, 3})),
                    TG_CONTAINS("subscript 'i' is repeated in operand 1 (shape [1, 3]) with different sizes 1 and 3"));
}

TEST_CASE("einsum: gradients", "[linalg][einsum]") {
  auto a = values(kA, {2, 3}, true);
  auto b = values(kB, {3, 2}, true);
  tg::einsum("ij,jk->ik", a, b).sum().backward();
  require_values(a.grad(), {15, 19, 23, 15, 19, 23});
  require_values(b.grad(), {5, 5, 7, 7, 9, 9});
  auto m = values({1, 2, 3, 4}, {2, 2}, true);
  tg::einsum("ii", m).backward();
  require_values(m.grad(), {1, 0, 0, 1});

  tg::Generator gen(63);
  const auto f2 = [](const char* eq) { return [eq](const Tensors& in) { return tg::einsum(eq, in[0], in[1]); }; };
  const auto f1 = [](const char* eq) { return [eq](const Tensors& in) { return tg::einsum(eq, in[0]); }; };
  CHECK_GRAD(f2("bij,bjk->bik"), tg::randn<double>({2, 2, 3}, gen), tg::randn<double>({2, 3, 2}, gen));
  CHECK_GRAD(f2("ij,jk"), tg::randn<double>({2, 3}, gen), tg::randn<double>({3, 2}, gen));
  CHECK_GRAD(f2("bhqd,bhkd->bhqk"), tg::randn<double>({1, 2, 2, 3}, gen), tg::randn<double>({1, 2, 3, 3}, gen));
  CHECK_GRAD(f2("i,j->ij"), tg::randn<double>({3}, gen), tg::randn<double>({2}, gen));
  CHECK_GRAD(f2("i,i->"), tg::randn<double>({3}, gen), tg::randn<double>({3}, gen));
  CHECK_GRAD(f2("...ij,...jk->...ik"), tg::randn<double>({2, 1, 2, 2}, gen), tg::randn<double>({3, 2, 2}, gen));
  CHECK_GRAD(f2("ij,kl->jl"), tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 2}, gen));
  CHECK_GRAD(f1("ii->i"), tg::randn<double>({3, 3}, gen));
  CHECK_GRAD(f1("ij->ji"), tg::randn<double>({2, 3}, gen));
  CHECK_GRAD(f1("bii->b"), tg::randn<double>({2, 2, 2}, gen));
  CHECK_GRAD([](const Tensors& in) { return tg::einsum<double>("ij,jk,kl->il", {in[0], in[1], in[2]}); },
             tg::randn<double>({2, 3}, gen), tg::randn<double>({3, 2}, gen), tg::randn<double>({2, 2}, gen));
  CHECK_GRADGRAD(f2("bij,bjk->bik"), tg::randn<double>({2, 2, 2}, gen), tg::randn<double>({2, 2, 3}, gen));
  CHECK_GRADGRAD(f2("i,j->ij"), tg::randn<double>({2}, gen), tg::randn<double>({3}, gen));
  CHECK_GRADGRAD(f1("ii->i"), tg::randn<double>({2, 2}, gen));
  // the same tensor on both sides: x^T x
  CHECK_GRADGRAD([](const Tensor& x) { return tg::einsum("ji,jk->ik", x, x); }, tg::randn<double>({3, 2}, gen));
}

TEST_CASE("einsum: errors", "[linalg][einsum][errors]") {
  const auto m = tg::ones<double>({2, 3}), n = tg::ones<double>({3, 4});
  CHECK_THROWS_AS(tg::einsum("ij,jk->ik", m), tg::ValueError);
  CHECK_THROWS_WITH(tg::einsum("ij,jk->ik", m),
                    TG_CONTAINS("einsum: \"ij,jk->ik\" has 2 operand terms but 1 operand was given"));
  CHECK_THROWS_AS(tg::einsum("ijk,jk->ik", m, n), tg::ShapeError);
  CHECK_THROWS_WITH(tg::einsum("ijk,jk->ik", m, n),
                    TG_CONTAINS("einsum: operand 0 has shape [2, 3] (2 dimensions) but its subscripts \"ijk\" name 3"));
  CHECK_THROWS_AS(tg::einsum("i...jk,jk", m, n), tg::ShapeError);
  CHECK_THROWS_AS(tg::einsum("ij,jk->il", m, n), tg::ValueError);
  CHECK_THROWS_WITH(tg::einsum("ij,jk->il", m, n),
                    TG_CONTAINS("einsum: output subscript 'l' in \"ij,jk->il\" does not appear in any operand"));
  CHECK_THROWS_AS(tg::einsum("ij,jk->ii", m, n), tg::ValueError);
  CHECK_THROWS_WITH(tg::einsum("ij,jk->ii", m, n), TG_CONTAINS("output subscript 'i' appears more than once"));
  CHECK_THROWS_AS(tg::einsum("ij,kj->ik", m, n), tg::ShapeError);
  CHECK_THROWS_WITH(tg::einsum("ij,kj->ik", m, n),
                    TG_CONTAINS("einsum: subscript 'j' has size 3 in operand 0 but size 4 in operand 1 (shape [3, 4]); "
                                "the sizes of a subscript must match or be 1"));
  CHECK_THROWS_AS(tg::einsum("ii->i", m), tg::ShapeError);
  CHECK_THROWS_WITH(tg::einsum("ii->i", m),
                    TG_CONTAINS("einsum: subscript 'i' is repeated in operand 0 (shape [2, 3]) with different "
                                "sizes 2 and 3"));
  CHECK_THROWS_AS(tg::einsum("i2,jk", m, n), tg::ValueError);
  CHECK_THROWS_WITH(tg::einsum("i2,jk", m, n), TG_CONTAINS("einsum: invalid character '2' in \"i2,jk\""));
  CHECK_THROWS_AS(tg::einsum("i.j", m), tg::ValueError);
  CHECK_THROWS_WITH(tg::einsum("i.j", m), TG_CONTAINS("a '.' that is not part of an ellipsis '...'"));
  CHECK_THROWS_WITH(tg::einsum("...i...", m), TG_CONTAINS("has more than one '...'"));
  CHECK_THROWS_WITH(tg::einsum("ij->ij->ij", m), TG_CONTAINS("has more than one '->'"));
  CHECK_THROWS_AS(tg::einsum("...ij,...jk", tg::ones<double>({2, 2, 3}), tg::ones<double>({3, 3, 4})),
                  tg::ShapeError);
  CHECK_THROWS_WITH(tg::einsum("...ij,...jk", tg::ones<double>({2, 2, 3}), tg::ones<double>({3, 3, 4})),
                    TG_CONTAINS("einsum: the dimensions covered by '...' do not broadcast: sizes 2 and 3"));
  CHECK_THROWS_AS(tg::einsum<double>("ij", std::vector<Tensor>{}), tg::ValueError);
  CHECK_THROWS_WITH(tg::einsum<double>("ij", std::vector<Tensor>{}), TG_CONTAINS("einsum: needs at least one operand"));
}

TEST_CASE("linear algebra ops on float tensors", "[linalg][float]") {
  auto a = tg::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  auto b = tg::from_vector(std::vector<float>{7, 8, 9, 10, 11, 12}, {3, 2});
  CHECK(tg::mm(a, b).to_vector() == std::vector<float>{58, 64, 139, 154});
  CHECK(tg::einsum("ij,jk->ik", a, b).to_vector() == std::vector<float>{58, 64, 139, 154});
  CHECK(tg::einsum("ij->ji", a).to_vector() == std::vector<float>{1, 4, 2, 5, 3, 6});
  CHECK(tg::bmm(a.reshape({1, 2, 3}), b.reshape({1, 3, 2})).to_vector() == std::vector<float>{58, 64, 139, 154});
  CHECK(tg::mv(a, tg::tensor<float>({1, 0, -1})).to_vector() == std::vector<float>{-2, -2});
  CHECK(tg::dot(tg::tensor<float>({1, 2}), tg::tensor<float>({3, 4})).item() == 11.0f);
  CHECK(tg::outer(tg::tensor<float>({1, 2}), tg::tensor<float>({3})).to_vector() == std::vector<float>{3, 6});
  CHECK(tg::trace(a).item() == 6.0f);
  CHECK(tg::diag(a).to_vector() == std::vector<float>{1, 5});
  CHECK(tg::diag_embed(tg::tensor<float>({1, 2})).to_vector() == std::vector<float>{1, 0, 0, 2});
  CHECK(tg::triu(a).to_vector() == std::vector<float>{1, 2, 3, 0, 5, 6});
  CHECK(tg::tril(a).to_vector() == std::vector<float>{1, 0, 0, 4, 5, 0});

  auto x = tg::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2}, tg::requires_grad());
  tg::einsum("ij,jk->", x, x).backward();  // sum(X X): gradient 1 X^T + X^T 1
  CHECK(x.grad().to_vector() == std::vector<float>{7, 11, 9, 13});
  auto y = tg::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2}, tg::requires_grad());
  (tg::trace(y) + tg::diag(y).sum() + tg::triu(y).sum()).backward();
  CHECK(y.grad().to_vector() == std::vector<float>{3, 1, 0, 3});
}

}  // namespace ops_linalg_test

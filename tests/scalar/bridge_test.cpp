// Bridges between Tensor and Var: values both ways, and var_function, a Tensor op computed
// by a Var function, checked with gradcheck and against the same function in Tensor ops.
#include "../test_util.hpp"

#include <cmath>

#include <tapegrad/scalar/bridge.hpp>

namespace scalar_bridge_test {

using V = tg::Var<double>;

namespace {
// log N(x_i | mu, sigma) summed, with theta = (mu, log sigma, x_1 ... x_n): one scalar.
V normal_log_density(const std::vector<V>& theta) {
  const V mu = theta[0], log_sigma = theta[1], sigma = exp(log_sigma);
  V lp = 0.0;
  for (std::size_t i = 2; i < theta.size(); ++i) {
    const V z = (theta[i] - mu) / sigma;
    lp += -0.5 * z * z - log_sigma - 0.5 * std::log(2 * M_PI);
  }
  return lp;
}

Tensor normal_log_density_tensor(const Tensor& theta) {
  const Tensor mu = theta.select(0, 0), log_sigma = theta.select(0, 1);
  const Tensor x = theta.slice(0, 2, theta.numel());
  const Tensor z = (x - mu) / tg::exp(log_sigma);
  return (-0.5 * z * z - log_sigma - 0.5 * std::log(2 * M_PI)).sum();
}

// y_i = x_i * x_{i+1} (cyclic) and y_n = sum sin(x): R^n -> R^(n+1).
std::vector<V> cyclic_products(const std::vector<V>& x) {
  std::vector<V> y;
  V s = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    y.push_back(x[i] * x[(i + 1) % x.size()]);
    s += sin(x[i]);
  }
  y.push_back(s);
  return y;
}
}  // namespace

TEST_CASE("bridge: variables(tensor), to_tensor and grads_to_tensor keep row-major order", "[bridge]") {
  const Tensor t = values({1, 2, 3, 4, 5, 6}, {2, 3});
  tg::TapeScope scope;
  const std::vector<V> xs = tg::variables(t);
  REQUIRE(xs.size() == 6);
  for (std::size_t i = 0; i < xs.size(); ++i) CHECK(xs[i].val() == static_cast<double>(i + 1));
  // y = sum_k k x_k: gradient k
  V y = 0.0;
  for (std::size_t k = 0; k < xs.size(); ++k) y += static_cast<double>(k) * xs[k] * xs[k];
  y.backward();
  const Tensor g = tg::grads_to_tensor(xs, t.shape());
  CHECK(g.shape() == tg::Shape{2, 3});
  for (std::int64_t k = 0; k < 6; ++k) CHECK(g.data_ptr()[k] == 2.0 * static_cast<double>(k) * t.data_ptr()[k]);
  const Tensor v = tg::to_tensor(xs, {3, 2});
  CHECK(v.shape() == tg::Shape{3, 2});
  CHECK(v.at({2, 1}) == 6.0);
  CHECK_FALSE(v.requires_grad());
  CHECK(tg::to_tensor(xs, tg::requires_grad()).requires_grad());
  CHECK_THROWS_AS(tg::to_tensor(xs, {4, 2}), tg::ShapeError);
  CHECK_THROWS_WITH(tg::to_tensor(xs, {4, 2}), TG_CONTAINS("from_vector: 6 values cannot fill shape [4, 2]"));
}

TEST_CASE("var_function: a scalar Var log-density as a Tensor op equals the Tensor version", "[bridge]") {
  tg::Generator gen(5);
  const Tensor init = tg::randn<double>({7}, gen);
  Tensor a = init.detach().requires_grad_();
  Tensor b = init.detach().requires_grad_();

  const Tensor lp_var = tg::var_function(normal_log_density, a);
  const Tensor lp_tensor = normal_log_density_tensor(b);
  CHECK(lp_var.dim() == 0);
  CHECK(grad_fn_name(lp_var) == "VarFunctionBackward0");
  CHECK(lp_var.item() == Approx(lp_tensor.item()).epsilon(1e-14));
  (3.0 * lp_var).backward();
  (3.0 * lp_tensor).backward();
  for (std::int64_t i = 0; i < 7; ++i) {
    INFO("theta " << i);
    CHECK(a.grad().data_ptr()[i] == Approx(b.grad().data_ptr()[i]).epsilon(1e-13).margin(1e-14));
  }
  CHECK_GRAD([](const Tensor& t) { return tg::var_function(normal_log_density, t); }, init);
  // The Var tape is left as it was.
  CHECK(tg::tape().scope_depth() == 0);
}

TEST_CASE("var_function: a vector-valued f gives the vector-Jacobian product", "[bridge]") {
  tg::Generator gen(9);
  const Tensor x0 = tg::randn<double>({2, 3}, gen);
  Tensor x = x0.detach().requires_grad_();
  const Tensor y = tg::var_function(cyclic_products, x);
  REQUIRE(y.shape() == tg::Shape{7});
  const double* px = x0.data_ptr();
  for (int i = 0; i < 6; ++i) CHECK(y.data_ptr()[i] == px[i] * px[(i + 1) % 6]);
  // L = sum_i w_i y_i with w = 1..7
  const Tensor w = tg::arange<double>(1, 8);
  (y * w).sum().backward();
  for (int k = 0; k < 6; ++k) {
    // dL/dx_k = w_k x_{k+1} + w_{k-1} x_{k-1} + w_6 cos x_k
    const int next = (k + 1) % 6, prev = (k + 5) % 6;
    const double expected = (k + 1) * px[next] + (prev + 1) * px[prev] + 7 * std::cos(px[k]);
    CHECK(x.grad().data_ptr()[k] == Approx(expected).epsilon(1e-14));
  }
  CHECK_GRAD([](const Tensor& t) { return tg::var_function(cyclic_products, t); }, x0);
  // An Eigen vector of Vars works as a result too.
  auto squares = [](const std::vector<V>& v) {
    Eigen::Matrix<V, Eigen::Dynamic, 1> out(static_cast<Eigen::Index>(v.size()));
    for (std::size_t i = 0; i < v.size(); ++i) out(static_cast<Eigen::Index>(i)) = v[i] * v[i];
    return out;
  };
  CHECK_GRAD([&](const Tensor& t) { return tg::var_function(squares, t); }, x0);
}

TEST_CASE("var_function: no graph without requires_grad or under no_grad; float tensors", "[bridge]") {
  const Tensor x = values({0.5, -1.0, 2.0}, {3});
  const Tensor y = tg::var_function(normal_log_density, x);
  CHECK_FALSE(y.requires_grad());
  Tensor xg = x.detach().requires_grad_();
  {
    tg::NoGradGuard no_grad;
    CHECK_FALSE(tg::var_function(normal_log_density, xg).requires_grad());
  }
  tg::Tensor<float> xf = tg::from_vector<float>({1.0f, 2.0f}, tg::requires_grad());
  auto product = [](const std::vector<tg::Var<float>>& v) { return v[0] * v[1] * v[1]; };
  tg::var_function(product, xf).backward();
  CHECK(xf.grad().data_ptr()[0] == 4.0f);
  CHECK(xf.grad().data_ptr()[1] == 4.0f);
}

TEST_CASE("var_function: second derivatives are refused, not silently zero", "[bridge]") {
  Tensor x = values({0.3, 0.7}, {2}, true);
  const Tensor y = tg::var_function([](const std::vector<V>& v) { return v[0] * v[0] * v[1]; }, x);
  const auto g = tg::grad({y}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true);
  // The first derivative is right ...
  CHECK(g[0].data_ptr()[0] == Approx(2 * 0.3 * 0.7));
  CHECK(g[0].data_ptr()[1] == Approx(0.3 * 0.3));
  // ... and differentiating it again throws.
  CHECK_THROWS_AS(g[0].sum().backward(), tg::GraphError);
  CHECK_THROWS_WITH(tg::grad({g[0].sum()}, {x}), TG_CONTAINS("VarFunctionBackward0 is once_differentiable"));
}

TEST_CASE("var_function: an f that changes its number of outputs between forward and backward", "[bridge]") {
  int calls = 0;
  auto unstable = [&calls](const std::vector<V>& v) {
    std::vector<V> out(v.begin(), v.end());
    if (++calls > 1) out.push_back(v[0]);
    return out;
  };
  Tensor x = values({1, 2}, {2}, true);
  const Tensor y = tg::var_function(unstable, x);
  CHECK_THROWS_AS(y.sum().backward(), tg::GraphError);
  CHECK(tg::tape().scope_depth() == 0);
  calls = 0;
  const Tensor y2 = tg::var_function(unstable, x);
  CHECK_THROWS_WITH(y2.sum().backward(), TG_CONTAINS("f returned 2 outputs in forward but 3"));
}

}  // namespace scalar_bridge_test

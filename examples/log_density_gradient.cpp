// The gradient of a hierarchical normal model's log-density, two ways: written as scalar
// loops and differentiated by tg::Var, and written with Tensor ops and differentiated by
// backward(). Both are checked against each other, against a hand-derived gradient and
// against central differences. A third way mixes them: the scalar loops become one Tensor
// op with tg::var_function, for a Tensor model that has one scalar-loop piece.
//
// The model (J groups, n_j observations in group j, observation noise sigma known):
//   mu      ~ Normal(0, 5)
//   tau     ~ half-Cauchy(0, 5), sampled as log tau (unconstrained)
//   theta_j ~ Normal(mu, tau)                 j = 1..J
//   y_ij    ~ Normal(theta_j, sigma)          i = 1..n_j
// Parameters q = (mu, log tau, theta_1, ..., theta_J). Working in log tau, the density of
// log tau is p(tau) |d tau / d log tau| = p(tau) tau, so the log-density gains + log tau
// (the log Jacobian). Normalising constants are kept, so both versions give the true
// log-density.
#include <tapegrad/scalar.hpp>
#include <tapegrad/scalar/bridge.hpp>  // tg::var_function: the scalar loops as one Tensor op
#include <tapegrad/tapegrad.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "check.hpp"

namespace tg = tapegrad;
using example::check;
using Tensor = tg::Tensor<double>;

constexpr double kPi = 3.14159265358979323846;
constexpr double kHalfLog2Pi = 0.91893853320467274178;  // log(2 pi) / 2
constexpr double kMuScale = 5;                           // mu ~ Normal(0, 5)
constexpr double kTauScale = 5;                          // tau ~ half-Cauchy(0, 5)

struct Data {
  std::vector<std::vector<double>> y;  // y[j]: the observations of group j
  double sigma;                        // the known observation noise
};

// ---- 1. Scalar loops, one template for double and tg::Var<double> ----

// log Normal(x | mean, sd) = -((x - mean)/sd)^2 / 2 - log sd - log(2 pi)/2
template <typename X>
X normal_lpdf(const X& x, const X& mean, const X& sd) {
  using std::log;
  const X z = (x - mean) / sd;
  return -0.5 * z * z - log(sd) - kHalfLog2Pi;
}

// q = (mu, log tau, theta_1..theta_J): an Eigen vector of double or of Var.
template <typename Vector>
typename Vector::Scalar log_density(const Vector& q, const Data& data) {
  using X = typename Vector::Scalar;
  using std::exp;
  using std::log1p;
  const X mu = q(0), log_tau = q(1);
  const X tau = exp(log_tau);
  X lp = normal_lpdf(mu, X(0.0), X(kMuScale));
  // half-Cauchy: log p(tau) = log(2 / (pi s)) - log(1 + (tau/s)^2); plus log tau, the Jacobian
  const X tau_scaled = tau / kTauScale;
  lp += std::log(2 / (kPi * kTauScale)) - log1p(tau_scaled * tau_scaled) + log_tau;
  for (std::size_t j = 0; j < data.y.size(); ++j) {
    const X theta = q(2 + static_cast<Eigen::Index>(j));
    lp += normal_lpdf(theta, mu, tau);
    for (double y : data.y[j]) lp += normal_lpdf(X(y), theta, X(data.sigma));
  }
  return lp;
}

// ---- 2. The same model with Tensor ops ----

// The observations flattened, with the group of each one, for the vectorised version.
struct FlatData {
  Tensor y;
  tg::Tensor<std::int64_t> group;
};

FlatData flatten(const Data& data) {
  std::vector<double> y;
  std::vector<std::int64_t> group;
  for (std::size_t j = 0; j < data.y.size(); ++j)
    for (double value : data.y[j]) {
      y.push_back(value);
      group.push_back(static_cast<std::int64_t>(j));
    }
  return {tg::from_vector(y), tg::from_vector(group)};
}

// mu, log_tau: 0-d tensors; theta: [J]. Sums over groups and observations are reductions.
Tensor log_density(const Tensor& mu, const Tensor& log_tau, const Tensor& theta, const FlatData& flat, double sigma) {
  const double groups = static_cast<double>(theta.numel()), observations = static_cast<double>(flat.y.numel());
  const Tensor tau = log_tau.exp();
  const Tensor lp_mu = -0.5 * (mu / kMuScale).square() - std::log(kMuScale) - kHalfLog2Pi;
  const Tensor lp_tau = std::log(2 / (kPi * kTauScale)) - (tau / kTauScale).square().log1p() + log_tau;
  // sum_j log Normal(theta_j | mu, tau) = -sum_j ((theta_j - mu)/tau)^2 / 2 - J (log tau + log(2 pi)/2)
  const Tensor lp_theta = -0.5 * ((theta - mu) / tau).square().sum() - groups * (tau.log() + kHalfLog2Pi);
  // theta_of_obs[k] = theta[group[k]]: the group lookup; its backward adds back per group
  const Tensor theta_of_obs = tg::index_select(theta, 0, flat.group);
  const Tensor lp_y = -0.5 * ((flat.y - theta_of_obs) / sigma).square().sum() -
                      observations * (std::log(sigma) + kHalfLog2Pi);
  return lp_mu + lp_tau + lp_theta + lp_y;
}

struct TensorResult {
  double value;
  Eigen::VectorXd gradient;
};

TensorResult tensor_value_and_gradient(const Eigen::VectorXd& q, const FlatData& flat, double sigma) {
  const Eigen::Index groups = q.size() - 2;
  auto mu = tg::scalar_tensor<double>(q(0), tg::requires_grad());
  auto log_tau = tg::scalar_tensor<double>(q(1), tg::requires_grad());
  auto theta = tg::from_vector(std::vector<double>(q.data() + 2, q.data() + q.size()), tg::requires_grad());
  const Tensor lp = log_density(mu, log_tau, theta, flat, sigma);
  lp.backward();
  Eigen::VectorXd g(q.size());
  g(0) = mu.grad().item();
  g(1) = log_tau.grad().item();
  const std::vector<double> dtheta = theta.grad().to_vector();
  for (Eigen::Index j = 0; j < groups; ++j) g(2 + j) = dtheta[static_cast<std::size_t>(j)];
  return {lp.item(), g};
}

// ---- 3. References: the gradient by hand, and central differences ----

// With tau = exp(log tau):
//   d/d mu      = -mu/25 + sum_j (theta_j - mu)/tau^2
//   d/d log tau = 1 - 2 tau^2/(25 + tau^2) - J + sum_j (theta_j - mu)^2/tau^2
//   d/d theta_j = -(theta_j - mu)/tau^2 + sum_i (y_ij - theta_j)/sigma^2
Eigen::VectorXd analytic_gradient(const Eigen::VectorXd& q, const Data& data) {
  const double mu = q(0), tau = std::exp(q(1)), tau2 = tau * tau, sigma2 = data.sigma * data.sigma;
  const double s2 = kTauScale * kTauScale;
  Eigen::VectorXd g(q.size());
  g(0) = -mu / (kMuScale * kMuScale);
  g(1) = 1 - 2 * tau2 / (s2 + tau2) - static_cast<double>(data.y.size());
  for (std::size_t j = 0; j < data.y.size(); ++j) {
    const Eigen::Index k = 2 + static_cast<Eigen::Index>(j);
    const double diff = q(k) - mu;
    g(0) += diff / tau2;
    g(1) += diff * diff / tau2;
    g(k) = -diff / tau2;
    for (double y : data.y[j]) g(k) += (y - q(k)) / sigma2;
  }
  return g;
}

// (f(q + h e_i) - f(q - h e_i)) / 2h: error O(h^2) from truncation plus O(eps |f| / h).
Eigen::VectorXd central_differences(const Eigen::VectorXd& q, const Data& data) {
  Eigen::VectorXd g(q.size());
  for (Eigen::Index i = 0; i < q.size(); ++i) {
    const double h = 1e-5 * std::max(1.0, std::fabs(q(i)));
    Eigen::VectorXd plus = q, minus = q;
    plus(i) += h;
    minus(i) -= h;
    g(i) = (log_density(plus, data) - log_density(minus, data)) / (2 * h);
  }
  return g;
}

// max_i |a_i - b_i| / max(1, |b_i|): relative for components above 1 in size, absolute below.
double max_error(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  return ((a - b).array().abs() / b.array().abs().max(1.0)).maxCoeff();
}

int main() {
  // Eight groups of 1 to 8 observations (made up, drawn around mu = 4, tau = 3, sigma = 2).
  const Data data{{{4.3, 2.8, 2.6},
                   {0.8, 3.4, 2.1, 3.3, 1.7},
                   {5.6, 1.9},
                   {7.6, 7.6, 3.2, 3.1, 4.8, 5.6, 7.2, 6.5},
                   {4.3, 6.2, 6.4, 4.2},
                   {10.3, 11.5, 7.9, 7.7, 8.5, 8.9},
                   {6.4},
                   {0.7, 1.6, 5.1, 1.0, 3.1, 3.5, -0.3}},
                  2.0};
  const FlatData flat = flatten(data);
  const auto model = [&](const auto& q) { return log_density(q, data); };

  // Two points: a typical one, and the neck of the funnel (tau = e^-3 = 0.05), where the
  // theta_j crowd around mu and the gradient in log tau is large.
  Eigen::VectorXd typical(10), neck(10);
  typical << 4.2, 0.9, 3.1, 2.4, 3.7, 5.6, 5.2, 8.8, 5.9, 2.2;
  neck << 4.0, -3.0, 4.03, 3.95, 4.02, 4.06, 3.99, 4.04, 3.98, 4.0;
  const struct {
    const char* name;
    const Eigen::VectorXd& q;
  } points[] = {{"typical point (tau = exp(0.9))", typical}, {"funnel neck (tau = exp(-3))", neck}};

  const char* names[] = {"mu", "log tau", "theta_1", "theta_2", "theta_3", "theta_4",
                         "theta_5", "theta_6", "theta_7", "theta_8"};
  for (const auto& point : points) {
    const auto [var_value, var_grad] = tg::value_and_gradient(model, point.q);  // tg::Var, one reverse sweep
    const TensorResult tensor = tensor_value_and_gradient(point.q, flat, data.sigma);
    const Eigen::VectorXd analytic = analytic_gradient(point.q, data);
    const Eigen::VectorXd numeric = central_differences(point.q, data);

    std::printf("\n%s: log p = %.15g (Var loops), %.15g (Tensor ops)\n", point.name, var_value, tensor.value);
    std::printf("%-8s %22s %22s %22s %22s\n", "param", "Var (scalar loops)", "Tensor ops", "analytic",
                "central difference");
    for (Eigen::Index i = 0; i < point.q.size(); ++i)
      std::printf("%-8s %22.15g %22.15g %22.15g %22.12g\n", names[i], var_grad(i), tensor.gradient(i), analytic(i),
                  numeric(i));

    const double value_error = std::fabs(var_value - tensor.value) / std::fabs(tensor.value);
    const double tensor_error = max_error(var_grad, tensor.gradient);
    const double analytic_error = std::max(max_error(var_grad, analytic), max_error(tensor.gradient, analytic));
    const double numeric_error = std::max(max_error(var_grad, numeric), max_error(tensor.gradient, numeric));
    char what[200];
    std::snprintf(what, sizeof what, "%s: Var and Tensor log-densities agree (relative error %.1e <= 1e-12)",
                  point.name, value_error);
    check(value_error <= 1e-12, what);
    std::snprintf(what, sizeof what, "%s: Var and Tensor gradients agree (error %.1e <= 1e-12)", point.name,
                  tensor_error);
    check(tensor_error <= 1e-12, what);
    std::snprintf(what, sizeof what, "%s: both match the hand-derived gradient (error %.1e <= 1e-12)", point.name,
                  analytic_error);
    check(analytic_error <= 1e-12, what);
    std::snprintf(what, sizeof what, "%s: both match central differences (error %.1e <= 1e-6)", point.name,
                  numeric_error);
    check(numeric_error <= 1e-6, what);

    // The scalar loops as a Tensor op: theta is a tensor leaf, backward() fills its grad.
    Tensor q = tg::from_eigen(point.q, tg::requires_grad());
    const Tensor lp = tg::var_function(
        [&](const std::vector<tg::Var<double>>& v) {
          return log_density(Eigen::Map<const Eigen::Matrix<tg::Var<double>, Eigen::Dynamic, 1>>(
                                 v.data(), static_cast<Eigen::Index>(v.size())),
                             data);
        },
        q);
    lp.backward();
    const Eigen::VectorXd bridged = Eigen::Map<const Eigen::VectorXd>(q.grad().data_ptr(), point.q.size());
    const double bridge_error = max_error(bridged, var_grad);
    std::snprintf(what, sizeof what, "%s: tg::var_function (the loops as a Tensor op) gives the same gradient "
                  "(error %.1e <= 1e-15)", point.name, bridge_error);
    check(lp.item() == var_value && bridge_error <= 1e-15, what);
  }
  std::printf("\n(gradient errors are max_i |a_i - b_i| / max(1, |b_i|): relative above 1, absolute below)\n");

  // What each costs for this small model (36 observations); no assertion, shared machines are noisy.
  double sink = 0;
  const int repeats = 2000;
  const double var_us = 1e6 * example::best_time(repeats, [&] { sink += tg::gradient(model, typical)(1); });
  const double tensor_us =
      1e6 * example::best_time(repeats, [&] { sink += tensor_value_and_gradient(typical, flat, data.sigma).gradient(1); });
  const double plain_us = 1e6 * example::best_time(repeats, [&] { sink += log_density(typical, data); });
  std::printf("time per call (best of %d): log-density in double %.2f us, gradient by Var %.2f us (%.1fx), "
              "by Tensor ops %.2f us (%.1fx)  (checksum %.6g)\n",
              repeats, plain_us, var_us, var_us / plain_us, tensor_us, tensor_us / plain_us, sink);
  return example::finish();
}

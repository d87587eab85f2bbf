// Black–Scholes Greeks by adjoint AD, and a Monte Carlo pricer with pathwise Greeks.
//
// Part 1. The price of a European call is written once, as a template over the scalar.
// One reverse sweep over a recording in tg::Var<double> gives delta, vega, rho and theta;
// gamma (and vanna) come from forward-over-reverse, tg::Dual<tg::Var<double>>. Each is
// compared with its closed form.
//
// Part 2. A Monte Carlo pricer of 100,000 paths, also written once for double and Var:
// one reverse sweep per batch of paths gives the batch's pathwise delta and vega. They
// are checked against a hand-written pathwise estimator on the same paths and against the
// closed forms (within 4 standard errors); the time of price + gradient against the
// price alone is printed.
//
// Conventions: T is the time to expiry in years, r the continuously compounded rate, sigma
// the volatility. Theta is the change of the price as calendar time passes, so
// theta = -dC/dT (negative for a call on a non-dividend stock).
#include <tapegrad/scalar.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "check.hpp"

namespace tg = tapegrad;
using example::check;
using Var = tg::Var<double>;

constexpr double kInvSqrt2 = 0.70710678118654752440;    // 1/sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1/sqrt(2 pi)

// N(x) = erfc(-x/sqrt(2)) / 2: erfc keeps the left tail that 1 - N(-x) would round to 0.
template <typename X>
X normal_cdf(const X& x) {
  using std::erfc;
  return 0.5 * erfc(-x * kInvSqrt2);
}

// C = S N(d1) - K exp(-rT) N(d2),  d1 = (log(S/K) + (r + sigma^2/2) T) / (sigma sqrt T),
// d2 = d1 - sigma sqrt T. X is double, Var, or Dual<Var>: the same code for all three.
template <typename X>
X call_price(const X& spot, const X& strike, const X& rate, const X& vol, const X& expiry) {
  using std::exp;
  using std::log;
  using std::sqrt;
  const X vol_sqrt_t = vol * sqrt(expiry);
  const X d1 = (log(spot / strike) + (rate + 0.5 * vol * vol) * expiry) / vol_sqrt_t;
  const X d2 = d1 - vol_sqrt_t;
  return spot * normal_cdf(d1) - strike * exp(-rate * expiry) * normal_cdf(d2);
}

struct Market {
  const char* name;
  double spot, strike, rate, vol, expiry;
};

struct Greeks {
  double delta, vega, rho, theta, gamma, vanna;
};

// The textbook closed forms (phi is the standard normal density):
//   delta = N(d1)                    gamma = phi(d1) / (S sigma sqrt T)
//   vega  = S phi(d1) sqrt T         rho   = K T exp(-rT) N(d2)
//   theta = -S phi(d1) sigma / (2 sqrt T) - r K exp(-rT) N(d2)
//   vanna = d delta / d sigma = -phi(d1) d2 / sigma
Greeks closed_form(const Market& m) {
  const double sqrt_t = std::sqrt(m.expiry);
  const double d1 = (std::log(m.spot / m.strike) + (m.rate + 0.5 * m.vol * m.vol) * m.expiry) / (m.vol * sqrt_t);
  const double d2 = d1 - m.vol * sqrt_t;
  const double phi_d1 = kInvSqrt2Pi * std::exp(-0.5 * d1 * d1);
  const double discount = std::exp(-m.rate * m.expiry);
  Greeks g{};
  g.delta = normal_cdf(d1);
  g.vega = m.spot * phi_d1 * sqrt_t;
  g.rho = m.strike * m.expiry * discount * normal_cdf(d2);
  g.theta = -m.spot * phi_d1 * m.vol / (2 * sqrt_t) - m.rate * m.strike * discount * normal_cdf(d2);
  g.gamma = phi_d1 / (m.spot * m.vol * sqrt_t);
  g.vanna = -phi_d1 * d2 / m.vol;
  return g;
}

Greeks adjoint_greeks(const Market& m) {
  Greeks g{};
  {
    // First order: one recording, one reverse sweep, every input's derivative at once.
    tg::TapeScope scope;
    const Var spot = tg::variable(m.spot), strike = tg::variable(m.strike), rate = tg::variable(m.rate),
              vol = tg::variable(m.vol), expiry = tg::variable(m.expiry);
    const Var price = call_price(spot, strike, rate, vol, expiry);
    price.backward();
    g.delta = spot.grad();
    g.vega = vol.grad();
    g.rho = rate.grad();
    g.theta = -expiry.grad();  // theta = -dC/dT (see the top of the file)
  }
  {
    // Second order, forward over reverse: seed the Dual tangent of the spot with 1. The
    // price's tangent is then dC/dS as a recorded Var, and one reverse sweep of it gives
    // d/dx (dC/dS) for every input x: gamma for x = S, vanna for x = sigma.
    using DualVar = tg::Dual<Var>;
    tg::TapeScope scope;
    const Var spot = tg::variable(m.spot), strike = tg::variable(m.strike), rate = tg::variable(m.rate),
              vol = tg::variable(m.vol), expiry = tg::variable(m.expiry);
    const DualVar price = call_price<DualVar>(DualVar(spot, 1.0), strike, rate, vol, expiry);
    price.tangent().backward();
    g.gamma = spot.grad();
    g.vanna = vol.grad();
  }
  return g;
}

// ---- Monte Carlo -------------------------------------------------------------------

// The sum over paths of max(S_T - K, 0), with S_T = S exp((r - sigma^2/2) T + sigma sqrt(T) z).
// Written once: X = double prices, X = Var records the paths for a reverse sweep. The
// payoff is Lipschitz and its kink at S_T = K has probability 0, so the pathwise
// derivative 1{S_T > K} dS_T/dx is an unbiased estimator of the Greek.
// fmax rather than `if (S_T > K)`: about half the paths end in the money, at random, and
// the branch mispredicted so often that the plain-double loop ran 3x slower with it
// (GCC 12: 1.56 against 0.49 ms), which would flatter the gradient's ratio.
template <typename X>
X payoff_sum(const X& spot, const X& vol, double strike, double rate, double expiry, const double* z, std::size_t n) {
  using std::exp;
  using std::fmax;
  const X drift = (rate - 0.5 * vol * vol) * expiry;
  const X vol_sqrt_t = vol * std::sqrt(expiry);
  X sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const X terminal = spot * exp(drift + vol_sqrt_t * z[i]);
    sum += fmax(terminal - strike, 0.0);
  }
  return sum;
}

struct Estimate {
  double price = 0, delta = 0, vega = 0;
};

// Price only, in plain double.
double mc_price(const Market& m, const std::vector<double>& z) {
  const double sum = payoff_sum(m.spot, m.vol, m.strike, m.rate, m.expiry, z.data(), z.size());
  return std::exp(-m.rate * m.expiry) * sum / static_cast<double>(z.size());
}

// Price, delta and vega: each batch of paths is recorded in its own TapeScope (so the tape
// never holds more than one batch) and swept once; the batch gradients are summed.
Estimate mc_price_and_greeks(const Market& m, const std::vector<double>& z, std::size_t batch) {
  double price_sum = 0, delta_sum = 0, vega_sum = 0;
  for (std::size_t first = 0; first < z.size(); first += batch) {
    tg::TapeScope scope;
    const Var spot = tg::variable(m.spot), vol = tg::variable(m.vol);
    const Var sum = payoff_sum(spot, vol, m.strike, m.rate, m.expiry, z.data() + first,
                               std::min(batch, z.size() - first));
    sum.backward();
    price_sum += sum.val();
    delta_sum += spot.grad();
    vega_sum += vol.grad();
  }
  const double scale = std::exp(-m.rate * m.expiry) / static_cast<double>(z.size());
  return {scale * price_sum, scale * delta_sum, scale * vega_sum};
}

// The same estimators written by hand, per path, with their standard errors:
//   d S_T / d S = S_T / S,   d S_T / d sigma = S_T (sqrt(T) z - sigma T).
struct HandEstimate {
  Estimate mean, standard_error;
};

HandEstimate mc_by_hand(const Market& m, const std::vector<double>& z) {
  const double discount = std::exp(-m.rate * m.expiry), sqrt_t = std::sqrt(m.expiry);
  double sum[3] = {0, 0, 0}, sum_sq[3] = {0, 0, 0};
  for (double zi : z) {
    const double terminal = m.spot * std::exp((m.rate - 0.5 * m.vol * m.vol) * m.expiry + m.vol * sqrt_t * zi);
    double sample[3] = {0, 0, 0};  // discounted payoff, pathwise delta, pathwise vega
    if (terminal > m.strike) {
      sample[0] = discount * (terminal - m.strike);
      sample[1] = discount * terminal / m.spot;
      sample[2] = discount * terminal * (sqrt_t * zi - m.vol * m.expiry);
    }
    for (int k = 0; k < 3; ++k) {
      sum[k] += sample[k];
      sum_sq[k] += sample[k] * sample[k];
    }
  }
  const double n = static_cast<double>(z.size());
  double mean[3], se[3];
  for (int k = 0; k < 3; ++k) {
    mean[k] = sum[k] / n;
    se[k] = std::sqrt((sum_sq[k] / n - mean[k] * mean[k]) / (n - 1));  // sample sd / sqrt(n)
  }
  return {{mean[0], mean[1], mean[2]}, {se[0], se[1], se[2]}};
}

bool within(double ad, double exact, double tol) {
  return std::fabs(ad - exact) <= tol * std::max(1.0, std::fabs(exact));
}

int main() {
  // ---- Part 1: analytic price, Greeks by adjoint AD against the closed forms ----
  const Market markets[] = {
      {"at the money, 1y", 100, 100, 0.05, 0.20, 1.00},
      {"in the money, 6m", 110, 100, 0.03, 0.25, 0.50},
      {"deep in the money", 200, 100, 0.02, 0.15, 0.25},
      {"deep out of the money", 50, 100, 0.01, 0.20, 0.50},
      {"out of the money, 5y", 80, 100, 0.04, 0.60, 5.00},
  };
  // Tolerance 1e-10, absolute for Greeks below 1 in size and relative above (vega and rho
  // are tens): |AD - closed form| <= 1e-10 max(1, |closed form|).
  const double tol = 1e-10;
  std::printf("Greeks of a European call: adjoint AD (Var; gamma, vanna by Dual<Var>) against closed forms\n");
  std::printf("theta = -dC/dT, T = time to expiry; tolerance |AD - exact| <= 1e-10 max(1, |exact|)\n\n");
  std::printf("  %-6s %24s %24s %10s\n", "greek", "adjoint AD", "closed form", "|diff|");
  for (const Market& m : markets) {
    const double price = call_price(m.spot, m.strike, m.rate, m.vol, m.expiry);
    std::printf("%s: S=%g K=%g r=%g sigma=%g T=%g, price %.12g\n", m.name, m.spot, m.strike, m.rate, m.vol, m.expiry,
                price);
    const Greeks ad = adjoint_greeks(m), exact = closed_form(m);
    const struct {
      const char* name;
      double ad, exact;
    } rows[] = {{"delta", ad.delta, exact.delta}, {"vega", ad.vega, exact.vega},   {"rho", ad.rho, exact.rho},
                {"theta", ad.theta, exact.theta}, {"gamma", ad.gamma, exact.gamma}, {"vanna", ad.vanna, exact.vanna}};
    bool all_close = true;
    double worst = 0;
    for (const auto& row : rows) {
      std::printf("  %-6s %24.16g %24.16g %10.2e\n", row.name, row.ad, row.exact, std::fabs(row.ad - row.exact));
      all_close = all_close && within(row.ad, row.exact, tol);
      worst = std::max(worst, std::fabs(row.ad - row.exact) / std::max(1.0, std::fabs(row.exact)));
    }
    char what[160];
    std::snprintf(what, sizeof what, "%s: delta, vega, rho, theta, gamma, vanna match the closed forms (worst %.1e)",
                  m.name, worst);
    check(all_close, what);
  }

  // The same second order with the library's helper: tg::hessian runs the
  // forward-over-reverse sweep above once per input and returns the whole 5 x 5 matrix of
  // second derivatives in (S, K, r, sigma, T); gamma is H(0, 0), vanna H(0, 3).
  {
    const Market& m = markets[0];
    Eigen::VectorXd inputs(5);
    inputs << m.spot, m.strike, m.rate, m.vol, m.expiry;
    const Eigen::MatrixXd H = tg::hessian(
        [](const auto& x) { return call_price(x(0), x(1), x(2), x(3), x(4)); }, inputs);
    const Greeks exact = closed_form(m);
    std::printf("\ntg::hessian, %s: gamma %.16g, vanna %.16g, symmetric to %.1e\n", m.name, H(0, 0), H(0, 3),
                (H - H.transpose()).cwiseAbs().maxCoeff());
    check(within(H(0, 0), exact.gamma, tol) && within(H(0, 3), exact.vanna, tol) &&
              within(H(3, 0), exact.vanna, tol),
          "tg::hessian of the price: gamma = H(S, S) and vanna = H(S, sigma) = H(sigma, S) match the closed forms");
  }

  // ---- Part 2: Monte Carlo with pathwise delta and vega by reverse sweeps ----
  const Market mc_market = {"at the money, 1y", 100, 100, 0.05, 0.20, 1.00};
  const std::size_t paths = 100000, batch = 1000;
  // The normal draws are made once, up front, so the timings below compare pricing only.
  std::mt19937_64 rng(20240521);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> z(paths);
  for (double& zi : z) zi = normal(rng);

  const Estimate ad = mc_price_and_greeks(mc_market, z, batch);
  const HandEstimate hand = mc_by_hand(mc_market, z);
  const Greeks exact = closed_form(mc_market);
  const double exact_price = call_price(mc_market.spot, mc_market.strike, mc_market.rate, mc_market.vol,
                                        mc_market.expiry);
  std::printf("\nMonte Carlo, %zu paths (seed 20240521), %s: one reverse sweep per batch of %zu paths\n", paths,
              mc_market.name, batch);
  std::printf("%-6s %16s %16s %12s %12s %10s\n", "", "MC (Var AD)", "closed form", "std error", "|diff|/SE",
              "AD - hand");
  const struct {
    const char* name;
    double ad, hand, se, exact;
  } rows[] = {{"price", ad.price, hand.mean.price, hand.standard_error.price, exact_price},
              {"delta", ad.delta, hand.mean.delta, hand.standard_error.delta, exact.delta},
              {"vega", ad.vega, hand.mean.vega, hand.standard_error.vega, exact.vega}};
  for (const auto& row : rows) {
    const double z_score = std::fabs(row.ad - row.exact) / row.se;
    std::printf("%-6s %16.10f %16.10f %12.2e %12.2f %10.1e\n", row.name, row.ad, row.exact, row.se, z_score,
                row.ad - row.hand);
    check(std::fabs(row.ad - row.hand) <= 1e-12 * std::fabs(row.hand),
          std::string("MC ") + row.name + " by AD equals the hand-written pathwise estimator (1e-12 relative)");
    check(z_score < 4, std::string("MC ") + row.name + " is within 4 standard errors of the closed form");
  }

  // Timing: the best of several runs of each (no assertion: shared machines are noisy).
  const int repeats = 15;
  double sink = 0;  // keeps the compiler from dropping the timed work
  const double price_ms = 1e3 * example::best_time(repeats, [&] { sink += mc_price(mc_market, z); });
  const double grad_ms = 1e3 * example::best_time(repeats, [&] { sink += mc_price_and_greeks(mc_market, z, batch).vega; });
  const double grad_big_ms = 1e3 * example::best_time(repeats, [&] { sink += mc_price_and_greeks(mc_market, z, 10 * batch).vega; });
  std::printf("\nwall time for %zu paths (best of %d runs; the normal draws are not timed):\n", paths, repeats);
  std::printf("  price only (double):                                 %8.3f ms\n", price_ms);
  std::printf("  price + delta + vega (Var, batches of %5zu paths):   %8.3f ms   ratio %.2fx\n", batch, grad_ms,
              grad_ms / price_ms);
  std::printf("  price + delta + vega (Var, batches of %5zu paths):   %8.3f ms   ratio %.2fx\n", 10 * batch,
              grad_big_ms, grad_big_ms / price_ms);
  {
    // What one batch puts on the tape (the tape is empty out here: every recording above
    // was inside a TapeScope).
    tg::TapeScope scope;
    const Var spot = tg::variable(mc_market.spot), vol = tg::variable(mc_market.vol);
    sink += payoff_sum(spot, vol, mc_market.strike, mc_market.rate, mc_market.expiry, z.data(), batch).val();
    const tg::TapeStats stats = tg::tape().stats();
    std::printf("  tape per path: %.2f variables, %.1f bytes (%zu bytes for a batch of %zu paths)\n",
                static_cast<double>(stats.variables) / batch, static_cast<double>(stats.operand_bytes) / batch,
                stats.operand_bytes, batch);
  }
  std::printf("  (checksum %.6g)\n", sink);
  return example::finish();
}

// Includes only <tapegrad/core.hpp> and calls every method Tensor declares (core/tensor.hpp).
// The methods are defined in the op headers; this program proves core.hpp brings every one
// of them, so a call that compiles also links (x.softmax(0) once compiled and then failed to
// link with core.hpp alone). scripts/check_consumers.sh compiles and runs it.
#include <tapegrad/core.hpp>

#include <cmath>
#include <cstdio>
#include <limits>

namespace tg = tapegrad;
using Tensor = tg::Tensor<double>;

namespace {

int failures = 0;

void expect_close(const char* what, double got, double expected) {
  if (std::abs(got - expected) <= 1e-9 * (1 + std::abs(expected))) return;
  std::printf("every_method: %s = %.12g, expected %.12g\n", what, got, expected);
  ++failures;
}

}  // namespace

int main() {
  const Tensor m = tg::from_vector<double>({0.5, 0.25, 0.75, 0.125}, {2, 2});  // in (0, 1): every function's domain
  const Tensor spd = tg::from_vector<double>({4, 1, 1, 3}, {2, 2});
  const Tensor v = tg::from_vector<double>({0.5, 0.25});
  const tg::Tensor<std::int64_t> index = tg::from_vector<std::int64_t>({1, 0});
  const tg::Tensor<std::int64_t> index2 = tg::from_vector<std::int64_t>({1, 0, 0, 1}, {2, 2});
  const tg::Tensor<bool> mask = m > 0.3;
  double total = 0;
  const auto add = [&](const Tensor& t) { total += t.sum().item(); };

  // ops as methods (tensor_methods.hpp)
  for (const Tensor& t : {m.clone(), -m, m.exp(), m.log(), m.sqrt(), m.abs(), m.sin(), m.cos(), m.tanh(), m.sigmoid(),
                          m.relu(), m.sign(), m.pow(2.0), m.pow(m), m.sum(), m.sum(0, true), m.mean(), m.mean(1),
                          m.max(), m.min(), m.max(0).values, m.min(1).values, m.norm(), m.matmul(m), m.transpose(0, 1),
                          m.t(), m.permute({1, 0}), m.unsqueeze(0).squeeze(), m.unsqueeze(0).squeeze(0), m.flatten(),
                          m.reshape({4}), m.view({4}), v.expand({2, 2}), m.sum_to({1, 2})})
    add(t);
  // elementwise (unary.hpp, activation.hpp)
  for (const Tensor& t : {m.clamp(0.2, 0.6), m.clamp_min(0.3), m.clamp_max(0.3), m.floor(), m.ceil(), m.round(),
                          m.round(1), m.trunc(), m.expm1(), m.log1p(), m.log2(), m.log10(), m.exp2(), m.rsqrt(),
                          m.reciprocal(), m.square(), m.tan(), m.asin(), m.acos(), m.atan(), m.atan2(m), m.sinh(),
                          m.cosh(), (m + 1.0).acosh(), m.asinh(), m.atanh(), m.erf(), m.erfc(), m.lgamma(), m.digamma(),
                          m.polygamma(1)})
    add(t);
  // reductions (reduction.hpp, softmax.hpp, cumulative.hpp)
  const std::vector<std::int64_t> both{0, 1};
  for (const Tensor& t : {m.sum(both), m.sum({0, 1}), m.mean(both), m.mean({0}), m.prod(), m.prod(0), m.var(), m.var(1),
                          m.var(both), m.var({0, 1}), m.std(), m.std(0), m.std(both), m.std({1}), m.amax(), m.amax(0),
                          m.amax(both), m.amax({1}), m.amin(), m.amin(1), m.amin(both), m.amin({0}), m.norm(1),
                          m.norm(2, 0), m.norm(1.5, both), m.norm(3, {0, 1}), m.norm("fro"), m.norm("fro", 1),
                          m.norm("fro", both), m.norm("fro", {0, 1}), m.logsumexp(0), m.logsumexp(both),
                          m.logsumexp({1}), m.softmax(0), m.log_softmax(1), m.cumsum(0), m.cumprod(1)})
    add(t);
  total += static_cast<double>(m.argmax().item() + m.argmax(0).at({0}) + m.argmin().item() + m.argmin(1, true).at({0, 0}));
  // indexing and comparison (indexing.hpp, compare.hpp)
  for (const Tensor& t : {m.masked_fill(mask, 2.0), m.maximum(m.t()), m.minimum(m.t()), m.slice(0, 1), m.narrow(1, 0, 1),
                          m.select(0, 1), m.index_select(0, index), m.gather(1, index2), m.repeat({2, 1}), m.flip({0})})
    add(t);
  total += m.to<float>().sum().item();
  for (const auto& parts : {m.split(1), m.chunk(2, 1), m.unbind(0)})
    for (const Tensor& t : parts) add(t);
  // linear algebra (linalg.hpp, decomposition.hpp)
  const Tensor batch = m.unsqueeze(0);
  for (const Tensor& t : {m.mm(m), batch.bmm(batch), m.mv(v), v.dot(v), v.outer(v), m.trace(), m.diag(), m.diagonal(),
                          v.diag_embed(), m.triu(), m.tril(-1), spd.inverse(), spd.det(), spd.logdet(), m.matrix_exp(),
                          spd.cholesky(), spd.cholesky_solve(spd.cholesky())})
    add(t);
  // in-place (inplace.hpp), on tensors no graph has seen
  Tensor w = m.clone();
  w.add_(m).add_(1.0).sub_(m, 0.5).sub_(0.25).mul_(m).mul_(2.0).div_(m + 1.0).div_(3.0);
  w.clamp_(0.0, 1.0).relu_();
  w += m;
  w -= m;
  w *= m;
  w /= (m + 1.0);
  w += 1.0;
  w -= 1.0;
  w *= 2.0;
  w /= 2.0;
  add(w);
  Tensor z = m.clone();
  z.copy_(m).zero_().fill_(0.5);
  add(z);
  // data, autograd, hooks
  const Tensor leaf = m.clone().requires_grad_();
  const Tensor y = leaf.tanh();
  y.retain_grad();
  auto handle = leaf.register_hook([](const Tensor& g) { return g * 2.0; });
  (y * y).sum().backward();
  handle.remove();
  if (!y.retains_grad()) ++failures;
  // d/dx tanh(x)^2 = 2 tanh(x) (1 - tanh(x)^2), doubled by the hook
  const double t00 = std::tanh(0.5);
  expect_close("hooked gradient", leaf.grad().at({0, 0}), 2 * 2 * t00 * (1 - t00 * t00));
  Tensor cleared = leaf.detach().clone().requires_grad_();
  (cleared * 3.0).sum().backward();
  cleared.zero_grad();
  expect_close("zero_grad", cleared.grad().sum().item(), 0);
  cleared.set_grad(Tensor());
  Tensor written = m.clone();
  written.set({0, 1}, 9.0);
  expect_close("set", written.at({0, 1}), 9.0);
  total += static_cast<double>(m.to_eigen().size() + m.numel() + m.size(-1) + static_cast<std::int64_t>(m.version()) +
                               static_cast<std::int64_t>(y.output_nr()) + (y.is_leaf() ? 1 : 0) +
                               (y.grad_fn() ? 1 : 0) + static_cast<std::int64_t>(m.to_vector().size()) +
                               (m.data_ptr() ? 1 : 0));

  if (!std::isfinite(total)) {
    std::printf("every_method: the sum of every method's result is not finite\n");
    ++failures;
  }
  std::printf("every_method: %s (checksum %.6f)\n", failures == 0 ? "ok" : "FAILED", total);
  return failures == 0 ? 0 : 1;
}

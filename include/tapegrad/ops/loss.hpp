#pragma once
// Loss functions (torch.nn.functional), each with reduction none / mean / sum.
//
// Composed from recorded primitives, so gradients and second derivatives come from
// theirs. Inputs and targets must have the same shape (no silent broadcasting of a
// [N] target against a [N, 1] input); class targets are Tensor<std::int64_t>.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../core.hpp"
#include "activation.hpp"
#include "compare.hpp"
#include "indexing.hpp"
#include "softmax.hpp"

namespace tapegrad {

// How per-element losses are combined. batchmean (sum / batch size) is kl_div's.
enum class Reduction { none, mean, sum, batchmean };

namespace detail {

inline const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::none: return "none";
    case Reduction::mean: return "mean";
    case Reduction::sum: return "sum";
    case Reduction::batchmean: return "batchmean";
  }
  return "?";
}

template <typename T>
Tensor<T> reduce_loss(const char* op, const Tensor<T>& loss, Reduction reduction) {
  switch (reduction) {
    case Reduction::none: return loss;
    case Reduction::sum: return sum(loss);
    case Reduction::mean: return mean(loss);
    case Reduction::batchmean: break;
  }
  fail<ValueError>(op, ": reduction 'batchmean' is only for kl_div; use none, mean or sum");
}

template <typename T>
void check_same_shape(const char* op, const Tensor<T>& input, const Tensor<T>& target) {
  if (input.shape() != target.shape())
    fail<ShapeError>(op, ": the input has shape ", show(input.shape()), " but the target has shape ",
                     show(target.shape()), "; they must match (reshape one, e.g. target.reshape(",
                     show(input.shape()), "))");
}

}  // namespace detail

// mean of (x - y)^2
template <typename T>
Tensor<T> mse_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction = Reduction::mean) {
  detail::check_same_shape("mse_loss", input, target);
  const Tensor<T> d = input - target;
  return detail::reduce_loss("mse_loss", d * d, reduction);
}

// mean of |x - y|.  NOTE: the gradient at x == y is 0 (abs'(0) = 0), as in PyTorch.
template <typename T>
Tensor<T> l1_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction = Reduction::mean) {
  detail::check_same_shape("l1_loss", input, target);
  return detail::reduce_loss("l1_loss", abs(input - target), reduction);
}

// 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta  (d = x - y)
template <typename T>
Tensor<T> smooth_l1_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction = Reduction::mean,
                         detail::type_identity_t<T> beta = T(1)) {
  detail::check_same_shape("smooth_l1_loss", input, target);
  if (!(beta >= 0)) detail::fail<ValueError>("smooth_l1_loss: beta must be non-negative, got ", beta);
  const Tensor<T> d = input - target;
  const Tensor<T> ad = abs(d);
  if (beta == T(0)) return detail::reduce_loss("smooth_l1_loss", ad, reduction);
  return detail::reduce_loss("smooth_l1_loss", where(ad < beta, d * d * (T(0.5) / beta), ad - T(0.5) * beta),
                             reduction);
}

// 0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta)
template <typename T>
Tensor<T> huber_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction = Reduction::mean,
                     detail::type_identity_t<T> delta = T(1)) {
  detail::check_same_shape("huber_loss", input, target);
  if (!(delta > 0)) detail::fail<ValueError>("huber_loss: delta must be positive, got ", delta);
  const Tensor<T> d = input - target;
  const Tensor<T> ad = abs(d);
  return detail::reduce_loss("huber_loss", where(ad <= delta, d * d * T(0.5), (ad - T(0.5) * delta) * delta),
                             reduction);
}

// -(y log p + (1 - y) log(1 - p)) for probabilities p in [0, 1]; each log is clamped
// at -100, as in PyTorch, so p = 0 or 1 gives a finite loss.
template <typename T>
Tensor<T> binary_cross_entropy(const Tensor<T>& input, const Tensor<T>& target, const Tensor<T>& weight = Tensor<T>(),
                               Reduction reduction = Reduction::mean) {
  detail::check_same_shape("binary_cross_entropy", input, target);
  const T* p = input.data_ptr();
  for (std::int64_t i = 0, n = input.numel(); i < n; ++i)
    if (!(p[i] >= 0 && p[i] <= 1))
      detail::fail<ValueError>("binary_cross_entropy: input values must be probabilities in [0, 1], got ", p[i],
                               " at element ", i, "; for raw scores use binary_cross_entropy_with_logits");
  Tensor<T> loss = empty<T>(input.shape());
  const T* t = target.data_ptr();
  T* out = loss.data_ptr();
  for (std::int64_t i = 0, n = input.numel(); i < n; ++i)
    out[i] = -(t[i] * std::max(std::log(p[i]), T(-100)) + (T(1) - t[i]) * std::max(std::log1p(-p[i]), T(-100)));
  // dl/dp = (p - t) / (p (1 - p)), with p (1 - p) clamped at 1e-12 as PyTorch does: at a
  // saturated p (sigmoid(40) is 1 in double) the gradient stays finite instead of the
  // 0 * inf = nan the clamped logs' chain rule would give. dl/dt = log(1 - p) - log p,
  // each log clamped at -100 as in the forward.
  loss = record(loss, "BinaryCrossEntropyBackward0", {input, target}, [sp = save(input), st = save(target)](Grads<T>& g) {
    const Tensor<T> pv = g[sp];
    if (g.needs(0)) g.in[0] = g.out * (pv - g[st]) / maximum(pv * (T(1) - pv), scalar_tensor<T>(T(1e-12)));
    if (g.needs(1)) {
      const Tensor<T> floor = scalar_tensor<T>(T(-100));
      g.in[1] = g.out * (maximum(log(T(1) - pv), floor) - maximum(log(pv), floor));
    }
  });
  if (weight.defined()) loss = loss * weight;
  return detail::reduce_loss("binary_cross_entropy", loss, reduction);
}

// Binary cross-entropy of sigmoid(x) against y, computed from the logits x so it
// stays exact for |x| in the thousands:
//   loss = (1 - y) x - (1 + (pos_weight - 1) y) log_sigmoid(x)
// pos_weight (broadcast over the last dim, one per class) weighs the positive term.
template <typename T>
Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& input, const Tensor<T>& target,
                                           const Tensor<T>& weight = Tensor<T>(), Reduction reduction = Reduction::mean,
                                           const Tensor<T>& pos_weight = Tensor<T>()) {
  detail::check_same_shape("binary_cross_entropy_with_logits", input, target);
  if (pos_weight.defined() && !detail::broadcastable_to(pos_weight.shape(), input.shape()))
    detail::fail<ShapeError>("binary_cross_entropy_with_logits: pos_weight of shape ",
                             detail::show(pos_weight.shape()), " cannot be broadcast to the input's shape ",
                             detail::show(input.shape()));
  const Tensor<T> log_weight = pos_weight.defined() ? (pos_weight - T(1)) * target + T(1) : Tensor<T>();
  const Tensor<T> nll = log_sigmoid(input);
  Tensor<T> loss = (T(1) - target) * input - (log_weight.defined() ? log_weight * nll : nll);
  if (weight.defined()) loss = loss * weight;
  return detail::reduce_loss("binary_cross_entropy_with_logits", loss, reduction);
}

namespace detail {

// Moves the class dim (1) last and flattens: [N, C, d...] -> [N * d..., C]; a [C]
// input (one sample) becomes [1, C].
// An index tensor with a new shape (same elements).
inline Tensor<std::int64_t> reshape_index(const Tensor<std::int64_t>& index, Shape shape) {
  return Tensor<std::int64_t>(alias_impl(*index.impl(), std::move(shape)));
}

template <typename T>
Tensor<T> classes_last(const Tensor<T>& x) {
  if (x.dim() == 1) return reshape(x, {1, -1});
  if (x.dim() == 2) return x;
  std::vector<std::int64_t> perm{0};
  for (std::int64_t d = 2; d < x.dim(); ++d) perm.push_back(d);
  perm.push_back(1);
  return reshape(permute(x, perm), {-1, x.shape()[1]});
}

inline void check_class_target(const char* op, const Shape& input, const Shape& target) {
  Shape expected;
  if (input.size() >= 2) {
    expected.push_back(input[0]);
    expected.insert(expected.end(), input.begin() + 2, input.end());
  }
  if (input.empty() || target != expected)
    fail<ShapeError>(op, ": class-index targets need shape ", show(expected), " for an input of shape ", show(input),
                     " ([N, C, d...] input, [N, d...] target; [C] input, [] target); got ", show(target));
}

// The negative log-likelihood of log-probabilities `logp` ([M, C]) at class ids,
// with class weights and ignore_index; returns per-sample losses [M] and their weights.
template <typename T>
std::pair<Tensor<T>, Tensor<T>> nll_rows(const char* op, const Tensor<T>& logp, const Tensor<std::int64_t>& target,
                                         const Tensor<T>& weight, std::int64_t ignore_index) {
  const std::int64_t m = logp.shape()[0], classes = logp.shape()[1];
  if (weight.defined() && weight.shape() != Shape{classes})
    fail<ShapeError>(op, ": the class weight has shape ", show(weight.shape()), ", expected [", classes, "]");
  std::vector<std::int64_t> ids(static_cast<std::size_t>(m));
  std::vector<T> kept(static_cast<std::size_t>(m));
  const std::int64_t* pt = target.data_ptr();
  for (std::int64_t i = 0; i < m; ++i) {
    const bool ignored = pt[i] == ignore_index;
    if (!ignored && (pt[i] < 0 || pt[i] >= classes))
      fail<IndexError>(op, ": target ", pt[i], " at position ", i, " is out of range for ", classes,
                       " classes (expected [0, ", classes - 1, "] or ignore_index ", ignore_index, ")");
    ids[static_cast<std::size_t>(i)] = ignored ? 0 : pt[i];
    kept[static_cast<std::size_t>(i)] = ignored ? T(0) : T(1);
  }
  const Tensor<std::int64_t> index = from_vector(ids, Shape{m});
  // Each sample's weight: its class's weight (differentiable), 0 when ignored.
  Tensor<T> w = from_vector(kept, Shape{m});
  if (weight.defined()) w = index_select(weight, 0, index) * w;
  const Tensor<T> picked = reshape(gather(logp, 1, reshape_index(index, Shape{m, 1})), {m});
  return {-picked * w, w};
}

// none: per-sample losses in the target's shape; sum: their sum; mean: divided by
// the total weight of the non-ignored samples (PyTorch's weighted mean).
template <typename T>
Tensor<T> reduce_weighted(const char* op, const Tensor<T>& losses, const Tensor<T>& weights, const Shape& shape,
                          Reduction reduction) {
  switch (reduction) {
    case Reduction::none: return reshape(losses, shape);
    case Reduction::sum: return sum(losses);
    case Reduction::mean: return sum(losses) / sum(weights);
    case Reduction::batchmean: break;
  }
  fail<ValueError>(op, ": reduction 'batchmean' is only for kl_div; use none, mean or sum");
}

}  // namespace detail

// nll_loss(logp, target): -logp[i, target[i]], for log-probabilities of shape [N, C]
// (or [N, C, d...], or [C]) and class ids [N] ([N, d...], []). Samples whose target
// is ignore_index add nothing and do not count in the mean.
template <typename T>
Tensor<T> nll_loss(const Tensor<T>& input, const Tensor<std::int64_t>& target, const Tensor<T>& weight = Tensor<T>(),
                   std::int64_t ignore_index = -100, Reduction reduction = Reduction::mean) {
  detail::check_class_target("nll_loss", input.shape(), target.shape());
  const auto [losses, weights] = detail::nll_rows("nll_loss", detail::classes_last(input), target, weight, ignore_index);
  return detail::reduce_weighted("nll_loss", losses, weights, target.shape(), reduction);
}

// cross_entropy(logits, target) = nll_loss(log_softmax(logits, 1), target), with
// label smoothing eps: (1 - eps) nll + eps / C * sum_c (-w_c log p_c).
template <typename T>
Tensor<T> cross_entropy(const Tensor<T>& input, const Tensor<std::int64_t>& target,
                        const Tensor<T>& weight = Tensor<T>(), std::int64_t ignore_index = -100,
                        Reduction reduction = Reduction::mean, double label_smoothing = 0.0) {
  detail::check_class_target("cross_entropy", input.shape(), target.shape());
  if (!(label_smoothing >= 0 && label_smoothing <= 1))
    detail::fail<ValueError>("cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
  const Tensor<T> logp = log_softmax(detail::classes_last(input), 1);
  const auto [losses, weights] = detail::nll_rows("cross_entropy", logp, target, weight, ignore_index);
  Tensor<T> out = detail::reduce_weighted("cross_entropy", losses, weights, target.shape(), reduction);
  if (label_smoothing == 0) return out;
  // The smoothing term -sum_c w_c log p_c per non-ignored sample. Its mean follows
  // PyTorch (1.12 on): over the total class weight of the kept samples when weighted,
  // else over the number of kept samples (ignored ones do not count, as in nll's mean).
  const std::int64_t classes = logp.shape()[1];
  const Tensor<T> kept = reshape(cast<T>(ne(target, ignore_index)), {logp.shape()[0]});
  const Tensor<T> smooth_rows = -sum(weight.defined() ? logp * weight : logp, 1) * kept;
  Tensor<T> smooth;
  if (reduction == Reduction::mean)
    smooth = sum(smooth_rows) / (weight.defined() ? sum(weights) : sum(kept));
  else
    smooth = detail::reduce_weighted("cross_entropy", smooth_rows, weights, target.shape(), reduction);
  const T eps = static_cast<T>(label_smoothing);
  return out * (T(1) - eps) + smooth * (eps / static_cast<T>(classes));
}

// cross_entropy with class probabilities as the target (same shape as the input):
// -sum_c y_c log_softmax(x)_c per sample.
template <typename T>
Tensor<T> cross_entropy(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction = Reduction::mean,
                        double label_smoothing = 0.0) {
  detail::check_same_shape("cross_entropy", input, target);
  if (!(label_smoothing >= 0 && label_smoothing <= 1))
    detail::fail<ValueError>("cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
  const std::int64_t class_dim = input.dim() == 1 ? 0 : 1;
  const T classes = static_cast<T>(input.shape()[static_cast<std::size_t>(class_dim)]);
  const T eps = static_cast<T>(label_smoothing);
  const Tensor<T> y = eps == T(0) ? target : target * (T(1) - eps) + eps / classes;
  return detail::reduce_loss("cross_entropy", -sum(log_softmax(input, class_dim) * y, class_dim), reduction);
}

// kl_div(input, target): target (log target - input), where input holds
// log-probabilities and target probabilities (log-probabilities with log_target).
// Terms with target = 0 are 0. Use Reduction::batchmean for the true KL divergence.
template <typename T>
Tensor<T> kl_div(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction = Reduction::mean,
                 bool log_target = false) {
  detail::check_same_shape("kl_div", input, target);
  Tensor<T> loss;
  if (log_target) {
    loss = exp(target) * (target - input);
  } else {
    // xlogy: 0 log 0 = 0, and no nan gradient flows from the masked branch.
    const Tensor<bool> positive = target > T(0);
    const Tensor<T> safe = where(positive, target, T(1));
    loss = where(positive, target * (log(safe) - input), T(0));
  }
  if (reduction == Reduction::batchmean) {
    const T batch = input.dim() == 0 ? T(1) : static_cast<T>(input.shape()[0]);
    return sum(loss) / batch;
  }
  return detail::reduce_loss("kl_div", loss, reduction);
}

// cos(x1, x2) along dim = x1.x2 / sqrt(max(|x1|^2 |x2|^2, eps^2))
template <typename T>
Tensor<T> cosine_similarity(const Tensor<T>& x1, const Tensor<T>& x2, std::int64_t dim = 1,
                            detail::type_identity_t<T> eps = T(1e-8)) {
  const Shape shape = detail::broadcast_shapes("cosine_similarity", x1.shape(), x2.shape());
  detail::wrap_dim("cosine_similarity", dim, shape.size());
  // Broadcast first, as PyTorch does: the norms are over the broadcast vectors, so
  // cos([[1, 1]], [[1]], 1) compares [1, 1] with [1, 1] and is 1.
  const Tensor<T> a = x1.shape() == shape ? x1 : expand(x1, shape);
  const Tensor<T> b = x2.shape() == shape ? x2 : expand(x2, shape);
  const Tensor<T> dot = sum(a * b, dim);
  const Tensor<T> n1 = sum(a * a, dim), n2 = sum(b * b, dim);
  return dot / sqrt(maximum(n1 * n2, scalar_tensor<T>(eps * eps)));
}

// y = 1: 1 - cos(x1, x2);  y = -1: max(0, cos(x1, x2) - margin). x1, x2 are [N, D].
template <typename T>
Tensor<T> cosine_embedding_loss(const Tensor<T>& x1, const Tensor<T>& x2, const Tensor<T>& target,
                                detail::type_identity_t<T> margin = T(0), Reduction reduction = Reduction::mean) {
  if (x1.shape() != x2.shape() || x1.dim() < 1 || x1.dim() > 2 ||
      target.shape() != (x1.dim() == 2 ? Shape{x1.shape()[0]} : Shape{}))
    detail::fail<ShapeError>("cosine_embedding_loss: expects x1, x2 of one shape [N, D] (or [D]) and a target of "
                             "shape [N] (or []); got ", detail::show(x1.shape()), ", ", detail::show(x2.shape()), ", ",
                             detail::show(target.shape()));
  const T* pt = target.data_ptr();
  for (std::int64_t i = 0; i < target.numel(); ++i)
    if (pt[i] != T(1) && pt[i] != T(-1))
      detail::fail<ValueError>("cosine_embedding_loss: targets must be 1 or -1, got ", pt[i]);
  const Tensor<T> cos = cosine_similarity(x1, x2, -1, T(1e-12));
  const Tensor<T> loss = where(target > T(0), T(1) - cos, relu(cos - margin));
  return detail::reduce_loss("cosine_embedding_loss", loss, reduction);
}

// max(0, -y (x1 - x2) + margin), y in {1, -1}: x1 should rank above x2 when y = 1.
template <typename T>
Tensor<T> margin_ranking_loss(const Tensor<T>& x1, const Tensor<T>& x2, const Tensor<T>& target,
                              detail::type_identity_t<T> margin = T(0), Reduction reduction = Reduction::mean) {
  detail::check_same_shape("margin_ranking_loss", x1, x2);
  detail::check_same_shape("margin_ranking_loss", x1, target);
  return detail::reduce_loss("margin_ranking_loss", relu(-target * (x1 - x2) + margin), reduction);
}

}  // namespace tapegrad

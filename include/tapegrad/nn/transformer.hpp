#pragma once
// Attention layers: MultiheadAttention and TransformerEncoderLayer (post-norm, or
// pre-norm with norm_first), with PyTorch's parameter names and initialization.
//
//   tg::nn::MultiheadAttentionOptions o; o.batch_first = true;
//   tg::nn::MultiheadAttention<float> mha(64, 8, o);
//   auto [out, weights] = mha.forward(x, x, x, key_padding_mask);   // x [N, L, 64]
//   tg::nn::TransformerEncoderLayerOptions lo; lo.dim_feedforward = 256; lo.batch_first = true;
//   tg::nn::TransformerEncoderLayer<float> layer(64, 8, lo);
//   auto y = layer.forward(x, Tensor<bool>(), key_padding_mask);
//
// Masks are boolean with true = "may not attend" (PyTorch's convention for bool masks):
// key_padding_mask [N, S] drops padded keys, attn_mask [L, S] or [N * heads, L, S] drops
// pairs. A float attn_mask is added to the scores instead.

#include "container.hpp"
#include "dropout.hpp"
#include "linear.hpp"
#include "normalization.hpp"
#include "../ops/compare.hpp"
#include "../ops/softmax.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <utility>

namespace tapegrad::nn {

struct MultiheadAttentionOptions {
  double dropout = 0.0;      // on the attention weights, in training
  bool bias = true;          // in_proj_bias and out_proj.bias
  bool batch_first = false;  // [N, L, E] instead of PyTorch's default [L, N, E]
};

template <typename T>
struct AttentionOutput {
  Tensor<T> output;   // like the query
  Tensor<T> weights;  // [N, L, S] averaged over heads (or [N, heads, L, S]); undefined without need_weights
};

template <typename T>
class MultiheadAttention : public Module<T> {
 public:
  Tensor<T> in_proj_weight, in_proj_bias;  // [3E, E], [3E]: q, k, v stacked
  std::shared_ptr<Linear<T>> out_proj;

  MultiheadAttention(std::int64_t embed_dim, std::int64_t num_heads, MultiheadAttentionOptions options = {})
      : Module<T>("MultiheadAttention"), embed_(embed_dim), heads_(num_heads), options_(options) {
    detail::check_positive_size("MultiheadAttention", "embed_dim", embed_dim);
    detail::check_positive_size("MultiheadAttention", "num_heads", num_heads);
    if (embed_dim % num_heads != 0)
      detail::fail<ValueError>("MultiheadAttention: embed_dim (", embed_dim, ") must be divisible by num_heads (",
                               num_heads, ")");
    if (!(options.dropout >= 0 && options.dropout <= 1))
      detail::fail<ValueError>("MultiheadAttention: dropout must be in [0, 1], got ", options.dropout);
    // PyTorch: xavier_uniform_ on in_proj_weight (fan_in = E, fan_out = 3E), zero biases.
    Tensor<T> w = empty<T>({3 * embed_dim, embed_dim});
    detail::fill_uniform(w, std::sqrt(6.0 / static_cast<double>(embed_dim + 3 * embed_dim)));
    in_proj_weight = this->register_parameter("in_proj_weight", w);
    if (options.bias) in_proj_bias = this->register_parameter("in_proj_bias", zeros<T>({3 * embed_dim}));
    out_proj = this->register_module("out_proj", std::make_shared<Linear<T>>(embed_dim, embed_dim, options.bias));
    if (options.bias) {
      NoGradGuard no_grad;
      out_proj->bias.zero_();
    }
  }

  using Module<T>::forward;
  // Self-attention without masks: forward(x, x, x).output.
  Tensor<T> forward(const Tensor<T>& x) override { return forward(x, x, x, Tensor<bool>(), false).output; }

  AttentionOutput<T> forward(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                             const Tensor<bool>& key_padding_mask = Tensor<bool>(), bool need_weights = true,
                             const Tensor<bool>& attn_mask = Tensor<bool>(), bool average_attn_weights = true) {
    return attend(query, key, value, key_padding_mask, need_weights, mask_to_additive(attn_mask),
                  average_attn_weights);
  }
  AttentionOutput<T> forward(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                             const Tensor<bool>& key_padding_mask, bool need_weights, const Tensor<T>& attn_mask,
                             bool average_attn_weights = true) {
    return attend(query, key, value, key_padding_mask, need_weights, attn_mask, average_attn_weights);
  }

  std::string extra_repr() const override { return ""; }

 private:
  static Tensor<T> mask_to_additive(const Tensor<bool>& mask) {
    if (!mask.defined()) return Tensor<T>();
    Tensor<T> out = zeros<T>(mask.shape());
    const bool* m = mask.data_ptr();
    T* o = out.data_ptr();
    for (std::int64_t i = 0; i < out.numel(); ++i) o[i] = m[i] ? -std::numeric_limits<T>::infinity() : T(0);
    return out;
  }

  AttentionOutput<T> attend(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                            const Tensor<bool>& key_padding_mask, bool need_weights, const Tensor<T>& attn_mask,
                            bool average) {
    const bool batched = query.dim() == 3;
    if (!(query.dim() == 3 || query.dim() == 2) || key.dim() != query.dim() || value.dim() != query.dim() ||
        query.shape().back() != embed_ || key.shape().back() != embed_ || value.shape().back() != embed_)
      detail::fail<ShapeError>("MultiheadAttention: query, key and value must be 3-D (", options_.batch_first ? "[N, L, E]" : "[L, N, E]",
                               ") or unbatched 2-D [L, E] with E = ", embed_, "; got ", detail::show(query.shape()),
                               ", ", detail::show(key.shape()), ", ", detail::show(value.shape()));
    // To [N, L, E].
    auto batch_major = [&](const Tensor<T>& t) {
      if (!batched) return unsqueeze(t, 0);
      return options_.batch_first ? t : transpose(t, 0, 1);
    };
    const Tensor<T> q_in = batch_major(query), k_in = batch_major(key), v_in = batch_major(value);
    const std::int64_t n = q_in.size(0), l = q_in.size(1), s = k_in.size(1), d = embed_ / heads_;
    if (k_in.size(0) != n || v_in.size(0) != n || v_in.size(1) != s)
      detail::fail<ShapeError>("MultiheadAttention: key and value must have the query's batch size and the same length; got ",
                               detail::show(query.shape()), ", ", detail::show(key.shape()), ", ",
                               detail::show(value.shape()));
    const std::vector<Tensor<T>> w = chunk(in_proj_weight, 3, 0);
    std::vector<Tensor<T>> b(3);
    if (in_proj_bias.defined()) b = chunk(in_proj_bias, 3, 0);
    // [N, L, E] -> [N, heads, L, d]
    auto split_heads = [&](const Tensor<T>& t, std::int64_t len) {
      return transpose(reshape(t, {n, len, heads_, d}), 1, 2);
    };
    const Tensor<T> q = split_heads(linear(q_in, w[0], b[0]), l);
    const Tensor<T> k = split_heads(linear(k_in, w[1], b[1]), s);
    const Tensor<T> v = split_heads(linear(v_in, w[2], b[2]), s);
    // softmax(q k^T / sqrt(d) + mask) v
    Tensor<T> scores = matmul(q, transpose(k, -2, -1)) * static_cast<T>(1.0 / std::sqrt(static_cast<double>(d)));
    if (attn_mask.defined()) {
      if (attn_mask.dim() == 2 && attn_mask.shape() == Shape{l, s}) {
        scores = scores + attn_mask;
      } else if (attn_mask.dim() == 3 && attn_mask.shape() == Shape{n * heads_, l, s}) {
        scores = scores + reshape(attn_mask, {n, heads_, l, s});
      } else {
        detail::fail<ShapeError>("MultiheadAttention: attn_mask must be [L, S] = [", l, ", ", s, "] or [N * heads, L, S] = [",
                                 n * heads_, ", ", l, ", ", s, "], got ", detail::show(attn_mask.shape()));
      }
    }
    if (key_padding_mask.defined()) {
      const Shape expected = batched ? Shape{n, s} : Shape{s};
      if (key_padding_mask.shape() != expected)
        detail::fail<ShapeError>("MultiheadAttention: key_padding_mask must be ", detail::show(expected), ", got ",
                                 detail::show(key_padding_mask.shape()));
      scores = scores + reshape(mask_to_additive(key_padding_mask), {n, 1, 1, s});
    }
    Tensor<T> attn = softmax(scores, -1);
    const Tensor<T> attn_used = dropout(attn, options_.dropout, this->is_training());
    Tensor<T> out = reshape(transpose(matmul(attn_used, v), 1, 2), {n, l, embed_});  // heads back together
    out = out_proj->forward(out);
    if (!batched) {
      out = squeeze(out, 0);
    } else if (!options_.batch_first) {
      out = transpose(out, 0, 1);
    }
    AttentionOutput<T> result{out, Tensor<T>()};
    if (need_weights) {
      Tensor<T> weights = average ? mean(attn, 1) : attn;
      result.weights = batched ? weights : squeeze(weights, 0);
    }
    return result;
  }

  std::int64_t embed_, heads_;
  MultiheadAttentionOptions options_;
};

struct TransformerEncoderLayerOptions {
  std::int64_t dim_feedforward = 2048;
  double dropout = 0.1;
  std::string activation = "relu";  // or "gelu"
  double layer_norm_eps = 1e-5;
  bool batch_first = false;
  bool norm_first = false;  // pre-norm: x + sa(norm1(x)); post-norm (default): norm1(x + sa(x))
  bool bias = true;
};

template <typename T>
class TransformerEncoderLayer : public Module<T> {
 public:
  std::shared_ptr<MultiheadAttention<T>> self_attn;
  std::shared_ptr<Linear<T>> linear1, linear2;
  std::shared_ptr<Dropout<T>> dropout, dropout1, dropout2;
  std::shared_ptr<LayerNorm<T>> norm1, norm2;

  TransformerEncoderLayer(std::int64_t d_model, std::int64_t nhead, TransformerEncoderLayerOptions options = {})
      : Module<T>("TransformerEncoderLayer"), options_(options) {
    if (options.activation != "relu" && options.activation != "gelu")
      detail::fail<ValueError>("TransformerEncoderLayer: activation must be \"relu\" or \"gelu\", got \"",
                               options.activation, "\"");
    MultiheadAttentionOptions mha;
    mha.dropout = options.dropout;
    mha.bias = options.bias;
    mha.batch_first = options.batch_first;
    // Registration order is PyTorch's, so state dicts list the same keys in the same order.
    self_attn = this->register_module("self_attn", std::make_shared<MultiheadAttention<T>>(d_model, nhead, mha));
    linear1 = this->register_module("linear1", std::make_shared<Linear<T>>(d_model, options.dim_feedforward, options.bias));
    dropout = this->register_module("dropout", std::make_shared<Dropout<T>>(options.dropout));
    linear2 = this->register_module("linear2", std::make_shared<Linear<T>>(options.dim_feedforward, d_model, options.bias));
    norm1 = this->register_module("norm1", std::make_shared<LayerNorm<T>>(Shape{d_model}, options.layer_norm_eps, true, options.bias));
    norm2 = this->register_module("norm2", std::make_shared<LayerNorm<T>>(Shape{d_model}, options.layer_norm_eps, true, options.bias));
    dropout1 = this->register_module("dropout1", std::make_shared<Dropout<T>>(options.dropout));
    dropout2 = this->register_module("dropout2", std::make_shared<Dropout<T>>(options.dropout));
  }

  using Module<T>::forward;
  Tensor<T> forward(const Tensor<T>& src) override { return forward(src, Tensor<bool>(), Tensor<bool>()); }
  Tensor<T> forward(const Tensor<T>& src, const Tensor<bool>& src_mask, const Tensor<bool>& src_key_padding_mask) {
    Tensor<T> x = src;
    if (options_.norm_first) {
      x = x + self_attention(norm1->forward(x), src_mask, src_key_padding_mask);
      x = x + feed_forward(norm2->forward(x));
    } else {
      x = norm1->forward(x + self_attention(x, src_mask, src_key_padding_mask));
      x = norm2->forward(x + feed_forward(x));
    }
    return x;
  }

 private:
  Tensor<T> self_attention(const Tensor<T>& x, const Tensor<bool>& mask, const Tensor<bool>& padding) {
    return dropout1->forward(self_attn->forward(x, x, x, padding, false, mask).output);
  }
  Tensor<T> feed_forward(const Tensor<T>& x) {
    const Tensor<T> h = linear1->forward(x);
    const Tensor<T> a = options_.activation == "relu" ? relu(h) : gelu(h);
    return dropout2->forward(linear2->forward(dropout->forward(a)));
  }
  TransformerEncoderLayerOptions options_;
};

}  // namespace tapegrad::nn

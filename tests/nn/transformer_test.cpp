// MultiheadAttention and TransformerEncoderLayer.
#include "nn_test_util.hpp"

namespace nn_transformer_test {

namespace nn = tg::nn;
using Mask = tg::Tensor<bool>;

// Multi-head attention written out with per-head loops over the functional ops, from
// the module's own parameters: the independent reference.
Tensor reference_attention(nn::MultiheadAttention<double>& m, const Tensor& x_nle, std::int64_t heads,
                           const std::vector<std::vector<bool>>& padded) {
  const std::int64_t n = x_nle.size(0), l = x_nle.size(1), e = x_nle.size(2), d = e / heads;
  std::vector<Tensor> samples;
  for (std::int64_t b = 0; b < n; ++b) {
    const Tensor x = tg::select(x_nle, 0, b);  // [L, E]
    std::vector<Tensor> outs;
    for (std::int64_t h = 0; h < heads; ++h) {
      auto proj = [&](int which) {
        const Tensor w = tg::slice(m.in_proj_weight, 0, which * e + h * d, which * e + (h + 1) * d);
        const Tensor bias = tg::slice(m.in_proj_bias, 0, which * e + h * d, which * e + (h + 1) * d);
        return tg::matmul(x, w.t()) + bias;
      };
      Tensor scores = tg::matmul(proj(0), proj(1).t()) / std::sqrt(static_cast<double>(d));
      if (!padded.empty()) {
        std::vector<double> add;
        for (std::int64_t s = 0; s < l; ++s) add.push_back(padded[b][s] ? -1e300 : 0.0);
        scores = scores + tg::from_vector(add);
      }
      outs.push_back(tg::matmul(tg::softmax(scores, -1), proj(2)));
    }
    samples.push_back(m.out_proj->forward(tg::cat(outs, -1)));
  }
  return tg::stack(samples, 0);
}

TEST_CASE("MultiheadAttention: per-head reference, key padding, weights, parameter names, layouts") {
  tg::manual_seed(51);
  nn::MultiheadAttentionOptions o;
  o.batch_first = true;
  nn::MultiheadAttention<double> mha(6, 2, o);
  std::vector<std::string> names;
  for (auto& [name, p] : mha.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"});
  CHECK(mha.in_proj_bias.abs().sum().item() == 0.0);
  CHECK(mha.out_proj->bias.abs().sum().item() == 0.0);
  CHECK(mha.in_proj_weight.abs().max().item() <= std::sqrt(6.0 / 24));  // xavier_uniform bound
  {
    tg::NoGradGuard no_grad;  // non-zero biases so the reference checks them too
    mha.in_proj_bias.copy_(tg::randn<double>({18}));
    mha.out_proj->bias.copy_(tg::randn<double>({6}));
  }
  tg::Generator gen(52);
  Tensor x = tg::randn<double>({2, 4, 6}, gen).requires_grad_();
  const auto r = mha.forward(x, x, x);
  const Tensor ref = reference_attention(mha, x, 2, {});
  const auto a = r.output.to_vector(), b = ref.to_vector();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(b[i]).epsilon(1e-12));
  REQUIRE(r.weights.shape() == tg::Shape{2, 4, 4});
  CHECK(tg::sum(r.weights, -1).to_vector() == std::vector<double>(8, 1.0) );

  const Mask pad = tg::from_vector<bool>({false, false, true, true, false, false, false, true}, {2, 4});
  const auto masked = mha.forward(x, x, x, pad);
  const Tensor ref_masked = reference_attention(mha, x, 2, {{false, false, true, true}, {false, false, false, true}});
  const auto am = masked.output.to_vector(), bm = ref_masked.to_vector();
  for (std::size_t i = 0; i < am.size(); ++i) CHECK(am[i] == Approx(bm[i]).epsilon(1e-12));
  CHECK(masked.weights.at({0, 1, 2}) == 0.0);  // a padded key gets no attention

  // Sequence-first (PyTorch's default) gives the same numbers transposed.
  nn::MultiheadAttention<double> seq_first(6, 2);
  seq_first.load_state_dict(mha.state_dict());
  const Tensor xt = tg::transpose(x, 0, 1);
  const auto rt = seq_first.forward(xt, xt, xt).output;
  const auto c = tg::transpose(rt, 0, 1).to_vector();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(c[i] == Approx(a[i]).epsilon(1e-13));

  check_module_gradients(mha, [&] { return mha.forward(x, x, x, pad).output; }, {x});
  CHECK_THROWS_WITH(nn::MultiheadAttention<double>(6, 4), TG_CONTAINS("embed_dim (6) must be divisible by num_heads (4)"));
  CHECK_THROWS_WITH(mha.forward(x, x, x, tg::from_vector<bool>({true, false}, {1, 2})),
                    TG_CONTAINS("key_padding_mask must be [2, 4]"));
}

TEST_CASE("TransformerEncoderLayer: post-norm and pre-norm compositions, state-dict names, gradients") {
  for (bool norm_first : {false, true}) {
    tg::manual_seed(53);
    nn::TransformerEncoderLayerOptions o;
    o.dim_feedforward = 8;
    o.dropout = 0.0;
    o.batch_first = true;
    o.norm_first = norm_first;
    nn::TransformerEncoderLayer<double> layer(4, 2, o);
    tg::Generator gen(54);
    Tensor x = tg::randn<double>({2, 3, 4}, gen).requires_grad_();
    const Mask pad = tg::from_vector<bool>({false, false, true, false, false, false}, {2, 3});
    const Tensor y = layer.forward(x, Mask(), pad);
    auto sa = [&](const Tensor& h) { return layer.self_attn->forward(h, h, h, pad, false).output; };
    auto ff = [&](const Tensor& h) { return layer.linear2->forward(tg::relu(layer.linear1->forward(h))); };
    Tensor expected;
    if (norm_first) {
      const Tensor h = x + sa(layer.norm1->forward(x));
      expected = h + ff(layer.norm2->forward(h));
    } else {
      const Tensor h = layer.norm1->forward(x + sa(x));
      expected = layer.norm2->forward(h + ff(h));
    }
    CHECK(y.to_vector() == expected.to_vector());
    check_module_gradients(layer, [&] { return layer.forward(x, Mask(), pad); }, {x});
    if (!norm_first) {
      const auto keys = layer.state_dict().keys();
      CHECK(keys == std::vector<std::string>{"self_attn.in_proj_weight", "self_attn.in_proj_bias",
                                             "self_attn.out_proj.weight", "self_attn.out_proj.bias", "linear1.weight",
                                             "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight",
                                             "norm1.bias", "norm2.weight", "norm2.bias"});
    }
  }
}

}  // namespace nn_transformer_test

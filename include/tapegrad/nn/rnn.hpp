#pragma once
// Recurrent layers over whole sequences: LSTM and GRU (multi-layer, batch_first,
// bidirectional, dropout between layers), built from ops/nn.hpp's lstm_cell and gru_cell,
// with PyTorch's parameter names (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0,
// ..._reverse) and initialization U(-1/sqrt(hidden), 1/sqrt(hidden)).
//
//   tg::nn::RNNOptions o; o.num_layers = 2; o.batch_first = true;
//   tg::nn::LSTM<float> lstm(16, 32, o);
//   auto r = lstm.forward(x);          // x [N, L, 16]: r.output [N, L, 32], r.h_n and r.c_n [2, N, 32]
//   auto r2 = lstm.forward(x, r.h_n, r.c_n);   // continue from a state

#include "linear.hpp"
#include "../ops/indexing.hpp"
#include "../ops/nn.hpp"

#include <cmath>
#include <string>
#include <vector>

namespace tapegrad::nn {

struct RNNOptions {
  std::int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;  // [N, L, features] instead of [L, N, features]
  double dropout = 0.0;      // on the outputs of every layer but the last, in training
  bool bidirectional = false;
};

template <typename T>
struct RNNOutput {
  Tensor<T> output;  // [L, N, dirs * hidden] (or [N, L, ...] with batch_first; [L, ...] unbatched)
  Tensor<T> h_n;     // [num_layers * dirs, N, hidden] ([num_layers * dirs, hidden] unbatched)
  Tensor<T> c_n;     // LSTM only
};

// The shared machinery: gates = 4 (LSTM) or 3 (GRU).
template <typename T>
class RNNBase : public Module<T> {
 public:
  using Module<T>::forward;
  Tensor<T> forward(const Tensor<T>& x) override { return run(x, Tensor<T>(), Tensor<T>()).output; }

  std::string extra_repr() const override {
    std::string s = std::to_string(input_) + ", " + std::to_string(hidden_);
    if (options_.num_layers != 1) s += ", num_layers=" + std::to_string(options_.num_layers);
    if (!options_.bias) s += ", bias=False";
    if (options_.batch_first) s += ", batch_first=True";
    if (options_.dropout != 0) s += ", dropout=" + detail::py_float(options_.dropout);
    if (options_.bidirectional) s += ", bidirectional=True";
    return s;
  }

 protected:
  RNNBase(const char* name, std::int64_t gates, std::int64_t input_size, std::int64_t hidden_size, RNNOptions options)
      : Module<T>(name), gates_(gates), input_(input_size), hidden_(hidden_size), options_(options) {
    detail::check_positive_size(name, "input_size", input_size);
    detail::check_positive_size(name, "hidden_size", hidden_size);
    detail::check_positive_size(name, "num_layers", options.num_layers);
    if (!(options.dropout >= 0 && options.dropout <= 1))
      detail::fail<ValueError>(name, ": dropout must be in [0, 1], got ", options.dropout);
    const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
    for (std::int64_t layer = 0; layer < options.num_layers; ++layer) {
      for (int dir = 0; dir < directions(); ++dir) {
        const std::string suffix = "_l" + std::to_string(layer) + (dir ? "_reverse" : "");
        const std::int64_t in = layer == 0 ? input_size : hidden_size * directions();
        Weights w;
        w.ih = param("weight_ih" + suffix, {gates * hidden_size, in}, bound);
        w.hh = param("weight_hh" + suffix, {gates * hidden_size, hidden_size}, bound);
        if (options.bias) {
          w.b_ih = param("bias_ih" + suffix, {gates * hidden_size}, bound);
          w.b_hh = param("bias_hh" + suffix, {gates * hidden_size}, bound);
        }
        weights_.push_back(w);
      }
    }
  }

  int directions() const { return options_.bidirectional ? 2 : 1; }

  // h0/c0 undefined: zeros. c0 is ignored by GRU.
  RNNOutput<T> run(const Tensor<T>& x, const Tensor<T>& h0, const Tensor<T>& c0) {
    const char* name = this->type_name().c_str();
    const bool batched = x.dim() == 3;
    if (!(x.dim() == 2 || x.dim() == 3) || x.shape().back() != input_)
      detail::fail<ShapeError>(name, ": expected input ", options_.batch_first ? "[N, L, " : "[L, N, ", input_,
                               "] or unbatched [L, ", input_, "], got shape ", detail::show(x.shape()));
    // To time-major [L, N, in].
    Tensor<T> seq = !batched ? unsqueeze(x, 1) : options_.batch_first ? transpose(x, 0, 1) : x;
    const std::int64_t steps = seq.size(0), n = seq.size(1);
    const std::int64_t states = options_.num_layers * directions();
    auto initial = [&](const Tensor<T>& s, const char* what) {
      if (!s.defined()) return zeros<T>({states, n, hidden_});
      const Shape expected = batched ? Shape{states, n, hidden_} : Shape{states, hidden_};
      if (s.shape() != expected)
        detail::fail<ShapeError>(name, ": ", what, " must have shape ", detail::show(expected), ", got ",
                                 detail::show(s.shape()));
      return batched ? s : unsqueeze(s, 1);
    };
    const Tensor<T> h_init = initial(h0, "h0");
    const Tensor<T> c_init = gates_ == 4 ? initial(c0, "c0") : Tensor<T>();
    std::vector<Tensor<T>> h_last, c_last;
    std::vector<Tensor<T>> inputs = unbind_time(seq);
    for (std::int64_t layer = 0; layer < options_.num_layers; ++layer) {
      std::vector<std::vector<Tensor<T>>> outs;
      for (int dir = 0; dir < directions(); ++dir) {
        const std::int64_t k = layer * directions() + dir;
        const Weights& w = weights_[static_cast<std::size_t>(k)];
        Tensor<T> h = select_state(h_init, k), c = gates_ == 4 ? select_state(c_init, k) : Tensor<T>();
        std::vector<Tensor<T>> out(static_cast<std::size_t>(steps));
        for (std::int64_t step = 0; step < steps; ++step) {
          const auto t = static_cast<std::size_t>(dir ? steps - 1 - step : step);
          if (gates_ == 4) {
            auto hc = lstm_cell(inputs[t], h, c, w.ih, w.hh, w.b_ih, w.b_hh);
            h = hc.first;
            c = hc.second;
          } else {
            h = gru_cell(inputs[t], h, w.ih, w.hh, w.b_ih, w.b_hh);
          }
          out[t] = h;
        }
        h_last.push_back(h);
        if (gates_ == 4) c_last.push_back(c);
        outs.push_back(std::move(out));
      }
      for (std::size_t t = 0; t < inputs.size(); ++t) {
        inputs[t] = directions() == 1 ? outs[0][t] : cat(std::vector<Tensor<T>>{outs[0][t], outs[1][t]}, -1);
        if (layer + 1 < options_.num_layers) inputs[t] = dropout(inputs[t], options_.dropout, this->is_training());
      }
    }
    RNNOutput<T> r;
    r.output = steps == 0 ? zeros<T>({0, n, hidden_ * directions()}) : stack(inputs, 0);  // [L, N, dirs * H]
    r.h_n = stack(h_last, 0);
    if (gates_ == 4) r.c_n = stack(c_last, 0);
    if (!batched) {
      r.output = squeeze(r.output, 1);
      r.h_n = squeeze(r.h_n, 1);
      if (r.c_n.defined()) r.c_n = squeeze(r.c_n, 1);
    } else if (options_.batch_first) {
      r.output = transpose(r.output, 0, 1);
    }
    return r;
  }

 private:
  struct Weights {
    Tensor<T> ih, hh, b_ih, b_hh;
  };
  Tensor<T> param(const std::string& name, const Shape& shape, double bound) {
    Tensor<T> t = empty<T>(shape);
    detail::fill_uniform(t, bound);
    return this->register_parameter(name, t);
  }
  static std::vector<Tensor<T>> unbind_time(const Tensor<T>& seq) {
    std::vector<Tensor<T>> out;
    for (std::int64_t t = 0; t < seq.size(0); ++t) out.push_back(select(seq, 0, t));
    return out;
  }
  static Tensor<T> select_state(const Tensor<T>& s, std::int64_t k) { return select(s, 0, k); }

  std::int64_t gates_, input_, hidden_;
  RNNOptions options_;
  std::vector<Weights> weights_;
};

// LSTM, gate order i, f, g, o (as torch.nn.LSTM).
template <typename T>
class LSTM : public RNNBase<T> {
 public:
  LSTM(std::int64_t input_size, std::int64_t hidden_size, RNNOptions options = {})
      : RNNBase<T>("LSTM", 4, input_size, hidden_size, options) {}
  using RNNBase<T>::forward;
  RNNOutput<T> forward(const Tensor<T>& x, const Tensor<T>& h0, const Tensor<T>& c0) { return this->run(x, h0, c0); }
  RNNOutput<T> forward_with_state(const Tensor<T>& x) { return this->run(x, Tensor<T>(), Tensor<T>()); }
};

// GRU, gate order r, z, n (as torch.nn.GRU).
template <typename T>
class GRU : public RNNBase<T> {
 public:
  GRU(std::int64_t input_size, std::int64_t hidden_size, RNNOptions options = {})
      : RNNBase<T>("GRU", 3, input_size, hidden_size, options) {}
  using RNNBase<T>::forward;
  RNNOutput<T> forward(const Tensor<T>& x, const Tensor<T>& h0) { return this->run(x, h0, Tensor<T>()); }
  RNNOutput<T> forward_with_state(const Tensor<T>& x) { return this->run(x, Tensor<T>(), Tensor<T>()); }
};

}  // namespace tapegrad::nn

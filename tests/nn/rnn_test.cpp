// LSTM and GRU over sequences: the cells unrolled by hand, layouts, state, gradients.
#include "nn_test_util.hpp"

namespace nn_rnn_test {

namespace nn = tg::nn;

TEST_CASE("LSTM: two layers, bidirectional, equal to the cells unrolled by hand") {
  tg::manual_seed(61);
  nn::RNNOptions o;
  o.num_layers = 2;
  o.bidirectional = true;
  nn::LSTM<double> lstm(3, 2, o);
  CHECK(lstm.named_parameters().size() == 16);
  CHECK(lstm.named_parameters()[4].first == "weight_ih_l0_reverse");
  CHECK(lstm.named_parameters()[8].second.shape() == tg::Shape{8, 4});  // weight_ih_l1: input = 2 directions * 2
  CHECK(lstm.named_parameters()[0].second.abs().max().item() <= 1 / std::sqrt(2.0));
  tg::Generator gen(62);
  Tensor x = tg::randn<double>({4, 2, 3}, gen).requires_grad_();  // [L, N, in]
  const auto r = lstm.forward_with_state(x);
  REQUIRE(r.output.shape() == tg::Shape{4, 2, 4});
  REQUIRE(r.h_n.shape() == tg::Shape{4, 2, 2});
  REQUIRE(r.c_n.shape() == tg::Shape{4, 2, 2});

  auto p = [&](const std::string& name) {
    for (auto& [n, t] : lstm.named_parameters())
      if (n == name) return t;
    FAIL("no parameter " << name);
    return Tensor();
  };
  std::vector<Tensor> inputs;
  for (int t = 0; t < 4; ++t) inputs.push_back(tg::select(x, 0, t));
  std::vector<Tensor> h_n;
  for (int layer = 0; layer < 2; ++layer) {
    std::vector<std::vector<Tensor>> outs(2, std::vector<Tensor>(4));
    for (int dir = 0; dir < 2; ++dir) {
      const std::string s = "_l" + std::to_string(layer) + (dir ? "_reverse" : "");
      Tensor h = tg::zeros<double>({2, 2}), c = tg::zeros<double>({2, 2});
      for (int step = 0; step < 4; ++step) {
        const int t = dir ? 3 - step : step;
        auto hc = tg::lstm_cell(inputs[t], h, c, p("weight_ih" + s), p("weight_hh" + s), p("bias_ih" + s), p("bias_hh" + s));
        h = hc.first;
        c = hc.second;
        outs[dir][t] = h;
      }
      h_n.push_back(h);
    }
    for (int t = 0; t < 4; ++t) inputs[t] = tg::cat(std::vector<Tensor>{outs[0][t], outs[1][t]}, -1);
  }
  CHECK(r.output.to_vector() == tg::stack(inputs, 0).to_vector());
  CHECK(r.h_n.to_vector() == tg::stack(h_n, 0).to_vector());
  check_module_gradients(lstm, [&] { return lstm.forward_with_state(x).output; }, {x});
}

TEST_CASE("LSTM and GRU: batch_first, initial state, unbatched input, errors") {
  tg::manual_seed(63);
  nn::RNNOptions bf;
  bf.batch_first = true;
  nn::GRU<double> gru(3, 4, bf);
  nn::GRU<double> time_major(3, 4);
  time_major.load_state_dict(gru.state_dict());
  tg::Generator gen(64);
  Tensor x = tg::randn<double>({2, 5, 3}, gen).requires_grad_();  // [N, L, in]
  Tensor h0 = tg::randn<double>({1, 2, 4}, gen).requires_grad_();
  const auto a = gru.forward(x, h0);
  const auto b = time_major.forward(tg::transpose(x, 0, 1), h0);
  CHECK(a.output.to_vector() == tg::transpose(b.output, 0, 1).to_vector());
  CHECK(a.h_n.to_vector() == b.h_n.to_vector());
  // The last output is the final state.
  CHECK(tg::select(a.output, 1, 4).to_vector() == tg::select(a.h_n, 0, 0).to_vector());
  // GRU by hand for sample 1.
  Tensor h = tg::select(tg::select(h0, 0, 0), 0, 1);
  for (int t = 0; t < 5; ++t)
    h = tg::gru_cell(tg::select(tg::select(x, 0, 1), 0, t), h, gru.named_parameters()[0].second,
                     gru.named_parameters()[1].second, gru.named_parameters()[2].second, gru.named_parameters()[3].second);
  const auto hv = h.to_vector();
  for (int j = 0; j < 4; ++j) CHECK(a.h_n.at({0, 1, j}) == Approx(hv[j]).epsilon(1e-14));
  check_module_gradients(gru, [&] { return gru.forward(x, h0).output; }, {x, h0});

  nn::LSTM<double> lstm(3, 2);
  const auto u = lstm.forward_with_state(tg::randn<double>({5, 3}, gen));  // unbatched [L, in]
  CHECK(u.output.shape() == tg::Shape{5, 2});
  CHECK(u.h_n.shape() == tg::Shape{1, 2});
  CHECK_THROWS_WITH(lstm.forward_with_state(tg::zeros<double>({5, 2, 4})), TG_CONTAINS("LSTM: expected input [L, N, 3]"));
  CHECK_THROWS_WITH(lstm.forward(tg::zeros<double>({5, 2, 3}), tg::zeros<double>({2, 2, 2}), Tensor()),
                    TG_CONTAINS("LSTM: h0 must have shape [1, 2, 2], got [2, 2, 2]"));
}

}  // namespace nn_rnn_test

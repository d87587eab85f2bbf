// The preference model: shapes, the comparator's features, gradients, export, training.
#include "../nn/nn_test_util.hpp"

#include <tapegrad/models/preference.hpp>
#include <tapegrad/optim.hpp>

namespace models_preference_test {

namespace models = tg::models;

models::PreferenceOptions tiny_options() {
  models::PreferenceOptions opt;
  opt.customer_features = 3;
  opt.product_features = 4;
  opt.embed_dim = 3;
  opt.encoder_hidden = {5};
  opt.comparator_hidden = {6};
  opt.preference_dim = 4;
  opt.predictor_hidden = {3};
  return opt;
}

TEST_CASE("PreferenceModel: shapes, parts and names") {
  tg::manual_seed(2);
  models::PreferenceModel<double> model(tiny_options());
  tg::Generator gen(1);
  const Tensor c = tg::randn<double>({5, 3}, gen), p = tg::randn<double>({5, 4}, gen);
  CHECK(model.forward(c, p).shape() == tg::Shape{5});
  CHECK(model.preference(c, p).shape() == tg::Shape{5, 4});
  // The comparator sees [u, p, u * p, |u - p|]: its first layer is [hidden, 4 d].
  const auto first = std::dynamic_pointer_cast<tg::nn::Linear<double>>((*model.comparator->mlp)[0]);
  REQUIRE(first);
  CHECK(first->weight.shape() == tg::Shape{6, 12});
  // With u = p the |u - p| features are zero: changing their weights changes nothing,
  // while a different p does change the output.
  const Tensor u = tg::randn<double>({2, 3}, gen);
  const Tensor r1 = model.comparator->forward(u, u);
  {
    tg::NoGradGuard no_grad;
    for (int h = 0; h < 6; ++h)
      for (int j = 9; j < 12; ++j) first->weight.set({h, j}, 100.0);  // |u - p| columns
  }
  const Tensor r2 = model.comparator->forward(u, u);
  CHECK(r1.to_vector() == r2.to_vector());  // |u - u| = 0, whatever its weights
  const Tensor r3 = model.comparator->forward(u, u + 1.0);
  CHECK(r3.to_vector() != r2.to_vector());
  const auto sd = model.state_dict();
  for (const char* key : {"customer_encoder.mlp.0.weight", "product_encoder.mlp.2.bias", "comparator.mlp.0.weight",
                          "predictor.2.weight"})
    CHECK(sd.contains(key));
}

TEST_CASE("PreferenceModel: gradients of every parameter and both inputs match finite differences") {
  tg::manual_seed(6);
  models::PreferenceModel<double> model(tiny_options());
  tg::Generator gen(3);
  Tensor c = tg::randn<double>({4, 3}, gen, tg::requires_grad());
  Tensor p = tg::randn<double>({4, 4}, gen, tg::requires_grad());
  check_module_gradients(model, [&] { return model.forward(c, p); }, {c, p});
}

TEST_CASE("PreferenceModel: embeddings for export are [N, d], without a graph, in eval mode") {
  models::PreferenceOptions opt = tiny_options();
  opt.dropout = 0.5;  // in training mode the encoders would be random
  models::PreferenceModel<float> model(opt);
  tg::Generator gen(4);
  const tg::Tensor<float> c = tg::randn<float>({7, 3}, gen);
  const tg::Tensor<float> u = model.customer_embeddings(c);
  CHECK(u.shape() == tg::Shape{7, 3});
  CHECK_FALSE(u.requires_grad());
  CHECK(model.customer_embeddings(c).to_vector() == u.to_vector());  // deterministic: dropout was off
  CHECK(model.is_training());                                        // and the mode is back
  CHECK(model.product_embeddings(tg::randn<float>({2, 4}, gen)).shape() == tg::Shape{2, 3});
  model.eval();
  CHECK(model.customer_encoder->forward(c).to_vector() == u.to_vector());
}

TEST_CASE("PreferenceModel: errors name the shapes") {
  models::PreferenceModel<double> model(tiny_options());
  CHECK_THROWS_WITH(model.forward(tg::zeros<double>({2, 3}), tg::zeros<double>({3, 4})),
                    TG_CONTAINS("customers [B, Fc] and products [B, Fp] must pair row by row, got [2, 3] and [3, 4]"));
  CHECK_THROWS_WITH(model.forward(tg::zeros<double>({2, 5}), tg::zeros<double>({2, 4})),
                    TG_CONTAINS("PreferenceModel (customers): expected features of shape [B, 3], got [2, 5]"));
  CHECK_THROWS_WITH(model.customer_embeddings(tg::zeros<double>({2, 5})), TG_CONTAINS("expected features"));
  CHECK(model.is_training());  // restored after the throw
  models::PreferenceOptions bad = tiny_options();
  bad.product_features = 0;
  CHECK_THROWS_WITH(models::PreferenceModel<double>(bad), TG_CONTAINS("the feature count must be positive"));
}

TEST_CASE("PreferenceModel: Adam + BCE learns a bilinear preference") {
  tg::manual_seed(10);
  const int n = 96;
  tg::Generator gen(7);
  const tg::Tensor<float> c = tg::randn<float>({n, 3}, gen), p = tg::randn<float>({n, 4}, gen);
  const tg::Tensor<float> affinity = tg::randn<float>({3, 4}, gen);
  const tg::Tensor<float> score = (tg::matmul(c, affinity) * p).sum(1);  // c^T A p
  std::vector<float> y;
  for (int i = 0; i < n; ++i) y.push_back(score.at({i}) > 0 ? 1.0f : 0.0f);
  const tg::Tensor<float> labels = tg::from_vector(y, {n});
  models::PreferenceOptions opt = tiny_options();
  opt.embed_dim = 8;
  opt.encoder_hidden = {16};
  opt.comparator_hidden = {16};
  opt.preference_dim = 8;
  models::PreferenceModel<float> model(opt);
  tg::optim::Adam<float> adam(model.parameters(), tg::optim::AdamOptions(0.01));
  float first = 0, last = 0;
  for (int step = 0; step < 150; ++step) {
    adam.zero_grad();
    const auto loss = model.loss(c, p, labels);
    loss.backward();
    adam.step();
    (step == 0 ? first : last) = loss.item();
  }
  INFO("loss " << first << " -> " << last);
  CHECK(last < 0.4f * first);
}

}  // namespace models_preference_test

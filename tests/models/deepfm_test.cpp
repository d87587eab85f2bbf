// DeepFM: the FM identity, the parts of the logit, gradients, errors and training.
#include "../nn/nn_test_util.hpp"

#include <tapegrad/models/deepfm.hpp>
#include <tapegrad/optim.hpp>

namespace models_deepfm_test {

namespace models = tg::models;
using Ids = tg::Tensor<std::int64_t>;

models::DeepFMOptions tiny_options() {
  models::DeepFMOptions opt;
  opt.field_dims = {3, 4, 5};
  opt.field_names = {"user", "movie", "age"};
  opt.multi_hot_dim = 4;
  opt.multi_hot_name = "genres";
  opt.embed_dim = 3;
  opt.init_std = 0.5;
  opt.hidden = {5, 4};
  return opt;
}

TEST_CASE("fm_interaction equals the brute-force pairwise sum of inner products") {
  tg::Generator gen(3);
  const Tensor e = tg::randn<double>({4, 5, 3}, gen);
  const Tensor fm = models::fm_interaction(e);
  REQUIRE(fm.shape() == tg::Shape{4});
  for (int b = 0; b < 4; ++b) {
    double pairs = 0;  // sum_{i<j} <v_i, v_j>
    for (int i = 0; i < 5; ++i)
      for (int j = i + 1; j < 5; ++j)
        for (int k = 0; k < 3; ++k) pairs += e.at({b, i, k}) * e.at({b, j, k});
    CHECK(fm.at({b}) == Approx(pairs).epsilon(1e-12));
  }
  CHECK_GRAD([](const Tensors& in) { return models::fm_interaction(in[0]); },
             tg::randn<double>({2, 3, 2}, gen, tg::requires_grad()));
  CHECK_THROWS_WITH(models::fm_interaction(tg::zeros<double>({2, 3})), TG_CONTAINS("expected field embeddings [B, F, k]"));
}

TEST_CASE("DeepFM: the logit is first order + FM + DNN + bias over shifted field rows and pooled genres") {
  tg::manual_seed(5);
  models::DeepFM<double> model(tiny_options());
  const Ids ids = tg::from_vector<std::int64_t>({0, 3, 4, 2, 1, 0}, {2, 3});
  const Tensor genres = values({1, 0, 1, 0, 0, 0, 0, 1}, {2, 4});
  const auto e = model.fields->forward(ids, genres);
  REQUIRE(e.embeddings.shape() == tg::Shape{2, 4, 3});
  const Tensor& table = model.fields->embedding->weight;
  const Tensor& w = model.fields->weight->weight;
  const Tensor& bag = model.fields->bag_embedding->weight;
  const Tensor& bag_w = model.fields->bag_weight->weight;
  const std::vector<std::vector<int>> rows = {{0, 3 + 3, 7 + 4}, {2, 3 + 1, 7 + 0}};  // offsets 0, 3, 7
  for (int b = 0; b < 2; ++b) {
    double first = 0;
    for (int f = 0; f < 3; ++f) {
      first += w.at({rows[b][f], 0});
      for (int k = 0; k < 3; ++k) CHECK(e.embeddings.at({b, f, k}) == table.at({rows[b][f], k}));
    }
    // genres: the mean of the rows of the genres present
    const std::vector<int> present = b == 0 ? std::vector<int>{0, 2} : std::vector<int>{3};
    double bag_first = 0;
    for (int g : present) bag_first += bag_w.at({g, 0}) / static_cast<double>(present.size());
    for (int k = 0; k < 3; ++k) {
      double mean = 0;
      for (int g : present) mean += bag.at({g, k}) / static_cast<double>(present.size());
      CHECK(e.embeddings.at({b, 3, k}) == Approx(mean).epsilon(1e-12));
    }
    CHECK(e.first_order.at({b}) == Approx(first + bag_first).epsilon(1e-12));
  }
  const Tensor logit = model.forward(ids, genres);
  REQUIRE(logit.shape() == tg::Shape{2});
  const Tensor deep = model.dnn->forward(e.embeddings.flatten(1));
  const Tensor fm = models::fm_interaction(e.embeddings);
  for (int b = 0; b < 2; ++b)
    CHECK(logit.at({b}) == Approx(e.first_order.at({b}) + fm.at({b}) + deep.at({b, 0}) + model.bias.at({0})).epsilon(1e-12));
  // Named parameters for the state dict.
  const auto sd = model.state_dict();
  CHECK(sd.contains("fields.embedding.weight"));
  CHECK(sd.contains("fields.bag_embedding.weight"));
  CHECK(sd.contains("dnn.0.weight"));
  CHECK(sd.contains("bias"));
  CHECK(sd.at("fields.embedding.weight").shape() == tg::Shape{12, 3});
}

TEST_CASE("DeepFM: embeddings start N(0, init_std^2)") {
  tg::manual_seed(1);
  models::DeepFMOptions opt;
  opt.field_dims = {2000, 500};
  opt.embed_dim = 8;
  models::DeepFM<double> model(opt);  // default init_std 1e-4
  const Tensor& v = model.fields->embedding->weight;
  const double n = static_cast<double>(v.numel());
  CHECK(v.mean().item() == Approx(0).margin(4e-4 / std::sqrt(n)));
  CHECK(std::sqrt((v * v).mean().item()) == Approx(1e-4).epsilon(0.02));
  CHECK(model.bias.at({0}) == 0.0);
}

TEST_CASE("DeepFM: gradients of every parameter match finite differences") {
  tg::manual_seed(11);
  models::DeepFM<double> model(tiny_options());
  const Ids ids = tg::from_vector<std::int64_t>({0, 3, 4, 2, 1, 0, 1, 1, 2}, {3, 3});
  const Tensor genres = values({1, 0, 1, 0, 0, 0, 0, 1, 0.5, 0.5, 0, 0}, {3, 4});
  check_module_gradients(model, [&] { return model.forward(ids, genres); });
}

TEST_CASE("DeepFM: bad ids and shapes name the field and the fix") {
  models::DeepFM<double> model(tiny_options());
  const Tensor genres = tg::zeros<double>({1, 4});
  CHECK_THROWS_AS(model.forward(tg::from_vector<std::int64_t>({0, 1}, {1, 2}), genres), tg::ShapeError);
  CHECK_THROWS_WITH(model.forward(tg::from_vector<std::int64_t>({0, 1}, {1, 2}), genres),
                    TG_CONTAINS("DeepFM: expected ids of shape [B, 3] (one column per field), got [1, 2]"));
  CHECK_THROWS_AS(model.forward(tg::from_vector<std::int64_t>({0, 4, 0}, {1, 3}), genres), tg::IndexError);
  CHECK_THROWS_WITH(model.forward(tg::from_vector<std::int64_t>({0, 4, 0}, {1, 3}), genres),
                    TG_CONTAINS("field \"movie\" has id 4 in row 0, out of range [0, 4)"));
  CHECK_THROWS_WITH(model.forward(tg::from_vector<std::int64_t>({0, 1, -1}, {1, 3}), genres),
                    TG_CONTAINS("field \"age\" has id -1"));
  CHECK_THROWS_WITH(model.forward(tg::from_vector<std::int64_t>({0, 1, 1}, {1, 3})),
                    TG_CONTAINS("\"genres\" needs its [B, 4] multi-hot matrix"));
  CHECK_THROWS_WITH(model.forward(tg::from_vector<std::int64_t>({0, 1, 1}, {1, 3}), tg::zeros<double>({1, 5})),
                    TG_CONTAINS("expects a [1, 4] matrix, got [1, 5]"));
  models::DeepFMOptions bad = tiny_options();
  bad.field_dims[1] = 0;
  CHECK_THROWS_WITH(models::DeepFM<double>(bad), TG_CONTAINS("field \"movie\" has vocabulary size 0"));
  bad = tiny_options();
  bad.field_names.pop_back();
  CHECK_THROWS_WITH(models::DeepFM<double>(bad), TG_CONTAINS("2 field names for 3 fields"));
  models::DeepFMOptions no_bag = tiny_options();
  no_bag.multi_hot_dim = 0;
  models::DeepFM<double> plain(no_bag);
  CHECK_THROWS_WITH(plain.forward(tg::from_vector<std::int64_t>({0, 1, 1}, {1, 3}), genres),
                    TG_CONTAINS("has no multi-valued field"));
  CHECK(plain.forward(tg::from_vector<std::int64_t>({0, 1, 1}, {1, 3})).shape() == tg::Shape{1});
}

TEST_CASE("DeepFM: Adam with BCE learns a pairwise interaction (float)") {
  tg::manual_seed(4);
  // Label 1 when the user's and the movie's hidden signs agree: a pure 2nd-order effect.
  const int users = 8, movies = 8, n = 64;
  tg::Generator gen(9);
  const tg::Tensor<float> user_sign = tg::randn<float>({users}, gen).sign();
  const tg::Tensor<float> movie_sign = tg::randn<float>({movies}, gen).sign();
  std::vector<std::int64_t> ids;
  std::vector<float> labels;
  for (int i = 0; i < n; ++i) {
    const int u = i % users, m = (i / users + 3 * i) % movies;
    ids.push_back(u);
    ids.push_back(m);
    labels.push_back(user_sign.at({u}) * movie_sign.at({m}) > 0 ? 1.0f : 0.0f);
  }
  const Ids x = tg::from_vector(ids, {n, 2});
  const tg::Tensor<float> y = tg::from_vector(labels, {n});
  models::DeepFMOptions opt;
  opt.field_dims = {users, movies};
  opt.embed_dim = 4;
  opt.init_std = 0.1;
  opt.hidden = {16, 8};
  models::DeepFM<float> model(opt);
  tg::optim::Adam<float> adam(model.parameters(), tg::optim::AdamOptions(0.05));
  float first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    adam.zero_grad();
    const auto loss = tg::binary_cross_entropy_with_logits(model.forward(x), y);
    loss.backward();
    adam.step();
    (step == 0 ? first : last) = loss.item();
  }
  INFO("loss " << first << " -> " << last);
  CHECK(first > 0.5f);  // about log 2 at the start
  CHECK(last < 0.2f * first);
}

}  // namespace models_deepfm_test

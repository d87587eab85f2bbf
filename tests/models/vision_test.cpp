// Vision models: shapes, gradients, the contractive penalty by double backward, the VAE.
#include "../nn/nn_test_util.hpp"

#include <tapegrad/models/vision.hpp>
#include <tapegrad/optim.hpp>

#include <cmath>

namespace models_vision_test {

namespace models = tg::models;

TEST_CASE("FashionMLP: 784-256-128-10 on [B, 784] and [B, 1, 28, 28]") {
  tg::manual_seed(1);
  models::FashionMLP<float> mlp;
  tg::Generator gen(1);
  const tg::Tensor<float> images = tg::rand<float>({3, 1, 28, 28}, gen);
  const tg::Tensor<float> logits = mlp.forward(images);
  CHECK(logits.shape() == tg::Shape{3, 10});
  CHECK(mlp.forward(images.reshape({3, 784})).to_vector() == logits.to_vector());
  const auto sd = mlp.state_dict();
  CHECK(sd.at("layers.0.weight").shape() == tg::Shape{256, 784});
  CHECK(sd.at("layers.2.weight").shape() == tg::Shape{128, 256});
  CHECK(sd.at("layers.4.weight").shape() == tg::Shape{10, 128});
  CHECK_THROWS_WITH(mlp.forward(tg::zeros<float>({3, 100})),
                    TG_CONTAINS("FashionMLP: expected images [B, 784] (or [B, C, H, W] with C*H*W = 784), got [3, 100]"));
  models::FashionMLP<double> tiny(models::MLPOptions{6, {5, 4}, 3});
  Tensor x = tg::randn<double>({2, 6}, gen, tg::requires_grad());
  check_module_gradients(tiny, [&] { return tiny.forward(x); }, {x});
}

TEST_CASE("FashionCNN: the documented shapes with padding 1 and 0, and gradients on a tiny one") {
  tg::manual_seed(2);
  models::FashionCNN<float> cnn;
  CHECK(cnn.flattened_side() == 7);
  CHECK(cnn.fc1->weight.shape() == tg::Shape{128, 64 * 7 * 7});
  tg::Generator gen(2);
  CHECK(cnn.forward(tg::rand<float>({2, 1, 28, 28}, gen)).shape() == tg::Shape{2, 10});
  CHECK(cnn.forward(tg::rand<float>({2, 784}, gen)).shape() == tg::Shape{2, 10});
  models::CNNOptions valid;
  valid.padding = 0;
  models::FashionCNN<float> cnn0(valid);
  CHECK(cnn0.flattened_side() == 5);
  CHECK(cnn0.fc1->weight.shape() == tg::Shape{128, 1600});
  CHECK(cnn0.forward(tg::rand<float>({1, 1, 28, 28}, gen)).shape() == tg::Shape{1, 10});
  valid.padding = 2;
  CHECK_THROWS_WITH(models::FashionCNN<float>(valid), TG_CONTAINS("padding must be 0 or 1, got 2"));
  models::CNNOptions small;
  small.image_size = 5;
  small.padding = 0;
  CHECK_THROWS_WITH(models::FashionCNN<float>(small), TG_CONTAINS("image_size 5 is too small"));

  models::CNNOptions tiny;
  tiny.image_size = 6;  // 6 -> 6 -> 3 -> 3 -> 1
  tiny.channels1 = 2;
  tiny.channels2 = 3;
  tiny.hidden = 4;
  tiny.classes = 3;
  models::FashionCNN<double> net(tiny);
  Tensor x = tg::randn<double>({2, 1, 6, 6}, gen, tg::requires_grad());
  check_module_gradients(net, [&] { return net.forward(x); }, {x});
}

models::ContractiveAutoencoderOptions tiny_cae() {
  models::ContractiveAutoencoderOptions opt;
  opt.in_features = 6;
  opt.hidden = 4;
  opt.lambda = 0.5;
  return opt;
}

TEST_CASE("ContractiveAutoencoder: the double-backward penalty equals the closed form, value and gradient") {
  tg::manual_seed(3);
  models::ContractiveAutoencoder<double> cae(tiny_cae());
  tg::Generator gen(3);
  const Tensor x = tg::rand<double>({5, 6}, gen);
  const Tensor by_autograd = cae.contractive_penalty(x);
  // sum_j (h_j (1 - h_j))^2 sum_i W_ji^2 by hand, averaged over the batch.
  const Tensor h = cae.encode(x);
  double by_hand = 0;
  for (int b = 0; b < 5; ++b)
    for (int j = 0; j < 4; ++j) {
      double row = 0;
      for (int i = 0; i < 6; ++i) row += std::pow(cae.encoder->weight.at({j, i}), 2);
      by_hand += std::pow(h.at({b, j}) * (1 - h.at({b, j})), 2) * row / 5;
    }
  CHECK(by_autograd.item() == Approx(by_hand).epsilon(1e-12));
  CHECK(cae.contractive_penalty_closed_form(x).item() == Approx(by_hand).epsilon(1e-12));
  // Its gradient (through create_graph) matches the closed form's.
  cae.zero_grad();
  by_autograd.backward();
  const Tensor gw = cae.encoder->weight.grad(), gb = cae.encoder->bias.grad();
  cae.zero_grad();
  cae.contractive_penalty_closed_form(x).backward();
  for (std::int64_t i = 0; i < gw.numel(); ++i)
    CHECK(gw.data_ptr()[i] == Approx(cae.encoder->weight.grad().data_ptr()[i]).epsilon(1e-10).margin(1e-14));
  for (std::int64_t i = 0; i < gb.numel(); ++i)
    CHECK(gb.data_ptr()[i] == Approx(cae.encoder->bias.grad().data_ptr()[i]).epsilon(1e-10).margin(1e-14));
  // and central differences of the penalty in each encoder parameter (the decoder has no say).
  for (Tensor* param : {&cae.encoder->weight, &cae.encoder->bias}) {
    const Tensor analytic = param == &cae.encoder->weight ? gw : gb;
    for (std::int64_t i = 0; i < param->numel(); ++i) {
      double* v = param->data_ptr() + i;
      const double original = *v, eps = 1e-6;
      tg::NoGradGuard no_grad;
      *v = original + eps;
      const double plus = cae.contractive_penalty(x).item();
      *v = original - eps;
      const double minus = cae.contractive_penalty(x).item();
      *v = original;
      CHECK(analytic.data_ptr()[i] == Approx((plus - minus) / (2 * eps)).epsilon(1e-6).margin(1e-8));
    }
  }
}

TEST_CASE("ContractiveAutoencoder: random probes estimate ||J||_F^2 without bias") {
  models::ContractiveAutoencoderOptions opt = tiny_cae();
  opt.jacobian_probes = 400;
  tg::manual_seed(4);
  models::ContractiveAutoencoder<double> cae(opt);
  tg::Generator gen(4);
  const Tensor x = tg::rand<double>({3, 6}, gen);
  const double exact = cae.contractive_penalty_closed_form(x).item();
  // Rademacher probes: the variance of ||J^T v||^2 is 2 sum_{j != k} (J J^T)_jk^2, small here.
  CHECK(cae.contractive_penalty(x).item() == Approx(exact).epsilon(0.1));
}

TEST_CASE("ContractiveAutoencoder: the loss parts, errors, and training reduces the loss") {
  tg::manual_seed(5);
  models::ContractiveAutoencoder<float> cae(models::ContractiveAutoencoderOptions{16, 6, 0.1, 0, 0});
  tg::Generator gen(5);
  const tg::Tensor<float> x = (tg::rand<float>({12, 16}, gen) > 0.5f).to<float>();
  auto parts = cae.loss(x);
  CHECK(parts.loss.item() == Approx(parts.reconstruction.item() + 0.1f * parts.penalty.item()).epsilon(1e-6));
  const float expected_bce = tg::binary_cross_entropy_with_logits(cae.forward(x), x, tg::Tensor<float>(),
                                                                  tg::Reduction::sum).item() / 12;
  CHECK(parts.reconstruction.item() == Approx(expected_bce).epsilon(1e-6));
  CHECK_THROWS_WITH(cae.loss(x * 2.0f), TG_CONTAINS("needs pixels in [0, 1]"));
  tg::optim::Adam<float> adam(cae.parameters(), tg::optim::AdamOptions(0.05));
  float first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    adam.zero_grad();
    auto l = cae.loss(x);
    l.loss.backward();
    adam.step();
    (step == 0 ? first : last) = l.loss.item();
  }
  INFO("loss " << first << " -> " << last);
  CHECK(last < 0.6f * first);
}

TEST_CASE("VAE: KL against the closed form, and the reparameterization's gradient reaches mu and logvar") {
  const Tensor mu = values({1, 0, 0.5, -1}, {2, 2}, true);
  const Tensor logvar = values({0, std::log(2.0), -1, 0}, {2, 2}, true);
  // KL per dim = 0.5 (mu^2 + sigma^2 - 1 - log sigma^2), summed, over a batch of 2.
  double kl = 0;
  const double m[] = {1, 0, 0.5, -1}, lv[] = {0, std::log(2.0), -1, 0};
  for (int i = 0; i < 4; ++i) kl += 0.5 * (m[i] * m[i] + std::exp(lv[i]) - 1 - lv[i]) / 2;
  CHECK(models::VAE<double>::kl_divergence(mu, logvar).item() == Approx(kl).epsilon(1e-12));
  CHECK(models::VAE<double>::kl_divergence(tg::zeros<double>({3, 4}), tg::zeros<double>({3, 4})).item() == 0.0);

  tg::Generator gen(9), same(9);
  const Tensor z = models::VAE<double>::reparameterize(mu, logvar, gen);
  const Tensor eps = tg::randn<double>({2, 2}, same);
  (z * values({1, 2, 3, 4}, {2, 2})).sum().backward();
  for (int i = 0; i < 4; ++i) {
    const double sigma = std::exp(lv[i] / 2), e = eps.data_ptr()[i];
    CHECK(z.data_ptr()[i] == Approx(m[i] + sigma * e).epsilon(1e-12));
    CHECK(mu.grad().data_ptr()[i] == Approx(i + 1.0).epsilon(1e-12));               // dz/dmu = 1
    CHECK(logvar.grad().data_ptr()[i] == Approx((i + 1.0) * 0.5 * sigma * e).epsilon(1e-12));  // dz/dlogvar = sigma eps / 2
  }
  CHECK_THROWS_WITH(models::VAE<double>::reparameterize(mu, tg::zeros<double>({2, 3}), gen),
                    TG_CONTAINS("must have the same shape"));
}

TEST_CASE("VAE: the loss is BCE + KL per sample, sample() decodes N(0, I), gradients, training") {
  tg::manual_seed(6);
  models::VAE<double> vae(models::VAEOptions{8, 5, 2});
  tg::Generator data(6);
  const Tensor x = tg::rand<double>({4, 8}, data);
  tg::Generator g1(1), g2(1);
  const auto parts = vae.loss(x, g1);
  const auto q = vae.encode(x);
  const Tensor logits = vae.decode(models::VAE<double>::reparameterize(q.mu, q.logvar, g2));
  const double bce = tg::binary_cross_entropy_with_logits(logits, x, Tensor(), tg::Reduction::sum).item() / 4;
  CHECK(parts.reconstruction.item() == Approx(bce).epsilon(1e-12));
  CHECK(parts.kl.item() == Approx(models::VAE<double>::kl_divergence(q.mu, q.logvar).item()).epsilon(1e-12));
  CHECK(parts.elbo().item() == Approx(-(bce + parts.kl.item())).epsilon(1e-12));
  CHECK(vae.forward(x).shape() == tg::Shape{4, 8});
  tg::Generator sg(3);
  const Tensor s = vae.sample(5, sg);
  CHECK(s.shape() == tg::Shape{5, 8});
  CHECK(s.min().item() > 0.0);
  CHECK(s.max().item() < 1.0);
  CHECK_FALSE(s.requires_grad());
  CHECK_THROWS_WITH(vae.loss(x - 1.0, g1), TG_CONTAINS("VAE: pixel 0 is"));
  CHECK_THROWS_WITH(vae.decode(tg::zeros<double>({2, 3})), TG_CONTAINS("expected z of shape [B, 2], got [2, 3]"));
  // The loss with a fixed eps is a smooth function of every parameter.
  check_module_gradients(vae, [&] {
    tg::Generator fixed(12);
    return vae.loss(x, fixed).loss.reshape({1});
  });

  tg::manual_seed(7);
  models::VAE<float> small(models::VAEOptions{16, 12, 3});
  tg::Generator dg(8);
  // Two prototypes (left or right half lit) with 1 pixel in 16 flipped: little entropy to keep.
  std::vector<float> pixels;
  std::bernoulli_distribution flip(1.0 / 16);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 16; ++j) pixels.push_back(((j < 8) == (i % 2 == 0)) != flip(dg.engine()) ? 1.0f : 0.0f);
  const tg::Tensor<float> images = tg::from_vector(pixels, {16, 16});
  tg::optim::Adam<float> adam(small.parameters(), tg::optim::AdamOptions(0.02));
  tg::Generator noise(1);
  float first = 0, last = 0;
  for (int step = 0; step < 100; ++step) {
    adam.zero_grad();
    const auto l = small.loss(images, noise);
    l.loss.backward();
    adam.step();
    (step == 0 ? first : last) = l.loss.item();
  }
  INFO("loss " << first << " -> " << last);
  CHECK(last < 0.6f * first);
}

}  // namespace models_vision_test

#pragma once
// Models for Fashion-MNIST-sized images (inputs [B, 1, 28, 28] or flat [B, 784]):
//
//   FashionMLP               784 -> 256 -> 128 -> 10 (ReLU)                       class logits
//   FashionCNN               conv3x3(32) relu pool2, conv3x3(64) relu pool2,
//                            flatten, linear 128 relu, linear 10                   class logits
//   ContractiveAutoencoder   h = sigmoid(W x + b), logits = decoder(h);
//                            loss = BCE(x, logits) + lambda ||J_h(x)||_F^2 (Rifai et al. 2011)
//   VAE                      x -> (mu, logvar) -> z = mu + exp(logvar/2) eps -> pixel logits
//                            (Kingma & Welling 2014); loss = -ELBO
//
//   tg::models::FashionCNN<float> cnn;                        // the defaults are the sizes above
//   auto loss = tg::cross_entropy(cnn.forward(images), labels);
//   tg::models::VAE<float> vae;
//   tg::Generator gen(0);
//   auto parts = vae.loss(images, gen);                       // parts.loss.backward(); -parts.loss = ELBO
//   auto samples = vae.sample(16, gen);                       // [16, 784] pixel probabilities
//
// Every size is an option, so tests run the same code on tiny images.

#include "../nn.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tapegrad::models {

namespace vision_detail {
// [B, C, H, W] or [B, C*H*W] -> [B, features], refusing other widths.
template <typename T>
Tensor<T> flat_images(const char* model, const Tensor<T>& x, std::int64_t features) {
  if (x.dim() < 2 || x.numel() != x.size(0) * features)
    detail::fail<ShapeError>(model, ": expected images [B, ", features, "] (or [B, C, H, W] with C*H*W = ", features,
                             "), got ", detail::show(x.shape()));
  return x.reshape({x.size(0), features});
}
// Pixels are the targets of a Bernoulli likelihood: they must lie in [0, 1].
template <typename T>
void check_unit_pixels(const char* model, const Tensor<T>& x) {
  const T* p = x.data_ptr();
  for (std::int64_t i = 0; i < x.numel(); ++i)
    if (!(p[i] >= 0 && p[i] <= 1))
      detail::fail<ValueError>(model, ": pixel ", i, " is ", p[i],
                               "; the Bernoulli likelihood needs pixels in [0, 1] (divide bytes by 255)");
}
}  // namespace vision_detail

// ================================================================== MLP

struct MLPOptions {
  std::int64_t in_features = 784;
  std::vector<std::int64_t> hidden = {256, 128};
  std::int64_t classes = 10;
};

template <typename T>
class FashionMLP : public nn::Module<T> {
 public:
  std::shared_ptr<nn::Sequential<T>> layers;
  explicit FashionMLP(MLPOptions options = {}) : nn::Module<T>("FashionMLP"), in_features_(options.in_features) {
    detail::check_positive_size("FashionMLP", "in_features", options.in_features);
    layers = this->register_module("layers", std::make_shared<nn::Sequential<T>>());
    std::int64_t width = options.in_features;
    for (std::int64_t h : options.hidden) {
      layers->push_back(std::make_shared<nn::Linear<T>>(width, h));
      layers->push_back(std::make_shared<nn::ReLU<T>>());
      width = h;
    }
    layers->push_back(std::make_shared<nn::Linear<T>>(width, options.classes));
  }
  // [B, 784] or [B, 1, 28, 28] -> logits [B, classes].
  Tensor<T> forward(const Tensor<T>& x) override {
    return layers->forward(vision_detail::flat_images("FashionMLP", x, in_features_));
  }

 private:
  std::int64_t in_features_;
};

// ================================================================== CNN

// Shapes with the defaults (padding 1 keeps the size through each 3x3 convolution):
//   [B, 1, 28, 28] -conv1-> [B, 32, 28, 28] -pool-> [B, 32, 14, 14]
//                  -conv2-> [B, 64, 14, 14] -pool-> [B, 64, 7, 7] -flatten-> [B, 3136]
//                  -fc1-> [B, 128] -fc2-> [B, 10]
// With padding 0: 28 -> 26 -> 13 -> 11 -> 5, so fc1 takes 64 * 5 * 5 = 1600.
struct CNNOptions {
  std::int64_t in_channels = 1;
  std::int64_t image_size = 28;  // H = W
  std::int64_t channels1 = 32, channels2 = 64;
  std::int64_t hidden = 128;
  std::int64_t classes = 10;
  std::int64_t padding = 1;  // of both 3x3 convolutions: 1 ("same") or 0 ("valid")
};

template <typename T>
class FashionCNN : public nn::Module<T> {
 public:
  std::shared_ptr<nn::Conv2d<T>> conv1, conv2;
  std::shared_ptr<nn::MaxPool2d<T>> pool;
  std::shared_ptr<nn::Linear<T>> fc1, fc2;

  explicit FashionCNN(CNNOptions options = {}) : nn::Module<T>("FashionCNN"), options_(options) {
    if (options.padding != 0 && options.padding != 1)
      detail::fail<ValueError>("FashionCNN: padding must be 0 or 1, got ", options.padding);
    if (flattened_side() < 1)
      detail::fail<ValueError>("FashionCNN: image_size ", options.image_size, " is too small for two 3x3 convolutions "
                               "and two 2x2 poolings with padding ", options.padding);
    conv1 = this->register_module("conv1", std::make_shared<nn::Conv2d<T>>(options.in_channels, options.channels1, 3,
                                                                          1, options.padding));
    conv2 = this->register_module("conv2", std::make_shared<nn::Conv2d<T>>(options.channels1, options.channels2, 3,
                                                                          1, options.padding));
    pool = this->register_module("pool", std::make_shared<nn::MaxPool2d<T>>(2));
    const std::int64_t side = flattened_side();
    fc1 = this->register_module("fc1", std::make_shared<nn::Linear<T>>(options.channels2 * side * side, options.hidden));
    fc2 = this->register_module("fc2", std::make_shared<nn::Linear<T>>(options.hidden, options.classes));
  }
  // The side of the feature map before flattening: each conv takes 2 - 2 padding, each pool halves (floor).
  std::int64_t flattened_side() const {
    const std::int64_t shrink = 2 - 2 * options_.padding;
    const std::int64_t after1 = (options_.image_size - shrink) / 2;
    return (after1 - shrink) / 2;
  }
  // [B, C, S, S] or flat [B, C*S*S] -> logits [B, classes].
  Tensor<T> forward(const Tensor<T>& x) override {
    const std::int64_t c = options_.in_channels, s = options_.image_size;
    const Tensor<T> images = vision_detail::flat_images("FashionCNN", x, c * s * s).reshape({x.size(0), c, s, s});
    Tensor<T> y = pool->forward(relu(conv1->forward(images)));
    y = pool->forward(relu(conv2->forward(y)));
    return fc2->forward(relu(fc1->forward(y.flatten(1))));
  }

 private:
  CNNOptions options_;
};

// ================================================================== contractive autoencoder

struct ContractiveAutoencoderOptions {
  std::int64_t in_features = 784;
  std::int64_t hidden = 64;
  double lambda = 0.1;               // weight of the contractive penalty
  std::int64_t jacobian_probes = 0;  // 0: the exact ||J||_F^2 (one VJP per hidden unit); m > 0: m random probes
  std::uint64_t probe_seed = 0;
};

template <typename T>
struct ContractiveLoss {
  Tensor<T> loss, reconstruction, penalty;  // loss = reconstruction + lambda * penalty, each per-sample averaged
};

template <typename T>
class ContractiveAutoencoder : public nn::Module<T> {
 public:
  std::shared_ptr<nn::Linear<T>> encoder, decoder;

  explicit ContractiveAutoencoder(ContractiveAutoencoderOptions options = {})
      : nn::Module<T>("ContractiveAutoencoder"), options_(options), probes_(options.probe_seed) {
    if (options.jacobian_probes < 0 || !(options.lambda >= 0))
      detail::fail<ValueError>("ContractiveAutoencoder: jacobian_probes (", options.jacobian_probes,
                               ") and lambda (", options.lambda, ") must be >= 0");
    encoder = this->register_module("encoder", std::make_shared<nn::Linear<T>>(options.in_features, options.hidden));
    decoder = this->register_module("decoder", std::make_shared<nn::Linear<T>>(options.hidden, options.in_features));
  }

  // h = sigmoid(W x + b) [B, hidden].
  Tensor<T> encode(const Tensor<T>& x) {
    return sigmoid(encoder->forward(vision_detail::flat_images("ContractiveAutoencoder", x, options_.in_features)));
  }
  // Reconstruction logits [B, in_features] (sigmoid gives the pixels).
  Tensor<T> forward(const Tensor<T>& x) override { return decoder->forward(encode(x)); }

  // mean_b ||dh/dx (x_b)||_F^2 by double backward: with probes v (basis vectors e_j, or
  // Rademacher vectors with E[v v^T] = I), ||J||_F^2 = sum_j ||J^T e_j||^2 = E ||J^T v||^2,
  // and each J^T v is one vector-Jacobian product recorded with create_graph, so the
  // penalty's own gradient reaches W and b. Samples are independent, so one VJP serves
  // the whole batch. Under a NoGradGuard the Jacobian is still taken (grad mode is
  // switched on inside) and the value comes back without a graph.
  Tensor<T> contractive_penalty(const Tensor<T>& x) {
    const bool record = is_grad_enabled();
    EnableGradGuard jacobian_needs_grad;
    Tensor<T> input = vision_detail::flat_images("ContractiveAutoencoder", x, options_.in_features).detach();
    input.requires_grad_(true);
    const Tensor<T> h = encode(input);
    const std::int64_t batch = h.size(0), hidden = h.size(1);
    const std::int64_t probes = options_.jacobian_probes ? options_.jacobian_probes : hidden;
    Tensor<T> total = zeros<T>({});
    for (std::int64_t j = 0; j < probes; ++j) {
      const Tensor<T> vjp = grad<T>(std::vector<Tensor<T>>{h}, {input}, {probe(j, batch, hidden)},
                                    /*retain_graph=*/true, /*create_graph=*/record)[0];
      total = total + (vjp * vjp).sum();
    }
    const T scale = options_.jacobian_probes ? T(options_.jacobian_probes) : T(1);
    const Tensor<T> penalty = total / (scale * static_cast<T>(batch));
    return record ? penalty : penalty.detach();
  }
  // The same for this encoder in closed form: dh_j/dx_i = h_j (1 - h_j) W_ji, so
  //   ||J||_F^2 = sum_j (h_j (1 - h_j))^2 sum_i W_ji^2.
  Tensor<T> contractive_penalty_closed_form(const Tensor<T>& x) {
    const Tensor<T> h = encode(x);
    const Tensor<T> slope = h * (T(1) - h);
    return (slope * slope * (encoder->weight * encoder->weight).sum(1)).sum(1).mean();
  }

  // BCE-with-logits summed over pixels (x in [0, 1]) plus lambda times the penalty,
  // both averaged over the batch.
  ContractiveLoss<T> loss(const Tensor<T>& x) {
    const Tensor<T> target = vision_detail::flat_images("ContractiveAutoencoder", x, options_.in_features);
    vision_detail::check_unit_pixels("ContractiveAutoencoder", target);
    const Tensor<T> reconstruction =
        binary_cross_entropy_with_logits(forward(target), target, Tensor<T>(), Reduction::sum) /
        static_cast<T>(target.size(0));
    const Tensor<T> penalty = contractive_penalty(target);
    return {reconstruction + penalty * static_cast<T>(options_.lambda), reconstruction, penalty};
  }

 private:
  Tensor<T> probe(std::int64_t j, std::int64_t batch, std::int64_t hidden) {
    Tensor<T> v = zeros<T>({batch, hidden});
    T* p = v.data_ptr();
    std::bernoulli_distribution coin(0.5);
    for (std::int64_t b = 0; b < batch; ++b)
      for (std::int64_t i = 0; i < hidden; ++i)
        p[b * hidden + i] = options_.jacobian_probes ? (coin(probes_.engine()) ? T(1) : T(-1)) : T(i == j ? 1 : 0);
    return v;
  }

  ContractiveAutoencoderOptions options_;
  Generator probes_;
};

// ================================================================== VAE

struct VAEOptions {
  std::int64_t in_features = 784;
  std::int64_t hidden = 256;
  std::int64_t latent = 16;
};

template <typename T>
struct VAEEncoding {
  Tensor<T> mu, logvar;  // [B, latent] each
};
template <typename T>
struct VAELoss {
  Tensor<T> loss;            // reconstruction + kl = -ELBO, per-sample averaged
  Tensor<T> reconstruction;  // BCE-with-logits summed over pixels, averaged over the batch
  Tensor<T> kl;              // KL(q(z|x) || N(0, I)), averaged over the batch
  Tensor<T> elbo() const { return -loss; }
};

template <typename T>
class VAE : public nn::Module<T> {
 public:
  std::shared_ptr<nn::Linear<T>> encoder, to_mu, to_logvar, decoder_hidden, decoder_out;

  explicit VAE(VAEOptions options = {}) : nn::Module<T>("VAE"), options_(options) {
    encoder = this->register_module("encoder", std::make_shared<nn::Linear<T>>(options.in_features, options.hidden));
    to_mu = this->register_module("to_mu", std::make_shared<nn::Linear<T>>(options.hidden, options.latent));
    to_logvar = this->register_module("to_logvar", std::make_shared<nn::Linear<T>>(options.hidden, options.latent));
    decoder_hidden =
        this->register_module("decoder_hidden", std::make_shared<nn::Linear<T>>(options.latent, options.hidden));
    decoder_out =
        this->register_module("decoder_out", std::make_shared<nn::Linear<T>>(options.hidden, options.in_features));
  }

  VAEEncoding<T> encode(const Tensor<T>& x) {
    const Tensor<T> h = relu(encoder->forward(vision_detail::flat_images("VAE", x, options_.in_features)));
    return {to_mu->forward(h), to_logvar->forward(h)};
  }
  // z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) from gen: differentiable in mu and logvar.
  static Tensor<T> reparameterize(const Tensor<T>& mu, const Tensor<T>& logvar, Generator& gen) {
    if (mu.shape() != logvar.shape())
      detail::fail<ShapeError>("VAE::reparameterize: mu ", detail::show(mu.shape()), " and logvar ",
                               detail::show(logvar.shape()), " must have the same shape");
    return mu + exp(logvar * T(0.5)) * randn<T>(mu.shape(), gen);
  }
  // Pixel logits [B, in_features] of latent codes z [B, latent].
  Tensor<T> decode(const Tensor<T>& z) {
    if (z.dim() != 2 || z.size(1) != options_.latent)
      detail::fail<ShapeError>("VAE::decode: expected z of shape [B, ", options_.latent, "], got ",
                               detail::show(z.shape()));
    return decoder_out->forward(relu(decoder_hidden->forward(z)));
  }
  // The deterministic reconstruction: logits of decode(mu).
  Tensor<T> forward(const Tensor<T>& x) override { return decode(encode(x).mu); }

  // KL(N(mu, diag exp(logvar)) || N(0, I)) = -0.5 sum (1 + logvar - mu^2 - exp(logvar)),
  // summed over the latent dims and averaged over the batch.
  static Tensor<T> kl_divergence(const Tensor<T>& mu, const Tensor<T>& logvar) {
    return (T(1) + logvar - mu * mu - exp(logvar)).sum() * (T(-0.5) / static_cast<T>(mu.size(0)));
  }
  // -ELBO for pixels x in [0, 1], one z per sample drawn from gen.
  VAELoss<T> loss(const Tensor<T>& x, Generator& gen) {
    const Tensor<T> target = vision_detail::flat_images("VAE", x, options_.in_features);
    vision_detail::check_unit_pixels("VAE", target);
    const VAEEncoding<T> q = encode(target);
    const Tensor<T> logits = decode(reparameterize(q.mu, q.logvar, gen));
    const Tensor<T> reconstruction =
        binary_cross_entropy_with_logits(logits, target, Tensor<T>(), Reduction::sum) / static_cast<T>(target.size(0));
    const Tensor<T> kl = kl_divergence(q.mu, q.logvar);
    return {reconstruction + kl, reconstruction, kl};
  }
  // n images decoded from z ~ N(0, I): pixel probabilities [n, in_features], no graph.
  Tensor<T> sample(std::int64_t n, Generator& gen) {
    detail::check_positive_size("VAE::sample", "n", n);
    NoGradGuard no_grad;
    return sigmoid(decode(randn<T>({n, options_.latent}, gen)));
  }

 private:
  VAEOptions options_;
};

}  // namespace tapegrad::models

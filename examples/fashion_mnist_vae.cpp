// A variational autoencoder on the real Fashion-MNIST (Kingma & Welling 2014): an MLP
// encoder to (mu, logvar) of a 16-dim latent, the reparameterization z = mu + exp(logvar/2) eps
// (eps from a seeded generator, so the gradient flows to mu and logvar), an MLP decoder to
// pixel logits; loss = -ELBO = BCE summed over pixels + KL(q(z|x) || N(0, I)). Per epoch the
// test ELBO, reconstruction and KL; PNGs of test reconstructions and of samples z ~ N(0, I).
// Short run (300 batches): the test ELBO rises by more than 200 nats from the untrained model's.
#include <tapegrad/data/fashion_mnist.hpp>
#include <tapegrad/io.hpp>
#include <tapegrad/io/png.hpp>
#include <tapegrad/models.hpp>
#include <tapegrad/optim.hpp>

#include <array>
#include <cstdio>
#include <iostream>

#include "model_example.hpp"

namespace tg = tapegrad;

int main(int argc, char** argv) {
  const auto args = example::parse_model_args(argc, argv);
  tg::manual_seed(1);
  const tg::data::FashionMNIST<float> data("", /*channel_dim=*/true);
  tg::models::VAE<float> vae;  // 784 -> 256 -> 16 (mu, logvar) -> 256 -> 784
  std::cout << vae << "\n";

  // The test set's ELBO with one z per image from a fixed generator (the same eps each time).
  auto evaluate = [&] {
    vae.eval();
    tg::NoGradGuard no_grad;
    tg::Generator eval_gen(123);
    const auto parts = vae.loss(data.test.images, eval_gen);
    return std::array<double, 3>{-parts.loss.item(), parts.reconstruction.item(), parts.kl.item()};
  };
  const double untrained_elbo = evaluate()[0];

  const int epochs = args.full ? 10 : 1;
  const std::int64_t max_batches = args.full ? 0 : 300;
  tg::data::TensorDataset train(data.train.images, data.train.labels);
  tg::data::DataLoader loader(train, tg::data::DataLoaderOptions(128).shuffle(true).seed(1).prefetch(true));
  tg::optim::Adam<float> adam(vae.parameters(), tg::optim::AdamOptions(1e-3));
  tg::Generator noise(7);
  example::EpochReport report(args.out);
  std::array<double, 3> test{};
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    vae.train();
    const double train_loss = example::train_epoch(loader, epoch, epochs, max_batches, [&](auto& batch) {
      adam.zero_grad();
      auto loss = vae.loss(std::get<0>(batch), noise).loss;
      loss.backward();
      adam.step();
      return static_cast<double>(loss.item());
    });
    test = evaluate();
    report.epoch(epoch, {{"train_loss", train_loss},
                         {"test_elbo", test[0]},
                         {"test_reconstruction", test[1]},
                         {"test_kl", test[2]}});
  }

  tg::NoGradGuard no_grad;
  const auto originals = tg::narrow(data.test.images, 0, 0, 16);
  const auto reconstructions = tg::sigmoid(vae.forward(originals)).reshape({16, 1, 28, 28});
  tg::save_image(tg::cat<float>({originals, reconstructions}, 0), args.out + "/reconstructions.png", {8, 2, 1.0});
  tg::Generator sampler(2024);
  tg::save_image(vae.sample(64, sampler).reshape({64, 1, 28, 28}), args.out + "/samples.png", {8, 2, 1.0});
  tg::save(vae.state_dict(), args.out + "/fashion_mnist_vae.safetensors");
  std::printf("images: %s/{reconstructions,samples}.png; checkpoint: %s/fashion_mnist_vae.safetensors\n",
              args.out.c_str(), args.out.c_str());

  example::check(test[0] > untrained_elbo + 200, "test ELBO " + std::to_string(test[0]) + " > untrained " +
                                                     std::to_string(untrained_elbo) + " + 200");
  return example::finish();
}

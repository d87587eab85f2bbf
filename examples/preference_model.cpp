// The encoder / comparator / predictor model of customer-product preferences: a customer
// encoder and a product encoder map feature vectors to 32-dim embeddings, a comparator
// combines them ([u, p, u*p, |u-p|] -> MLP -> a 16-dim preference vector), a predictor turns
// that into a purchase-propensity logit; Adam 1e-3 and binary cross entropy.
//
// Data (synthetic, seeded): 2,000 customers and 300 products, each with a hidden 4-dim taste
// or profile vector seen only through noisy linear features (12 per customer, 10 per
// product); a customer buys a product with probability sigmoid(3 <taste, profile>). Per
// epoch: test AUC, precision and recall on held-out pairs. At the end the trained encoders'
// embeddings of every customer and product are exported as .npy files for clustering
// (np.load("customer_embeddings.npy")). Short run: 2 epochs, test AUC above 0.7; --full: 10.
#include <tapegrad/io.hpp>
#include <tapegrad/metrics.hpp>
#include <tapegrad/models.hpp>
#include <tapegrad/optim.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <vector>

#include "model_example.hpp"

namespace tg = tapegrad;

struct Population {
  tg::Tensor<float> features;    // [n, f]
  std::vector<double> latent;    // [n, 4], row-major
};

// n entities with a hidden N(0, I_4) vector each, observed through f noisy linear features.
Population population(std::int64_t n, std::int64_t f, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> mixing(static_cast<std::size_t>(f * 4));
  for (auto& m : mixing) m = normal(rng) * 0.5;
  Population out;
  std::vector<float> features;
  for (std::int64_t i = 0; i < n; ++i) {
    double z[4];
    for (double& v : z) out.latent.push_back(v = normal(rng));
    for (std::int64_t j = 0; j < f; ++j) {
      double x = 0.3 * normal(rng);
      for (int k = 0; k < 4; ++k) x += mixing[static_cast<std::size_t>(j * 4 + k)] * z[k];
      features.push_back(static_cast<float>(x));
    }
  }
  out.features = tg::from_vector<float>(features, {n, f});
  return out;
}

struct Pairs {
  tg::Tensor<std::int64_t> customer, product;  // [N] indices
  tg::Tensor<float> label;                     // [N] purchased or not
};

Pairs draw_pairs(std::int64_t count, const Population& customers, const Population& products, std::mt19937_64& rng) {
  const auto nc = customers.features.size(0), np = products.features.size(0);
  std::uniform_int_distribution<std::int64_t> pick_c(0, nc - 1), pick_p(0, np - 1);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::vector<std::int64_t> c(static_cast<std::size_t>(count)), p(c.size());
  std::vector<float> y(c.size());
  for (std::size_t i = 0; i < c.size(); ++i) {
    c[i] = pick_c(rng);
    p[i] = pick_p(rng);
    double affinity = 0;
    for (int k = 0; k < 4; ++k)
      affinity += customers.latent[static_cast<std::size_t>(c[i] * 4 + k)] * products.latent[static_cast<std::size_t>(p[i] * 4 + k)];
    y[i] = coin(rng) < 1.0 / (1.0 + std::exp(-3.0 * affinity / 2.0)) ? 1.0f : 0.0f;
  }
  return {tg::from_vector<std::int64_t>(c, {count}), tg::from_vector<std::int64_t>(p, {count}),
          tg::from_vector<float>(y, {count})};
}

int main(int argc, char** argv) {
  const auto args = example::parse_model_args(argc, argv);
  std::mt19937_64 rng(11);
  const Population customers = population(2000, 12, rng), products = population(300, 10, rng);
  const Pairs train = draw_pairs(40000, customers, products, rng), test = draw_pairs(10000, customers, products, rng);

  tg::manual_seed(1);
  tg::models::PreferenceOptions options;
  options.customer_features = 12;
  options.product_features = 10;
  tg::models::PreferenceModel<float> model(options);
  std::cout << model << "\n";

  const int epochs = args.full ? 10 : 2;
  tg::data::TensorDataset pairs(train.customer, train.product, train.label);
  tg::data::DataLoader loader(pairs, tg::data::DataLoaderOptions(128).shuffle(true).seed(1));
  tg::optim::Adam<float> adam(model.parameters(), tg::optim::AdamOptions(1e-3));
  example::EpochReport report(args.out);
  const auto test_customers = tg::index_select(customers.features, 0, test.customer);
  const auto test_products = tg::index_select(products.features, 0, test.product);
  double auc = 0;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    model.train();
    const double train_loss = example::train_epoch(loader, epoch, epochs, 0, [&](auto& batch) {
      auto& [c, p, y] = batch;
      adam.zero_grad();
      auto loss = model.loss(tg::index_select(customers.features, 0, c), tg::index_select(products.features, 0, p), y);
      loss.backward();
      adam.step();
      return static_cast<double>(loss.item());
    });
    model.eval();
    tg::NoGradGuard no_grad;
    const auto logits = model.forward(test_customers, test_products);
    const auto scores = example::binary_scores(logits, test.label);
    auc = scores.auc;
    report.epoch(epoch, {{"train_loss", train_loss},
                         {"test_auc", scores.auc},
                         {"test_precision", scores.precision},
                         {"test_recall", scores.recall}});
  }

  // The encoders' embeddings, for clustering customers and products outside this program.
  const auto customer_embeddings = model.customer_embeddings(customers.features);
  const auto product_embeddings = model.product_embeddings(products.features);
  tg::save_npy(customer_embeddings, args.out + "/customer_embeddings.npy");
  tg::save_npy(product_embeddings, args.out + "/product_embeddings.npy");
  tg::save(model.state_dict(), args.out + "/preference_model.safetensors");
  std::printf("embeddings: %s/{customer,product}_embeddings.npy [%lld, %lld] and [%lld, %lld]\n", args.out.c_str(),
              static_cast<long long>(customer_embeddings.size(0)), static_cast<long long>(customer_embeddings.size(1)),
              static_cast<long long>(product_embeddings.size(0)), static_cast<long long>(product_embeddings.size(1)));
  const auto reloaded = tg::load_npy<float>(args.out + "/customer_embeddings.npy");
  example::check(reloaded.shape() == customer_embeddings.shape() &&
                     reloaded.to_vector() == customer_embeddings.to_vector(),
                 "the exported customer embeddings read back unchanged");
  example::check(auc > 0.7, "test AUC " + std::to_string(auc) + " > 0.7 (chance: 0.5)");
  return example::finish();
}

// DeepFM (Guo et al. 2017) on MovieLens: per-field embeddings (UserID, Gender, Age,
// Occupation, Zip-code, MovieID, and the genres as a mean-pooled multi-hot field) shared by
// the first-order terms' table, the factorization-machine term 0.5((sum v)^2 - sum v^2) and a
// DNN [256, 32] with ReLU; label rating > 3; Adam 1e-3, batch 128, binary cross entropy.
// Per epoch: test AUC, precision and recall (probability above 0.5, i.e. logit above 0).
//
// Data: --movielens DIR reads a downloaded ml-1m or ml-100k
// (https://grouplens.org/datasets/movielens/); without it, synthetic ml-1m files (the
// licence does not allow shipping the real ones) are written and read back through the
// same reader. Short run: 1 epoch, test AUC asserted above 0.65; --full: 10 epochs.
#include <tapegrad/io.hpp>
#include <tapegrad/metrics.hpp>
#include <tapegrad/models.hpp>
#include <tapegrad/optim.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>

#include "model_example.hpp"
#include "movielens_inputs.hpp"

namespace tg = tapegrad;

int main(int argc, char** argv) {
  const auto args = example::parse_model_args(argc, argv);
  const auto data = example::load_movielens_inputs<float>(args.movielens, /*split_seed=*/1);
  std::printf("MovieLens: %s\n%lld train / %lld test ratings; vocabularies:", data.source.c_str(),
              static_cast<long long>(data.train.labels.numel()), static_cast<long long>(data.test.labels.numel()));
  for (std::size_t f = 0; f < data.field_names.size(); ++f)
    std::printf(" %s %lld", data.field_names[f].c_str(), static_cast<long long>(data.field_dims[f]));
  std::printf(", %lld genres\n", static_cast<long long>(data.genres));
  if (!std::isnan(data.bayes_auc)) std::printf("the generator's own score reaches AUC %.4f\n", data.bayes_auc);

  tg::manual_seed(1);
  tg::models::DeepFMOptions options;
  options.field_dims = data.field_dims;
  options.field_names = data.field_names;
  options.multi_hot_dim = data.genres;
  options.multi_hot_name = "Genres";
  tg::models::DeepFM<float> model(options);
  std::cout << model << "\n";

  const int epochs = args.full ? 10 : 1;
  tg::data::TensorDataset train(data.train.ids, data.train.genres, data.train.labels);
  tg::data::DataLoader loader(train, tg::data::DataLoaderOptions(128).shuffle(true).seed(1).prefetch(true));
  tg::optim::Adam<float> adam(model.parameters(), tg::optim::AdamOptions(1e-3));
  example::EpochReport report(args.out);
  double auc = 0;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    model.train();
    const double train_loss = example::train_epoch(loader, epoch, epochs, 0, [&](auto& batch) {
      auto& [ids, genres, labels] = batch;
      adam.zero_grad();
      auto loss = tg::binary_cross_entropy_with_logits(model.forward(ids, genres), labels);
      loss.backward();
      adam.step();
      return static_cast<double>(loss.item());
    });
    model.eval();
    tg::NoGradGuard no_grad;
    const auto logits = model.forward(data.test.ids, data.test.genres);  // the test table in one batch
    const auto scores = example::binary_scores(logits, data.test.labels);
    auc = scores.auc;
    report.epoch(epoch, {{"train_loss", train_loss},
                         {"test_loss", tg::binary_cross_entropy_with_logits(logits, data.test.labels).item()},
                         {"test_auc", scores.auc},
                         {"test_precision", scores.precision},
                         {"test_recall", scores.recall}});
  }
  tg::save(model.state_dict(), args.out + "/deepfm_movielens.safetensors");
  std::printf("checkpoint: %s/deepfm_movielens.safetensors\n", args.out.c_str());
  example::check(auc > 0.65, "test AUC " + std::to_string(auc) + " > 0.65 (chance: 0.5)");
  return example::finish();
}

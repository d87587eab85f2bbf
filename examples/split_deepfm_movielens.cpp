// Split DeepFM on MovieLens between two parties, each its own object with its own
// parameters and its own Adam (1e-3):
//   alice  the user fields (UserID, Gender, Age, Occupation, Zip-code) and her base model
//   bob    the movie fields (MovieID, the genres), his base model, the fuse model
//          [256, 256, 32] and the labels (rating > 3)
// Only the cut activations (alice -> bob) and their gradients (bob -> alice) cross, through
// a Channel (here in-process; tests/models/split_test.cpp proves split training gives the
// parameters of the same model trained whole). Two runs from the same initialization:
//   dense       float32 activations and gradients
//   compressed  SplitRec's knobs: activations top-32 per row, both directions fp16, and
//               Gaussian noise (std 0.01) on the sent activations
// Per epoch: test AUC, precision, recall and the bytes sent per step. Short run: 1 epoch,
// both AUCs above 0.65; --full: 10 epochs. --movielens DIR reads a downloaded ml-1m/ml-100k.
#include <tapegrad/io.hpp>
#include <tapegrad/metrics.hpp>
#include <tapegrad/models.hpp>
#include <tapegrad/optim.hpp>

#include <cstdio>
#include <iostream>

#include "model_example.hpp"
#include "movielens_inputs.hpp"

namespace tg = tapegrad;
namespace models = tapegrad::models;
using Ids = tg::Tensor<std::int64_t>;

// Columns 0..4 of the ids are alice's (the user's fields), column 5 bob's (MovieID).
Ids columns(const Ids& ids, std::vector<std::int64_t> which) {
  const auto n = static_cast<std::int64_t>(which.size());
  return tg::index_select(ids, 1, tg::from_vector<std::int64_t>(std::move(which), {n}));
}
Ids alice_columns(const Ids& ids) { return columns(ids, {0, 1, 2, 3, 4}); }
Ids bob_columns(const Ids& ids) { return columns(ids, {5}); }

struct Outcome {
  double auc = 0;
  double bytes_per_step = 0;
};

Outcome train(const std::string& name, const models::SplitDeepFM<float>& initial,
              const models::SplitDeepFMOptions& options, const models::CutOptions& cut,
              const example::MovieLensInputs<float>& data, const example::ModelArgs& args) {
  // The two parties start from the same initialization as every other run.
  auto alice_model = models::make_split_alice<float>(options);
  auto bob_model = std::make_shared<models::SplitBob<float>>(options);
  alice_model->load_state_dict(initial.alice->state_dict());
  bob_model->load_state_dict(initial.bob->state_dict());
  models::InProcessChannel channel;
  models::AliceParty<float> alice(alice_model, channel, tg::optim::AdamOptions(1e-3), cut);
  models::BobParty<float> bob(bob_model, channel, tg::optim::AdamOptions(1e-3), cut);

  const int epochs = args.full ? 10 : 1;
  tg::data::TensorDataset train_set(data.train.ids, data.train.genres, data.train.labels);
  tg::data::DataLoader loader(train_set, tg::data::DataLoaderOptions(128).shuffle(true).seed(1).prefetch(true));
  example::EpochReport report(args.out + "/" + name);
  const Ids test_alice = alice_columns(data.test.ids), test_bob = bob_columns(data.test.ids);
  Outcome outcome;
  std::printf("--- %s\n", name.c_str());
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    channel.reset_counters();
    alice_model->train();
    bob_model->train();
    const double train_loss = example::train_epoch(loader, epoch, epochs, 0, [&](auto& batch) {
      auto& [ids, genres, labels] = batch;
      return static_cast<double>(
          models::split_train_step(alice, bob, alice_columns(ids), bob_columns(ids), genres, labels).item());
    });
    outcome.bytes_per_step = static_cast<double>(channel.bytes_sent()) / static_cast<double>(loader.size());
    alice_model->eval();
    bob_model->eval();
    alice.send(test_alice);  // inference crosses the same cut, without gradients
    const auto logits = bob.predict(test_bob, data.test.genres);
    const auto scores = example::binary_scores(logits, data.test.labels);
    outcome.auc = scores.auc;
    report.epoch(epoch, {{"train_loss", train_loss},
                         {"test_auc", scores.auc},
                         {"test_precision", scores.precision},
                         {"test_recall", scores.recall},
                         {"bytes_per_step", outcome.bytes_per_step}});
  }
  tg::save(alice_model->state_dict(), args.out + "/" + name + "/alice.safetensors");
  tg::save(bob_model->state_dict(), args.out + "/" + name + "/bob.safetensors");
  return outcome;
}

int main(int argc, char** argv) {
  const auto args = example::parse_model_args(argc, argv);
  const auto data = example::load_movielens_inputs<float>(args.movielens, /*split_seed=*/1);
  std::printf("MovieLens: %s\n%lld train / %lld test ratings\n", data.source.c_str(),
              static_cast<long long>(data.train.labels.numel()), static_cast<long long>(data.test.labels.numel()));

  models::SplitDeepFMOptions options;
  options.alice_fields.field_dims = {data.field_dims.begin(), data.field_dims.begin() + 5};
  options.alice_fields.field_names = {data.field_names.begin(), data.field_names.begin() + 5};
  options.bob_fields.field_dims = {data.field_dims[5]};
  options.bob_fields.field_names = {data.field_names[5]};
  options.bob_fields.multi_hot_dim = data.genres;
  options.bob_fields.multi_hot_name = "Genres";
  tg::manual_seed(1);
  const models::SplitDeepFM<float> initial(options);
  std::cout << initial << "\n";

  models::CutOptions compressed;
  compressed.activations.top_k = 32;
  compressed.activations.fp16 = true;
  compressed.gradients.fp16 = true;
  compressed.noise_std = 0.01;
  compressed.noise_seed = 5;
  const Outcome dense = train("dense", initial, options, {}, data, args);
  const Outcome small = train("compressed", initial, options, compressed, data, args);
  std::printf("bytes per step: dense %.0f, compressed %.0f (%.1fx fewer); test AUC dense %.4f, compressed %.4f\n",
              dense.bytes_per_step, small.bytes_per_step, dense.bytes_per_step / small.bytes_per_step, dense.auc,
              small.auc);
  example::check(dense.auc > 0.65, "dense cut: test AUC " + std::to_string(dense.auc) + " > 0.65 (chance: 0.5)");
  example::check(small.auc > 0.65, "compressed cut: test AUC " + std::to_string(small.auc) + " > 0.65");
  example::check(small.bytes_per_step < 0.6 * dense.bytes_per_step, "compression sends under 60% of the bytes");
  return example::finish();
}

// Trains an MLP classifier end to end with the training toolkit, checkpoints it, and
// resumes it in a fresh process:
//
//   1. three interleaved spirals (2-D points, 3 classes); MLP 2 -> 64 -> 64 -> 3;
//      Adam (lr 1e-2, weight decay) with a cosine schedule, mini-batches, gradient clipping;
//   2. after half the epochs: model, optimizer and scheduler state saved as safetensors
//      files, and the test-set logits with them;
//   3. the program runs itself again (`--resume DIR`): a new process builds a new model,
//      loads the checkpoint, and its logits must equal the saved ones bit for bit; it then
//      trains the second half and writes its final logits;
//   4. this process trains its own second half: the two final models must agree bit for bit,
//      which holds only if the checkpoint carried every piece of state (Adam's moments and
//      step counts, the schedule's epoch); each epoch's shuffle is seeded by the epoch alone.
#include <tapegrad/io.hpp>
#include <tapegrad/nn.hpp>
#include <tapegrad/optim.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <random>
#include <string>

#include "check.hpp"

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
namespace optim = tapegrad::optim;
using example::check;
using Tensor = tg::Tensor<float>;

constexpr int kEpochs = 40;
constexpr int kCheckpointEpoch = 20;
constexpr std::int64_t kBatch = 32;

struct Dataset {
  Tensor points;                       // [n, 2]
  tg::Tensor<std::int64_t> labels;     // [n]
};

// Class c's points lie along a spiral arm rotated by 2 pi c / 3, with noise.
Dataset spirals(std::int64_t per_class, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<float> noise(0.0f, 0.08f);
  std::vector<float> xy;
  std::vector<std::int64_t> labels;
  for (std::int64_t c = 0; c < 3; ++c)
    for (std::int64_t i = 0; i < per_class; ++i) {
      const float r = static_cast<float>(i + 1) / static_cast<float>(per_class);
      const float angle = 4.0f * r + 2.0943951f * static_cast<float>(c);
      xy.push_back(r * std::cos(angle) + noise(engine));
      xy.push_back(r * std::sin(angle) + noise(engine));
      labels.push_back(c);
    }
  const std::int64_t n = 3 * per_class;
  return {tg::from_vector<float>(xy, {n, 2}), tg::from_vector<std::int64_t>(labels, {n})};
}

std::shared_ptr<nn::Sequential<float>> make_model() {
  return std::make_shared<nn::Sequential<float>>(std::make_shared<nn::Linear<float>>(2, 64),
                                                 std::make_shared<nn::ReLU<float>>(),
                                                 std::make_shared<nn::Linear<float>>(64, 64),
                                                 std::make_shared<nn::ReLU<float>>(),
                                                 std::make_shared<nn::Linear<float>>(64, 3));
}

// Everything that changes while training, and so everything a checkpoint must hold.
struct Trainer {
  std::shared_ptr<nn::Sequential<float>> model = make_model();
  optim::Adam<float> adam{model->parameters(), optim::AdamOptions(1e-2).weight_decay(1e-4)};
  optim::CosineAnnealingLR<float> schedule{adam, kEpochs, 1e-4};

  // One epoch of mini-batches in an order drawn from the epoch number; returns the mean loss.
  double train_epoch(const Dataset& data, int epoch) {
    model->train();
    const std::int64_t n = data.labels.numel();
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 shuffle(1000 + static_cast<std::uint64_t>(epoch));
    std::shuffle(order.begin(), order.end(), shuffle);
    double total = 0;
    int batches = 0;
    for (std::int64_t start = 0; start < n; start += kBatch) {
      const std::int64_t size = std::min(kBatch, n - start);
      const auto index = tg::from_vector<std::int64_t>(
          std::vector<std::int64_t>(order.begin() + start, order.begin() + start + size), {size});
      adam.zero_grad();
      Tensor loss = tg::cross_entropy(model->forward(tg::index_select(data.points, 0, index)),
                                      tg::index_select(data.labels, 0, index));
      loss.backward();
      nn::utils::clip_grad_norm_(model->parameters(), 1.0);
      adam.step();
      total += loss.item();
      ++batches;
    }
    schedule.step();
    return total / batches;
  }

  Tensor logits(const Dataset& data) {
    model->eval();
    tg::NoGradGuard no_grad;
    return model->forward(data.points);
  }

  void save(const std::string& dir) const {
    tg::StateDict<float> checkpoint;
    checkpoint.merge(model->state_dict(), "model.");
    checkpoint.merge(adam.state_dict(), "optimizer.");
    tg::save(checkpoint, dir + "/checkpoint.safetensors", {{"epoch", std::to_string(schedule.last_epoch())}});
    // The schedule's state is double (its base lr 1e-2 is not a float); its own file keeps it exact.
    tg::save(schedule.state_dict(), dir + "/schedule.safetensors");
  }

  void load(const std::string& dir) {
    const auto checkpoint = tg::load<float>(dir + "/checkpoint.safetensors");
    model->load_state_dict(checkpoint.with_prefix("model."));
    adam.load_state_dict(checkpoint.with_prefix("optimizer."));
    schedule.load_state_dict(tg::load<double>(dir + "/schedule.safetensors"));
  }
};

double accuracy(const Tensor& logits, const tg::Tensor<std::int64_t>& labels) {
  const auto predicted = tg::argmax(logits, 1);
  std::int64_t right = 0;
  for (std::int64_t i = 0; i < labels.numel(); ++i) right += predicted.data_ptr()[i] == labels.data_ptr()[i];
  return static_cast<double>(right) / static_cast<double>(labels.numel());
}

bool bit_identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data_ptr(), b.data_ptr(), sizeof(float) * static_cast<std::size_t>(a.numel())) == 0;
}

const Dataset& train_set() {
  static const Dataset data = spirals(200, 1);
  return data;
}
const Dataset& test_set() {
  static const Dataset data = spirals(100, 2);
  return data;
}

// The second process: a new model from the checkpoint, then the rest of the run.
int resume(const std::string& dir) {
  tg::manual_seed(99);  // a different initialization, all of it overwritten by the checkpoint
  Trainer trainer;
  trainer.load(dir);
  const auto saved = tg::load<float>(dir + "/logits.safetensors");
  check(bit_identical(trainer.logits(test_set()), saved.at("at_checkpoint")),
        "fresh process: the reloaded model's test logits equal the saved ones bit for bit");
  check(trainer.schedule.last_epoch() == kCheckpointEpoch, "fresh process: the schedule resumes at epoch 20");
  for (int epoch = kCheckpointEpoch; epoch < kEpochs; ++epoch) trainer.train_epoch(train_set(), epoch);
  tg::StateDict<float> out;
  out.insert("final", trainer.logits(test_set()));
  tg::save(out, dir + "/resumed_logits.safetensors");
  return example::finish();
}

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--resume") return resume(argv[2]);

  tg::manual_seed(7);
  Trainer trainer;
  std::cout << *trainer.model << "\n";
  const double initial_loss = tg::cross_entropy(trainer.logits(train_set()), train_set().labels).item();
  double loss = 0;
  for (int epoch = 0; epoch < kCheckpointEpoch; ++epoch) {
    loss = trainer.train_epoch(train_set(), epoch);
    if (epoch % 5 == 4) std::printf("epoch %2d  loss %.4f  lr %.5f\n", epoch + 1, loss, trainer.adam.lr(0));
  }

  // The checkpoint goes to a fresh temporary directory, removed at the end.
  namespace fs = std::filesystem;
  const fs::path temp = fs::temp_directory_path() / ("tapegrad-train-mlp-" + std::to_string(std::random_device{}()));
  fs::create_directories(temp);
  const std::string dir = temp.string();
  trainer.save(dir);
  tg::StateDict<float> logits;
  logits.insert("at_checkpoint", trainer.logits(test_set()));
  tg::save(logits, dir + "/logits.safetensors");
  std::printf("checkpoint written after epoch %d: %s/{checkpoint,schedule}.safetensors\n", kCheckpointEpoch,
              dir.c_str());

  // The same program as a new process, resuming from the files alone.
  const std::string command = std::string("\"") + argv[0] + "\" --resume \"" + dir + "\"";
  std::printf("--- %s\n", command.c_str());
  std::fflush(stdout);
  const int status = std::system(command.c_str());
  std::printf("--- back in the first process\n");
  check(status == 0, "the resumed process ran and its checks passed");

  for (int epoch = kCheckpointEpoch; epoch < kEpochs; ++epoch) {
    loss = trainer.train_epoch(train_set(), epoch);
    if (epoch % 5 == 4) std::printf("epoch %2d  loss %.4f  lr %.5f\n", epoch + 1, loss, trainer.adam.lr(0));
  }
  const Tensor final_logits = trainer.logits(test_set());
  const double test_accuracy = accuracy(final_logits, test_set().labels);
  std::printf("train loss %.4f -> %.4f, test accuracy %.3f\n", initial_loss, loss, test_accuracy);
  check(loss < 0.25 * initial_loss, "the training loss falls below a quarter of its initial value");
  check(test_accuracy > 0.9, "test accuracy on held-out spirals above 90%");
  check(std::abs(trainer.adam.lr(0) - 1e-4) < 1e-9, "the cosine schedule ends at eta_min = 1e-4");
  if (status == 0) {
    const auto resumed = tg::load<float>(dir + "/resumed_logits.safetensors");
    check(bit_identical(final_logits, resumed.at("final")),
          "training resumed in the other process ends with the same model, bit for bit");
  }
  fs::remove_all(temp);
  return example::finish();
}

// The models of examples/ trained against the same models in libtorch (torch::nn,
// torch::optim), same data, same data order, same batch size, one thread, in one run:
// per-epoch time, the time to evaluate the whole test set in one batch, and the final
// metric of both sides over several seeds.
//
//   tapegrad_models_bench [--models deepfm,mlp,cnn] [--epochs N] [--seeds N] [--batch B]
//                         [--train-limit N] [--movielens DIR] [--quick]
//
//   deepfm  DeepFM on MovieLens (a downloaded ml-1m/ml-100k with --movielens DIR, else
//           synthetic ml-1m files: 1000 users, 800 movies, 100k ratings, so the test split
//           is the 20,000-row table evaluated in one batch); Adam 1e-3, BCE; metric test AUC
//   mlp     Fashion-MNIST MLP 784-256-128-10; Adam 1e-3, cross entropy; test accuracy
//   cnn     Fashion-MNIST CNN conv3x3(32) relu pool2 conv3x3(64) relu pool2 fc128 fc10; as above
//
// Each side initializes its own model from the seed (both use PyTorch's default
// initializations, so the distributions are equal, the draws are not); the batch order of
// epoch e is one permutation drawn from (seed, e) and used by both. Times are wall-clock
// (one thread: there is nothing else to wait for). scripts/run_benchmarks.sh --suite models
// builds it and runs it; --quick is the CI smoke run (a few batches).
#include <tapegrad/data/fashion_mnist.hpp>
#include <tapegrad/metrics.hpp>
#include <tapegrad/models.hpp>
#include <tapegrad/optim.hpp>

#include "../examples/movielens_inputs.hpp"

#ifdef TAPEGRAD_HAVE_TORCH
#include <torch/torch.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#ifndef TAPEGRAD_BENCH_FLAGS
#define TAPEGRAD_BENCH_FLAGS "(unknown)"
#endif

namespace tg = tapegrad;
namespace models = tapegrad::models;
using Clock = std::chrono::steady_clock;

namespace {

struct Config {
  std::vector<std::string> models = {"deepfm", "mlp", "cnn"};
  int epochs = 5;
  int seeds = 3;
  std::int64_t batch = 128;
  std::int64_t train_limit = 0;  // 0: every training sample
  std::string movielens;
  bool quick = false;
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The batches of epoch `epoch`: a permutation of [0, n) drawn from (seed, epoch).
std::vector<std::vector<std::int64_t>> epoch_batches(std::int64_t n, std::int64_t batch, std::uint64_t seed,
                                                     int epoch) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed * 1000003u + static_cast<std::uint64_t>(epoch));
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::vector<std::int64_t>> out;
  for (std::int64_t start = 0; start < n; start += batch)
    out.emplace_back(order.begin() + start, order.begin() + std::min(n, start + batch));
  return out;
}

// What one side's run measured.
struct Run {
  double epoch_seconds = 0;  // mean over the epochs
  double eval_seconds = 0;   // the best of 3 evaluations of the whole test set in one batch
  double metric = 0;
};

// Times `evaluate` (which returns the metric) three times and keeps the best.
template <typename F>
void time_evaluation(Run& run, F&& evaluate) {
  run.eval_seconds = 1e300;
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    run.metric = evaluate();
    run.eval_seconds = std::min(run.eval_seconds, seconds_since(start));
  }
}

// Trains for config.epochs epochs in the batch order of (seed, epoch) and returns the mean
// epoch time. `batch_loss(rows)` builds one batch's loss; the model, its optimizer and the
// loss's backward are tapegrad's or libtorch's alike (the same method names).
template <typename Model, typename Optimizer, typename BatchLoss>
double train_epochs(Model& model, Optimizer& optimizer, std::int64_t samples, const Config& config,
                    std::uint64_t seed, BatchLoss&& batch_loss) {
  double seconds = 0;
  for (int epoch = 0; epoch < config.epochs; ++epoch) {
    model.train();
    const auto start = Clock::now();
    for (const auto& rows : epoch_batches(samples, config.batch, seed, epoch)) {
      optimizer.zero_grad();
      auto loss = batch_loss(rows);
      loss.backward();
      optimizer.step();
    }
    seconds += seconds_since(start) / config.epochs;
  }
  model.eval();
  return seconds;
}

tg::Tensor<std::int64_t> index_tensor(const std::vector<std::int64_t>& rows) {
  return tg::from_vector<std::int64_t>(rows, {static_cast<std::int64_t>(rows.size())});
}

// ------------------------------------------------------------------ data

struct ImageData {
  tg::Tensor<float> train_x, test_x;  // [N, 1, 28, 28]
  tg::Tensor<std::int64_t> train_y, test_y;
};

ImageData fashion_mnist(const Config& config) {
  ImageData d;
  auto train = tg::data::load_fashion_mnist<float>("train", "", true);
  auto test = tg::data::load_fashion_mnist<float>("t10k", "", true);
  d.train_x = train.images;
  d.train_y = train.labels;
  if (config.train_limit > 0 && config.train_limit < d.train_y.numel()) {
    std::vector<std::int64_t> first(static_cast<std::size_t>(config.train_limit));
    std::iota(first.begin(), first.end(), 0);
    d.train_x = tg::index_select(d.train_x, 0, index_tensor(first));
    d.train_y = tg::index_select(d.train_y, 0, index_tensor(first));
  }
  d.test_x = test.images;
  d.test_y = test.labels;
  return d;
}

example::MovieLensInputs<float> movielens(const Config& config) {
  tg::data::SyntheticMovieLensOptions synthetic;
  synthetic.num_users = 1000;
  synthetic.num_movies = 800;
  synthetic.num_ratings = 100000;
  auto inputs = example::load_movielens_inputs<float>(config.movielens, 1, synthetic);
  if (config.train_limit > 0 && config.train_limit < inputs.train.labels.numel()) {
    std::vector<std::int64_t> first(static_cast<std::size_t>(config.train_limit));
    std::iota(first.begin(), first.end(), 0);
    const auto index = index_tensor(first);
    inputs.train = {tg::index_select(inputs.train.ids, 0, index), tg::index_select(inputs.train.genres, 0, index),
                    tg::index_select(inputs.train.labels, 0, index)};
  }
  return inputs;
}

// ------------------------------------------------------------------ tapegrad

template <typename Model>
Run tapegrad_images(Model& model, const ImageData& d, const Config& config, std::uint64_t seed) {
  tg::optim::Adam<float> adam(model.parameters(), tg::optim::AdamOptions(1e-3));
  Run run;
  run.epoch_seconds = train_epochs(model, adam, d.train_y.numel(), config, seed, [&](const auto& rows) {
    const auto index = index_tensor(rows);
    return tg::cross_entropy(model.forward(tg::index_select(d.train_x, 0, index)), tg::index_select(d.train_y, 0, index));
  });
  time_evaluation(run, [&] {
    tg::NoGradGuard no_grad;
    return tg::metrics::accuracy(model.forward(d.test_x), d.test_y);
  });
  return run;
}

Run tapegrad_deepfm(const example::MovieLensInputs<float>& d, const Config& config, std::uint64_t seed) {
  tg::manual_seed(seed);
  models::DeepFMOptions options;
  options.field_dims = d.field_dims;
  options.field_names = d.field_names;
  options.multi_hot_dim = d.genres;
  models::DeepFM<float> model(options);
  tg::optim::Adam<float> adam(model.parameters(), tg::optim::AdamOptions(1e-3));
  Run run;
  run.epoch_seconds = train_epochs(model, adam, d.train.labels.numel(), config, seed, [&](const auto& rows) {
    const auto index = index_tensor(rows);
    auto logits = model.forward(tg::index_select(d.train.ids, 0, index), tg::index_select(d.train.genres, 0, index));
    return tg::binary_cross_entropy_with_logits(logits, tg::index_select(d.train.labels, 0, index));
  });
  time_evaluation(run, [&] {
    tg::NoGradGuard no_grad;
    return tg::metrics::roc_auc(model.forward(d.test.ids, d.test.genres), d.test.labels);
  });
  return run;
}

Run tapegrad_model(const std::string& name, const ImageData& images, const example::MovieLensInputs<float>& ratings,
                   const Config& config, std::uint64_t seed) {
  if (name == "deepfm") return tapegrad_deepfm(ratings, config, seed);
  tg::manual_seed(seed);
  if (name == "mlp") {
    models::FashionMLP<float> mlp;
    return tapegrad_images(mlp, images, config, seed);
  }
  models::FashionCNN<float> cnn;
  return tapegrad_images(cnn, images, config, seed);
}

#ifdef TAPEGRAD_HAVE_TORCH
// ------------------------------------------------------------------ libtorch

torch::Tensor to_torch(const tg::Tensor<float>& t) {
  return torch::from_blob(const_cast<float*>(t.data_ptr()), t.shape(), torch::kFloat32).clone();
}
torch::Tensor to_torch(const tg::Tensor<std::int64_t>& t) {
  return torch::from_blob(const_cast<std::int64_t*>(t.data_ptr()), t.shape(), torch::kInt64).clone();
}
tg::Tensor<float> from_torch(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  return tg::from_vector<float>(std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel()), {c.numel()});
}
torch::Tensor torch_index(const std::vector<std::int64_t>& rows) {
  return torch::from_blob(const_cast<std::int64_t*>(rows.data()), {static_cast<std::int64_t>(rows.size())},
                          torch::kInt64);
}

struct TorchMLP : torch::nn::Module {
  torch::nn::Linear fc1{784, 256}, fc2{256, 128}, fc3{128, 10};
  TorchMLP() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
    register_module("fc3", fc3);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return fc3(torch::relu(fc2(torch::relu(fc1(x.reshape({x.size(0), 784}))))));
  }
};

struct TorchCNN : torch::nn::Module {
  torch::nn::Conv2d conv1{torch::nn::Conv2dOptions(1, 32, 3).padding(1)};
  torch::nn::Conv2d conv2{torch::nn::Conv2dOptions(32, 64, 3).padding(1)};
  torch::nn::Linear fc1{64 * 7 * 7, 128}, fc2{128, 10};
  TorchCNN() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = torch::max_pool2d(torch::relu(conv1(x)), 2);
    h = torch::max_pool2d(torch::relu(conv2(h)), 2);
    return fc2(torch::relu(fc1(h.flatten(1))));
  }
};

// models::DeepFM written in torch::nn: one shared table of field embeddings v and first-order
// weights w (ids shifted by field offsets), the genres as mean-pooled bags (a multi-hot
// matrix times the bag table, over the row's genre count, 1 for an empty bag), the FM term
// 0.5 sum_k ((sum_f v)^2 - sum_f v^2), a DNN [256, 32] on the concatenated embeddings.
struct TorchDeepFM : torch::nn::Module {
  torch::nn::Embedding v{nullptr}, w{nullptr};
  torch::Tensor bag_v, bag_w, bias;
  torch::nn::Sequential dnn{nullptr};
  TorchDeepFM(std::int64_t total_ids, std::int64_t genres, std::int64_t fields, std::int64_t k = 8) {
    v = register_module("v", torch::nn::Embedding(total_ids, k));
    w = register_module("w", torch::nn::Embedding(total_ids, 1));
    bag_v = register_parameter("bag_v", torch::randn({genres, k}) * 1e-4);
    bag_w = register_parameter("bag_w", torch::randn({genres, 1}) * 1e-4);
    bias = register_parameter("bias", torch::zeros({1}));
    torch::nn::init::normal_(v->weight, 0.0, 1e-4);
    torch::nn::init::normal_(w->weight, 0.0, 1e-4);
    dnn = register_module("dnn", torch::nn::Sequential(torch::nn::Linear((fields + 1) * k, 256), torch::nn::ReLU(),
                                                       torch::nn::Linear(256, 32), torch::nn::ReLU(),
                                                       torch::nn::Linear(32, 1)));
  }
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& genres) {
    auto count = genres.sum(1, true);
    count = torch::where(count == 0, torch::ones_like(count), count);
    auto e = torch::cat({v(ids), (genres.mm(bag_v) / count).unsqueeze(1)}, 1);  // [B, F + 1, k]
    auto first = w(ids).sum({1, 2}) + (genres.mm(bag_w) / count).reshape({-1});
    auto field_sum = e.sum(1);
    auto fm = 0.5 * (field_sum * field_sum - (e * e).sum(1)).sum(1);
    return first + fm + dnn->forward(e.flatten(1)).reshape({-1}) + bias;
  }
};

template <typename Net>
Run torch_images(Net& model, const ImageData& d, const Config& config, std::uint64_t seed) {
  const auto train_x = to_torch(d.train_x), train_y = to_torch(d.train_y);
  const auto test_x = to_torch(d.test_x);
  torch::optim::Adam adam(model.parameters(), torch::optim::AdamOptions(1e-3));
  Run run;
  run.epoch_seconds = train_epochs(model, adam, d.train_y.numel(), config, seed, [&](const auto& rows) {
    const auto index = torch_index(rows);
    return torch::nn::functional::cross_entropy(model.forward(train_x.index_select(0, index)),
                                                train_y.index_select(0, index));
  });
  time_evaluation(run, [&] {
    torch::NoGradGuard no_grad;
    const auto logits = model.forward(test_x);
    const auto predicted = logits.argmax(1);
    return predicted.eq(to_torch(d.test_y)).to(torch::kFloat64).mean().template item<double>();
  });
  return run;
}

Run torch_deepfm(const example::MovieLensInputs<float>& d, const Config& config, std::uint64_t seed) {
  torch::manual_seed(seed);
  // The global ids of the shared table: field f's ids shifted by the sizes before it.
  std::vector<std::int64_t> offsets;
  std::int64_t total = 0;
  for (std::int64_t dim : d.field_dims) {
    offsets.push_back(total);
    total += dim;
  }
  const auto shift = torch::from_blob(offsets.data(), {1, static_cast<std::int64_t>(offsets.size())}, torch::kInt64);
  const auto train_ids = to_torch(d.train.ids) + shift, test_ids = to_torch(d.test.ids) + shift;
  const auto train_genres = to_torch(d.train.genres), test_genres = to_torch(d.test.genres);
  const auto train_labels = to_torch(d.train.labels);
  TorchDeepFM model(total, d.genres, static_cast<std::int64_t>(d.field_dims.size()));
  torch::optim::Adam adam(model.parameters(), torch::optim::AdamOptions(1e-3));
  Run run;
  run.epoch_seconds = train_epochs(model, adam, d.train.labels.numel(), config, seed, [&](const auto& rows) {
    const auto index = torch_index(rows);
    auto logits = model.forward(train_ids.index_select(0, index), train_genres.index_select(0, index));
    return torch::nn::functional::binary_cross_entropy_with_logits(logits, train_labels.index_select(0, index));
  });
  time_evaluation(run, [&] {
    torch::NoGradGuard no_grad;
    return tg::metrics::roc_auc(from_torch(model.forward(test_ids, test_genres)), d.test.labels);
  });
  return run;
}

Run torch_model(const std::string& name, const ImageData& images, const example::MovieLensInputs<float>& ratings,
                const Config& config, std::uint64_t seed) {
  if (name == "deepfm") return torch_deepfm(ratings, config, seed);
  torch::manual_seed(seed);
  if (name == "mlp") {
    TorchMLP mlp;
    return torch_images(mlp, images, config, seed);
  }
  TorchCNN cnn;
  return torch_images(cnn, images, config, seed);
}

// The CXX_FLAGS line of libtorch's build configuration.
std::string torch_flags() {
  std::istringstream config(torch::show_config());
  std::string line;
  while (std::getline(config, line))
    if (line.find("CXX_FLAGS") != std::string::npos) return line.substr(line.find_first_not_of(" -"));
  return "(not reported)";
}
#endif

Config parse(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--models") {
      c.models.clear();
      std::istringstream list(value());
      for (std::string m; std::getline(list, m, ',');) {
        if (m != "deepfm" && m != "mlp" && m != "cnn") {
          std::fprintf(stderr, "unknown model \"%s\" (deepfm, mlp, cnn)\n", m.c_str());
          std::exit(2);
        }
        c.models.push_back(m);
      }
    } else if (a == "--epochs") {
      c.epochs = std::stoi(value());
    } else if (a == "--seeds") {
      c.seeds = std::stoi(value());
    } else if (a == "--batch") {
      c.batch = std::stoll(value());
    } else if (a == "--train-limit") {
      c.train_limit = std::stoll(value());
    } else if (a == "--movielens") {
      c.movielens = value();
    } else if (a == "--quick") {
      c.quick = true;
    } else {
      std::fprintf(stderr, "unknown argument %s (see the top of bench/models_bench.cpp)\n", a.c_str());
      std::exit(2);
    }
  }
  if (c.quick) {
    c.epochs = 1;
    c.seeds = 1;
    c.train_limit = 512;
  }
  if (c.epochs < 1 || c.seeds < 1 || c.batch < 1) {
    std::fprintf(stderr, "--epochs, --seeds and --batch must be positive\n");
    std::exit(2);
  }
  return c;
}

const char* metric_name(const std::string& model) { return model == "deepfm" ? "test AUC" : "test accuracy"; }

}  // namespace

int main(int argc, char** argv) {
  const Config config = parse(argc, argv);
#ifdef TAPEGRAD_HAVE_TORCH
  torch::set_num_threads(1);
#endif
  const bool need_images = std::count(config.models.begin(), config.models.end(), "deepfm") <
                           static_cast<std::ptrdiff_t>(config.models.size());
  const bool need_ratings = std::count(config.models.begin(), config.models.end(), "deepfm") > 0;
  const ImageData images = need_images ? fashion_mnist(config) : ImageData{};
  const auto ratings = need_ratings ? movielens(config) : example::MovieLensInputs<float>{};

  std::printf("tapegrad models against libtorch: %d epoch(s), %d seed(s), batch %lld, one thread\n", config.epochs,
              config.seeds, static_cast<long long>(config.batch));
  std::printf("tapegrad flags: %s\n", TAPEGRAD_BENCH_FLAGS);
#ifdef TAPEGRAD_HAVE_TORCH
  std::printf("libtorch %s flags: %s\n", TORCH_VERSION, torch_flags().c_str());
#else
  std::printf("libtorch: not found at build time (install libtorch-dev); tapegrad only\n");
#endif
  if (need_ratings) std::printf("MovieLens: %s; %lld train / %lld test rows\n", ratings.source.c_str(),
                                static_cast<long long>(ratings.train.labels.numel()),
                                static_cast<long long>(ratings.test.labels.numel()));
  if (need_images) std::printf("Fashion-MNIST: %lld train / %lld test images\n",
                               static_cast<long long>(images.train_y.numel()),
                               static_cast<long long>(images.test_y.numel()));

  std::printf("\n| model | seed | epoch s tapegrad | epoch s libtorch | ratio | eval ms tapegrad | eval ms libtorch | "
              "ratio | metric tapegrad | metric libtorch |\n|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& name : config.models) {
    double tg_metric = 0, torch_metric = 0, tg_epoch = 0, torch_epoch = 0, tg_eval = 0, torch_eval = 0;
    for (int s = 0; s < config.seeds; ++s) {
      const auto seed = static_cast<std::uint64_t>(s + 1);
      const Run mine = tapegrad_model(name, images, ratings, config, seed);
      Run theirs{};
#ifdef TAPEGRAD_HAVE_TORCH
      theirs = torch_model(name, images, ratings, config, seed);
#endif
      std::printf("| %s | %llu | %.3f | %.3f | %.2fx | %.1f | %.1f | %.2fx | %.4f | %.4f |\n", name.c_str(),
                  static_cast<unsigned long long>(seed), mine.epoch_seconds, theirs.epoch_seconds,
                  mine.epoch_seconds / theirs.epoch_seconds, 1e3 * mine.eval_seconds, 1e3 * theirs.eval_seconds,
                  mine.eval_seconds / theirs.eval_seconds, mine.metric, theirs.metric);
      std::fflush(stdout);
      tg_metric += mine.metric / config.seeds;
      torch_metric += theirs.metric / config.seeds;
      tg_epoch += mine.epoch_seconds / config.seeds;
      torch_epoch += theirs.epoch_seconds / config.seeds;
      tg_eval += mine.eval_seconds / config.seeds;
      torch_eval += theirs.eval_seconds / config.seeds;
    }
    std::printf("| **%s mean** | | %.3f | %.3f | %.2fx | %.1f | %.1f | %.2fx | %.4f | %.4f |\n", name.c_str(), tg_epoch,
                torch_epoch, tg_epoch / torch_epoch, 1e3 * tg_eval, 1e3 * torch_eval, tg_eval / torch_eval, tg_metric,
                torch_metric);
    std::printf("  (%s: %s difference %+.4f)\n", name.c_str(), metric_name(name), tg_metric - torch_metric);
  }
  return 0;
}

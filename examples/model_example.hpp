#pragma once
// What the model examples share: their command line, the epoch loop with a progress bar,
// and the per-epoch line plus training log.
//
//   example-NAME [--out DIR] [--full] [--movielens DIR]
//
//   --out DIR        where the log (log.csv, log.jsonl), the checkpoint and images go
//                    (default: the current directory); scripts/plot_training.py draws
//                    DIR/log.csv as a curve
//   --full           the full run (e.g. 5 epochs over all of Fashion-MNIST); without it a
//                    short run of a few hundred batches whose metric is asserted above chance
//   --movielens DIR  the MovieLens examples: a downloaded ml-1m or ml-100k directory instead
//                    of synthetic files
#include <tapegrad/data/dataloader.hpp>
#include <tapegrad/metrics.hpp>
#include <tapegrad/train.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "check.hpp"

namespace example {

struct ModelArgs {
  std::string out = ".";
  bool full = false;
  std::string movielens;
};

inline ModelArgs parse_model_args(int argc, char** argv) {
  ModelArgs args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--full") {
      args.full = true;
    } else if ((a == "--out" || a == "--movielens") && i + 1 < argc) {
      (a == "--out" ? args.out : args.movielens) = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--out DIR] [--full] [--movielens DIR]\n", argv[0]);
      std::exit(2);
    }
  }
  std::filesystem::create_directories(args.out);
  return args;
}

// One epoch over `loader`, at most `max_batches` batches (0: all), with a progress bar;
// `step(batch)` trains on one batch and returns its loss. Returns the mean loss.
template <typename Loader, typename Step>
double train_epoch(Loader& loader, int epoch, int epochs, std::int64_t max_batches, Step&& step) {
  const std::int64_t total = max_batches > 0 ? std::min<std::int64_t>(max_batches, loader.size()) : loader.size();
  tapegrad::train::ProgressBar bar(total, std::cerr,
                                   tapegrad::train::ProgressBarOptions().description(
                                       "epoch " + std::to_string(epoch) + "/" + std::to_string(epochs)));
  std::int64_t done = 0;
  for (auto& batch : loader) {
    if (done == total) break;  // leaving early stops the loader's prefetch thread
    bar.step(step(batch));
    ++done;
  }
  bar.finish();
  return bar.mean_loss();
}

// A binary classifier's test metrics from its logits: the AUC, and precision and recall of
// "probability > 0.5", which is "logit > 0" (no sigmoid needed).
struct BinaryScores {
  double auc = 0, precision = 0, recall = 0;
};
template <typename T>
BinaryScores binary_scores(const tapegrad::Tensor<T>& logits, const tapegrad::Tensor<T>& labels) {
  namespace metrics = tapegrad::metrics;
  const auto positive_logit = metrics::ClassificationOptions().threshold(0.0);
  return {metrics::roc_auc(logits, labels), metrics::precision(logits, labels, positive_logit),
          metrics::recall(logits, labels, positive_logit)};
}

// The per-epoch line on stdout and the same record in DIR/log.csv and DIR/log.jsonl.
class EpochReport {
 public:
  explicit EpochReport(const std::string& dir)
      : log_((std::filesystem::create_directories(dir), tapegrad::train::TrainingLogOptions().csv(dir + "/log.csv").jsonl(dir + "/log.jsonl"))) {}

  void epoch(int epoch, const std::vector<std::pair<std::string, double>>& values) {
    std::printf("epoch %d", epoch);
    for (const auto& [name, value] : values) std::printf("  %s %.4f", name.c_str(), value);
    std::printf("\n");
    std::fflush(stdout);
    tapegrad::train::LogRecord record = {{"epoch", epoch}};
    for (const auto& [name, value] : values) record.push_back({name, value});
    log_.log(record);
  }

 private:
  tapegrad::train::TrainingLog log_;
};

}  // namespace example

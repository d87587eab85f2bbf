#pragma once
// Streaming accumulators for a training loop: update per batch, read per epoch, reset.
//
//   tg::metrics::Mean loss;                          // weighted running mean
//   tg::metrics::Accuracy acc;                       // argmax of logits [N, C] vs labels
//   tg::metrics::BinaryClassificationStats stats(0.5);  // tp/fp/tn/fn at a threshold
//   for (auto& batch : loader) {
//     auto logits = model.forward(batch.x);
//     loss.update(tg::cross_entropy(logits, batch.y), batch.size);   // batch mean, weighted by its size
//     acc.update(logits, batch.y);
//   }
//   std::printf("loss %.4f acc %.4f\n", loss.compute(), acc.compute());
//   loss.reset(); acc.reset();
//
// Each accumulator gives exactly the one-shot metric over the concatenated batches
// (counts are integers; Mean's sums are compensated doubles). A batch that fails its
// checks changes nothing; an empty batch is allowed and adds nothing.

#include "classification.hpp"

#include <cmath>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

namespace tapegrad {
namespace metrics {
namespace detail {

// Neumaier's compensated sum: the running error term keeps a sum of millions of small
// losses accurate to about one rounding, where a plain double sum drifts by ~n ulps.
class CompensatedSum {
 public:
  void add(double x) {
    const double total = sum_ + x;
    compensation_ += std::abs(sum_) >= std::abs(x) ? (sum_ - total) + x : (x - total) + sum_;
    sum_ = total;
  }
  // An infinite or NaN sum has no meaningful error term (inf - inf is NaN): report it as is.
  double value() const { return std::isfinite(sum_) ? sum_ + compensation_ : sum_; }
  void reset() { sum_ = compensation_ = 0; }

 private:
  double sum_ = 0, compensation_ = 0;
};

}  // namespace detail

// Weighted running mean, sum(w_i x_i) / sum(w_i): for losses, weight a batch's mean loss
// by the batch size so the epoch value is the mean over samples, not over batches.
// A NaN or infinite value is kept (the epoch mean shows it), since it signals divergence.
class Mean {
 public:
  void update(double value, double weight = 1.0) {
    check_weight(weight);
    add(value, weight);
  }

  // Every element of `values` (a 0-d loss or per-sample losses) with the same weight.
  template <typename T>
  void update(const Tensor<T>& values, double weight = 1.0) {
    static_assert(std::is_arithmetic_v<T>, "Mean::update: values must be a numeric tensor");
    if (!values.defined()) tapegrad::detail::fail<ValueError>("Mean::update: values is an undefined tensor");
    check_weight(weight);
    const T* data = values.data_ptr();
    for (std::int64_t i = 0; i < values.numel(); ++i) add(double(data[i]), weight);
  }

  double compute() const {
    if (total_weight() == 0)
      tapegrad::detail::fail<ValueError>("Mean::compute: no values yet (total weight 0); call update(value, weight) first");
    return weighted_sum_.value() / total_weight();
  }

  double total_weight() const { return weight_sum_.value(); }
  void reset() {
    weighted_sum_.reset();
    weight_sum_.reset();
  }

 private:
  static void check_weight(double weight) {
    if (!(weight >= 0 && std::isfinite(weight)))
      tapegrad::detail::fail<ValueError>("Mean::update: weight must be finite and >= 0, got ", weight,
                                         " (pass the batch size, or 1)");
  }
  void add(double value, double weight) {
    weighted_sum_.add(weight * value);
    weight_sum_.add(weight);
  }

  detail::CompensatedSum weighted_sum_, weight_sum_;
};

// Streaming accuracy: correct / total over every batch since the last reset. Predictions
// as for metrics::accuracy (class ids, [N, C] rows, or scores with the threshold).
class Accuracy {
 public:
  explicit Accuracy(std::optional<double> threshold = std::nullopt) : threshold_(threshold) {}

  template <typename P, typename L>
  void update(const Tensor<P>& predictions, const Tensor<L>& labels) {
    std::vector<std::int64_t> predicted, actual;
    detail::read_classes("Accuracy::update", predictions, labels, threshold_, predicted, actual, true);
    for (std::size_t i = 0; i < actual.size(); ++i) correct_ += predicted[i] == actual[i];
    total_ += std::int64_t(actual.size());
  }

  double compute() const {
    if (total_ == 0) tapegrad::detail::fail<ValueError>("Accuracy::compute: no samples yet; call update(predictions, labels) first");
    return double(correct_) / double(total_);
  }

  std::int64_t correct() const { return correct_; }
  std::int64_t total() const { return total_; }
  void reset() { correct_ = total_ = 0; }

 private:
  std::optional<double> threshold_;
  std::int64_t correct_ = 0, total_ = 0;
};

// The binary confusion counts at a threshold, accumulated over batches, and the metrics
// they give (equal to metrics::precision/recall/f1/accuracy with average Binary,
// pos_label 1, over the concatenated batches). Float scores are class 1 where score >
// threshold; integer predictions must be 0/1; [N, 2] rows take the argmax.
class BinaryClassificationStats {
 public:
  explicit BinaryClassificationStats(double threshold = 0.5, double zero_division = 0.0)
      : threshold_(threshold), zero_division_(zero_division) {
    if (std::isnan(threshold))
      tapegrad::detail::fail<ValueError>("BinaryClassificationStats: threshold is NaN; pass 0.5 for probabilities, 0 for logits");
    detail::check_zero_division("BinaryClassificationStats", zero_division);
  }

  template <typename P, typename L>
  void update(const Tensor<P>& predictions, const Tensor<L>& labels) {
    const char* name = "BinaryClassificationStats::update";
    std::vector<std::int64_t> predicted, actual;
    detail::read_classes(name, predictions, labels, threshold_for(predictions), predicted, actual, true);
    detail::check_binary(name, "labels", actual, "; for multiclass use Accuracy or per_class_scores");
    detail::check_binary(name, "predictions", predicted, "; for multiclass use Accuracy or per_class_scores");
    for (std::size_t i = 0; i < actual.size(); ++i) ++counts_[actual[i]][predicted[i]];
  }

  std::int64_t tp() const { return counts_[1][1]; }
  std::int64_t fp() const { return counts_[0][1]; }
  std::int64_t tn() const { return counts_[0][0]; }
  std::int64_t fn() const { return counts_[1][0]; }
  std::int64_t total() const { return tp() + fp() + tn() + fn(); }

  double precision() const { return checked_ratio("precision", double(tp()), double(tp() + fp())); }
  double recall() const { return checked_ratio("recall", double(tp()), double(tp() + fn())); }
  double f1() const { return checked_ratio("f1", 2.0 * double(tp()), double(2 * tp() + fp() + fn())); }
  double accuracy() const { return checked_ratio("accuracy", double(tp() + tn()), double(total())); }

  void reset() { counts_[0][0] = counts_[0][1] = counts_[1][0] = counts_[1][1] = 0; }

 private:
  // The threshold applies to 1-D float scores; class ids and [N, C] rows do without.
  template <typename P>
  std::optional<double> threshold_for(const Tensor<P>& predictions) const {
    if constexpr (std::is_floating_point_v<P>) {
      const bool rows = predictions.defined() && predictions.dim() == 2 && predictions.size(1) >= 2;
      if (!rows) return threshold_;
    }
    return std::nullopt;
  }

  double checked_ratio(const char* metric, double numerator, double denominator) const {
    if (total() == 0)
      tapegrad::detail::fail<ValueError>("BinaryClassificationStats::", metric,
                                         ": no samples yet; call update(predictions, labels) first");
    return detail::ratio(numerator, denominator, zero_division_);
  }

  double threshold_, zero_division_;
  std::int64_t counts_[2][2] = {{0, 0}, {0, 0}};  // [actual][predicted]
};

}  // namespace metrics
}  // namespace tapegrad

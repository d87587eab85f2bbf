#pragma once
// The area under the ROC curve of a binary classifier, exact (no bins), in O(n log n):
// the probability that a random positive scores above a random negative, ties counting
// one half (the Mann-Whitney U statistic, sklearn's roc_auc_score). The ROC curve itself
// (sklearn's roc_curve) and RocAuc, which accumulates batches and gives exactly the
// one-shot value over their concatenation.
//
//   double auc = tg::metrics::roc_auc(scores, labels);      // scores [N] float, labels [N] 0/1
//   tg::metrics::RocAuc running;  running.update(batch_scores, batch_labels);  running.compute();

#include "classification.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace tapegrad {
namespace metrics {

// sklearn's roc_curve: false and true positive rates at every distinct threshold, in
// decreasing threshold order; the first point is (0, 0) at threshold +inf.
struct RocCurve {
  std::vector<double> fpr, tpr, thresholds;
};

namespace detail {

struct ScoredSample {
  double score;  // float scores widen to double exactly, so their order and ties are kept
  bool positive;
};

constexpr const char* kAucLabelFix = "; ROC AUC is binary (for one class against the rest, pass labels == k)";

// Checks a batch completely before returning it, so a failed update changes nothing.
template <typename T, typename L>
std::vector<ScoredSample> scored_samples(const char* fn, const Tensor<T>& scores, const Tensor<L>& labels,
                                         bool allow_empty) {
  static_assert(std::is_floating_point_v<T>, "roc_auc: scores must be a float or double tensor");
  const T* s = column_data(fn, "scores", scores);
  const std::vector<std::int64_t> y = class_ids(fn, "labels", labels);
  const auto n = std::int64_t(y.size());
  if (!allow_empty || n != 0 || scores.size(0) != 0) check_same_length(fn, scores.size(0), n, "scores");
  check_binary(fn, "labels", y, kAucLabelFix);
  std::vector<ScoredSample> samples(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (std::isnan(s[i]))
      fail<ValueError>(fn, ": score at index ", i, " is NaN; ROC AUC ranks the scores and NaN has no rank "
                       "(check the model's output for a diverged loss)");
    samples[i] = {double(s[i]), y[i] == 1};
  }
  return samples;
}

inline void check_both_classes(const char* fn, std::int64_t positives, std::int64_t negatives) {
  if (positives == 0 || negatives == 0)
    fail<ValueError>(fn, ": Only one class present in y_true. ROC AUC score is not defined in that case. (",
                     positives, " positives, ", negatives, " negatives; evaluate on more or stratified samples)");
}

// AUC = (R+ - n+(n+ + 1)/2) / (n+ n-), R+ the sum of the positives' ranks with tied scores
// given their average rank. Equivalently U / (n+ n-) with
//   U = sum over positives of (negatives scored below + negatives tied / 2),
// which is what is summed here, per group of equal scores and doubled to stay an integer:
// exact for any n up to 2^32 (2U <= n^2 / 2 < 2^64).
inline double roc_auc_of(const char* fn, std::vector<ScoredSample> samples) {
  if (samples.size() > (std::size_t(1) << 32))
    fail<ValueError>(fn, ": ", samples.size(), " samples is more than the 2^32 the exact count supports");
  std::sort(samples.begin(), samples.end(), [](const ScoredSample& a, const ScoredSample& b) { return a.score < b.score; });
  std::uint64_t twice_u = 0, negatives_below = 0, positives = 0;
  for (std::size_t i = 0; i < samples.size();) {
    std::uint64_t tied_positives = 0, tied_negatives = 0;
    std::size_t j = i;
    for (; j < samples.size() && samples[j].score == samples[i].score; ++j) ++(samples[j].positive ? tied_positives : tied_negatives);
    twice_u += tied_positives * (2 * negatives_below + tied_negatives);
    negatives_below += tied_negatives;
    positives += tied_positives;
    i = j;
  }
  check_both_classes(fn, std::int64_t(positives), std::int64_t(negatives_below));
  return double(twice_u) / (2.0 * double(positives) * double(negatives_below));
}

// sklearn's drop_intermediate: keep the ends and the corners, drop points on a straight
// run (zero second difference of both counts), which do not change the curve's shape.
inline std::vector<std::size_t> corner_points(const std::vector<double>& fps, const std::vector<double>& tps) {
  std::vector<std::size_t> keep;
  for (std::size_t i = 0; i < fps.size(); ++i) {
    const bool end = i == 0 || i + 1 == fps.size();
    if (end || fps[i + 1] - 2 * fps[i] + fps[i - 1] != 0 || tps[i + 1] - 2 * tps[i] + tps[i - 1] != 0) keep.push_back(i);
  }
  return keep;
}

inline RocCurve roc_curve_of(const char* fn, std::vector<ScoredSample> samples, bool drop_intermediate) {
  std::sort(samples.begin(), samples.end(), [](const ScoredSample& a, const ScoredSample& b) { return a.score > b.score; });
  // Counts at or above each distinct score, from the highest down.
  std::vector<double> fps, tps, thresholds;
  double tp = 0, fp = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    (samples[i].positive ? tp : fp) += 1;
    if (i + 1 == samples.size() || samples[i + 1].score != samples[i].score) {
      tps.push_back(tp);
      fps.push_back(fp);
      thresholds.push_back(samples[i].score);
    }
  }
  check_both_classes(fn, std::int64_t(tp), std::int64_t(fp));
  std::vector<std::size_t> keep(fps.size());
  for (std::size_t i = 0; i < keep.size(); ++i) keep[i] = i;
  if (drop_intermediate && fps.size() > 2) keep = corner_points(fps, tps);
  RocCurve curve{{0.0}, {0.0}, {std::numeric_limits<double>::infinity()}};
  for (std::size_t k : keep) {
    curve.fpr.push_back(fps[k] / fp);
    curve.tpr.push_back(tps[k] / tp);
    curve.thresholds.push_back(thresholds[k]);
  }
  return curve;
}

}  // namespace detail

// ROC AUC of 1-D scores (any monotone score: logits, probabilities) against 0/1 labels.
// Throws ValueError when the labels hold one class only, or a score is NaN.
template <typename T, typename L>
double roc_auc(const Tensor<T>& scores, const Tensor<L>& labels) {
  return detail::roc_auc_of("roc_auc", detail::scored_samples("roc_auc", scores, labels, false));
}

// The ROC curve's points (fpr, tpr) and the score threshold of each (class 1 where score
// >= threshold). drop_intermediate (sklearn's default) leaves out collinear points.
template <typename T, typename L>
RocCurve roc_curve(const Tensor<T>& scores, const Tensor<L>& labels, bool drop_intermediate = true) {
  return detail::roc_curve_of("roc_curve", detail::scored_samples("roc_curve", scores, labels, false),
                              drop_intermediate);
}

// Exact ROC AUC over batches: keeps every (score, label), 16 bytes of memory per sample,
// so compute() equals roc_auc over the concatenated batches exactly, whatever the split.
class RocAuc {
 public:
  // Adds a batch; an empty batch (the tail of an epoch) is allowed and adds nothing.
  template <typename T, typename L>
  void update(const Tensor<T>& scores, const Tensor<L>& labels) {
    const auto batch = detail::scored_samples("RocAuc::update", scores, labels, true);
    samples_.insert(samples_.end(), batch.begin(), batch.end());
  }

  double compute() const {
    check_not_empty("RocAuc::compute");
    return detail::roc_auc_of("RocAuc::compute", samples_);
  }

  RocCurve curve(bool drop_intermediate = true) const {
    check_not_empty("RocAuc::curve");
    return detail::roc_curve_of("RocAuc::curve", samples_, drop_intermediate);
  }

  void reset() { samples_.clear(); }
  std::int64_t num_samples() const { return std::int64_t(samples_.size()); }

 private:
  void check_not_empty(const char* fn) const {
    if (samples_.empty()) tapegrad::detail::fail<ValueError>(fn, ": no samples yet; call update(scores, labels) first");
  }

  std::vector<detail::ScoredSample> samples_;
};

}  // namespace metrics
}  // namespace tapegrad

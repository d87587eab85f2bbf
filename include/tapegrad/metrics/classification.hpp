#pragma once
// Classification metrics with scikit-learn's definitions: accuracy, precision, recall,
// F1 (binary, macro, micro, weighted), per-class scores, the confusion matrix and the
// log loss. Arguments come in training-loop order, predictions first:
//
//   double acc = tg::metrics::accuracy(logits, labels);             // logits [N, C], labels [N]
//   double f1  = tg::metrics::f1(probs, labels, tg::metrics::ClassificationOptions().threshold(0.5));
//   double mf1 = tg::metrics::f1(logits, labels, tg::metrics::ClassificationOptions().average(tg::metrics::Average::Macro));
//
// Predictions are class ids (Tensor<int64_t>, or a float tensor holding whole numbers),
// float scores or probabilities with a threshold (class 1 where score > threshold), or
// logits / probabilities [N, C] (the class is the argmax of each row, the first on ties).
// Labels are class ids: Tensor<int64_t>, or a float tensor holding 0/1 or whole numbers.
// Every metric reads the tensors' values only; nothing is recorded for autograd.

#include "../core.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace tapegrad {
namespace metrics {

// How precision, recall and F1 combine the classes (sklearn's `average`).
enum class Average {
  Binary,    // the score of class pos_label; labels and predictions must be 0/1
  Macro,     // the plain mean of the per-class scores: every class counts the same
  Micro,     // the score of the pooled counts: every sample counts the same
  Weighted,  // the mean of the per-class scores weighted by each class's support
};

inline const char* to_string(Average average) {
  switch (average) {
    case Average::Binary: return "Binary";
    case Average::Macro: return "Macro";
    case Average::Micro: return "Micro";
    case Average::Weighted: return "Weighted";
  }
  return "?";
}

// Chainable options, as libtorch's: ClassificationOptions().average(Average::Macro).
#define TAPEGRAD_METRICS_OPTION(Class, type, name) \
  Class& name(type value) {                        \
    name##_ = value;                               \
    return *this;                                  \
  }                                                \
  type name() const { return name##_; }

class ClassificationOptions {
 public:
  TAPEGRAD_METRICS_OPTION(ClassificationOptions, Average, average)
  // The positive class of Average::Binary (0 or 1).
  TAPEGRAD_METRICS_OPTION(ClassificationOptions, std::int64_t, pos_label)
  // For 1-D float scores or probabilities: predicted class = score > threshold ? 1 : 0.
  TAPEGRAD_METRICS_OPTION(ClassificationOptions, std::optional<double>, threshold)
  // The score of a 0/0 ratio (no predictions of a class, or no samples of it): 0, 1 or NaN.
  // A NaN class is left out of the macro/weighted mean, as sklearn's zero_division=np.nan.
  TAPEGRAD_METRICS_OPTION(ClassificationOptions, double, zero_division)
  // 0: the classes are those present in the labels or the predictions (sklearn's
  // unique_labels); C > 0: the classes are 0..C-1 (sklearn's labels=range(C)), so a class
  // nobody predicted and nobody has still enters the macro mean (as zero_division).
  TAPEGRAD_METRICS_OPTION(ClassificationOptions, std::int64_t, num_classes)

 private:
  Average average_ = Average::Binary;
  std::int64_t pos_label_ = 1;
  std::optional<double> threshold_;
  double zero_division_ = 0.0;
  std::int64_t num_classes_ = 0;
};

// sklearn's average=None: the scores of every class, in increasing class order.
struct ClassScores {
  std::vector<std::int64_t> classes;
  std::vector<double> precision, recall, f1;
  std::vector<std::int64_t> support;  // samples of each class in the labels
};

namespace detail {

using tapegrad::detail::fail;
using tapegrad::detail::show;

// Largest whole number a double holds exactly: float class ids beyond it are not ids.
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

// The elements of a 1-D tensor or of an [N, 1] column (what a one-output network gives).
template <typename T>
const T* column_data(const char* fn, const char* what, const Tensor<T>& t) {
  if (!t.defined()) fail<ValueError>(fn, ": ", what, " is an undefined tensor");
  const bool column = t.dim() == 1 || (t.dim() == 2 && t.size(1) == 1);
  if (!column)
    fail<ShapeError>(fn, ": ", what, " must be 1-D [N] or an [N, 1] column, got shape ", show(t.shape()),
                     "; flatten it (t.flatten()) or pass one value per sample");
  return t.data_ptr();
}

inline void check_same_length(const char* fn, std::int64_t predictions, std::int64_t labels,
                              const char* what = "predictions") {
  if (predictions != labels)
    fail<ShapeError>(fn, ": ", what, " have ", predictions, " samples but labels have ", labels,
                     "; pass one per label");
  if (labels == 0) fail<ValueError>(fn, ": empty input (0 samples); a metric needs at least one sample");
}

// A label or prediction read as a class id: a whole number >= 0.
template <typename V>
std::int64_t class_id_of(const char* fn, const char* what, V value, std::int64_t index, const char* hint) {
  if constexpr (std::is_same_v<V, bool>) {
    return value ? 1 : 0;  // a mask such as labels == k
  } else if constexpr (std::is_integral_v<V>) {
    if constexpr (std::is_signed_v<V>) {
      if (value < 0) fail<ValueError>(fn, ": ", what, " must be class ids >= 0, found ", value, " at index ", index, hint);
    } else if (value > static_cast<std::make_unsigned_t<std::int64_t>>(std::numeric_limits<std::int64_t>::max())) {
      fail<ValueError>(fn, ": ", what, " hold ", value, " at index ", index, ", too large for a class id");
    }
    return static_cast<std::int64_t>(value);
  } else {
    const double v = static_cast<double>(value);
    if (!(v >= 0 && v <= kMaxExactInteger && v == std::floor(v)))
      fail<ValueError>(fn, ": ", what, " must be class ids (whole numbers >= 0), found ", v, " at index ", index, hint);
    return static_cast<std::int64_t>(v);
  }
}

template <typename V>
std::vector<std::int64_t> class_ids(const char* fn, const char* what, const Tensor<V>& t, const char* hint = "") {
  const V* data = column_data(fn, what, t);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(t.size(0)));
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = class_id_of(fn, what, data[i], std::int64_t(i), hint);
  return ids;
}

constexpr const char* kScoreHint =
    "; for scores or probabilities pass a threshold (class 1 where score > threshold), for logits [N, C] the "
    "argmax is taken";

// Rows of logits or probabilities [N, C]: the class of each row is its argmax, the first
// maximum on ties (as torch.argmax and numpy.argmax).
template <typename T>
std::vector<std::int64_t> argmax_rows(const char* fn, const Tensor<T>& scores) {
  const std::int64_t rows = scores.size(0), cols = scores.size(1);
  const T* data = scores.data_ptr();
  std::vector<std::int64_t> ids(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = data + r * cols;
    std::int64_t best = 0;
    for (std::int64_t c = 0; c < cols; ++c) {
      if (std::isnan(row[c]))
        fail<ValueError>(fn, ": predictions [", rows, ", ", cols, "] hold NaN at [", r, ", ", c,
                         "]; check the model's output (a diverged loss?)");
      if (row[c] > row[best]) best = c;
    }
    ids[static_cast<std::size_t>(r)] = best;
  }
  return ids;
}

// 1-D scores or probabilities: class 1 where score > threshold (sklearn's predict: decision > 0).
template <typename T>
std::vector<std::int64_t> thresholded(const char* fn, const Tensor<T>& scores, double threshold) {
  if (std::isnan(threshold)) fail<ValueError>(fn, ": threshold is NaN; pass a number (0.5 for probabilities, 0 for logits)");
  const T* data = column_data(fn, "predictions", scores);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(scores.size(0)));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (std::isnan(data[i]))
      fail<ValueError>(fn, ": predictions hold NaN at index ", i, "; check the model's output (a diverged loss?)");
    ids[i] = static_cast<double>(data[i]) > threshold ? 1 : 0;
  }
  return ids;
}

// The predicted class of every sample, from class ids, thresholded scores or [N, C] rows.
template <typename P>
std::vector<std::int64_t> predicted_classes(const char* fn, const Tensor<P>& predictions,
                                            const std::optional<double>& threshold) {
  static_assert(std::is_arithmetic_v<P>, "metrics: predictions must be a float or integer tensor");
  if (!predictions.defined()) fail<ValueError>(fn, ": predictions is an undefined tensor");
  if constexpr (std::is_floating_point_v<P>) {
    if (predictions.dim() == 2 && predictions.size(1) >= 2) {
      if (threshold)
        fail<ValueError>(fn, ": a threshold applies to 1-D scores, but predictions are rows [", predictions.size(0),
                         ", ", predictions.size(1), "] whose argmax is the class; drop the threshold");
      return argmax_rows(fn, predictions);
    }
    if (threshold) return thresholded(fn, predictions, *threshold);
  } else if (threshold) {
    fail<ValueError>(fn, ": a threshold (", *threshold, ") applies to float scores, but predictions are integer "
                     "class ids; drop the threshold");
  }
  return class_ids(fn, "predictions", predictions, kScoreHint);
}

// Both sides as class ids, checked to have one prediction per label (and, unless
// allow_empty, at least one: a streaming accumulator may see an empty tail batch).
template <typename P, typename L>
void read_classes(const char* fn, const Tensor<P>& predictions, const Tensor<L>& labels,
                  const std::optional<double>& threshold, std::vector<std::int64_t>& predicted,
                  std::vector<std::int64_t>& actual, bool allow_empty = false) {
  predicted = predicted_classes(fn, predictions, threshold);
  actual = class_ids(fn, "labels", labels);
  if (!allow_empty || !predicted.empty() || !actual.empty())
    check_same_length(fn, std::int64_t(predicted.size()), std::int64_t(actual.size()));
}

inline void check_below(const char* fn, const char* what, const std::vector<std::int64_t>& ids,
                        std::int64_t num_classes) {
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] >= num_classes)
      fail<ValueError>(fn, ": ", what, " hold class ", ids[i], " at index ", i, ", outside [0, ", num_classes,
                       "); pass num_classes > ", ids[i], " or fix the labels");
}

inline void check_binary(const char* fn, const char* what, const std::vector<std::int64_t>& ids,
                         const char* fix = "; for multiclass pass average Macro, Micro or Weighted") {
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] > 1) fail<ValueError>(fn, ": binary metrics need ", what, " in {0, 1}, found ", ids[i], " at index ", i, fix);
}

inline void check_zero_division(const char* fn, double zero_division) {
  if (!(zero_division == 0 || zero_division == 1 || std::isnan(zero_division)))
    fail<ValueError>(fn, ": zero_division must be 0, 1 or NaN, got ", zero_division);
}

// Per-class counts: true positives, predictions and samples (sklearn's tp_sum, pred_sum, true_sum).
struct ClassCounts {
  std::vector<std::int64_t> classes, true_positives, predicted, actual;
};

// The classes scored: 0..C-1 when num_classes is given, else those that occur on either side.
inline std::vector<std::int64_t> classes_of(const std::vector<std::int64_t>& predicted,
                                            const std::vector<std::int64_t>& actual, std::int64_t num_classes) {
  std::vector<std::int64_t> classes;
  if (num_classes > 0) {
    for (std::int64_t c = 0; c < num_classes; ++c) classes.push_back(c);
    return classes;
  }
  classes = predicted;
  classes.insert(classes.end(), actual.begin(), actual.end());
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  return classes;
}

inline ClassCounts count_classes(const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& actual,
                                 std::int64_t num_classes) {
  ClassCounts counts;
  counts.classes = classes_of(predicted, actual, num_classes);
  const std::size_t k = counts.classes.size();
  counts.true_positives.assign(k, 0);
  counts.predicted.assign(k, 0);
  counts.actual.assign(k, 0);
  const auto slot = [&](std::int64_t id) {
    return std::size_t(std::lower_bound(counts.classes.begin(), counts.classes.end(), id) - counts.classes.begin());
  };
  for (std::size_t i = 0; i < predicted.size(); ++i) {
    ++counts.predicted[slot(predicted[i])];
    ++counts.actual[slot(actual[i])];
    if (predicted[i] == actual[i]) ++counts.true_positives[slot(actual[i])];
  }
  return counts;
}

enum class Score { Precision, Recall, F1 };

inline double ratio(double numerator, double denominator, double zero_division) {
  return denominator == 0 ? zero_division : numerator / denominator;
}

// precision = tp / predicted, recall = tp / actual, F1 = 2 tp / (predicted + actual)
// (the harmonic mean of the two, written with counts as sklearn >= 1.3 does, so a class
// with no predictions but some samples gets F1 = 0 whatever zero_division is).
inline double score_of(Score score, std::int64_t tp, std::int64_t predicted, std::int64_t actual,
                       double zero_division) {
  switch (score) {
    case Score::Precision: return ratio(double(tp), double(predicted), zero_division);
    case Score::Recall: return ratio(double(tp), double(actual), zero_division);
    case Score::F1: return ratio(2.0 * double(tp), double(predicted + actual), zero_division);
  }
  return zero_division;
}

// The mean of the per-class scores with weights, leaving NaN scores out (sklearn's _nanaverage).
inline double nan_average(const std::vector<double>& values, const std::vector<double>& weights) {
  double sum = 0, total = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) continue;
    sum += weights[i] * values[i];
    total += weights[i];
  }
  return total > 0 ? sum / total : std::numeric_limits<double>::quiet_NaN();
}

inline std::int64_t sum_of(const std::vector<std::int64_t>& v) {
  std::int64_t s = 0;
  for (auto x : v) s += x;
  return s;
}

inline double average_score(Score score, const ClassCounts& c, Average average, double zero_division) {
  if (average == Average::Micro)
    return score_of(score, sum_of(c.true_positives), sum_of(c.predicted), sum_of(c.actual), zero_division);
  std::vector<double> values, weights;
  for (std::size_t k = 0; k < c.classes.size(); ++k) {
    values.push_back(score_of(score, c.true_positives[k], c.predicted[k], c.actual[k], zero_division));
    weights.push_back(average == Average::Weighted ? double(c.actual[k]) : 1.0);
  }
  return nan_average(values, weights);
}

// Average::Binary: the score of pos_label alone, with labels and predictions in {0, 1}.
inline double binary_score(const char* fn, Score score, const std::vector<std::int64_t>& predicted,
                           const std::vector<std::int64_t>& actual, std::int64_t pos_label, double zero_division) {
  if (pos_label != 0 && pos_label != 1)
    fail<ValueError>(fn, ": pos_label must be 0 or 1 for average Binary, got ", pos_label);
  check_binary(fn, "labels", actual);
  check_binary(fn, "predictions", predicted);
  std::int64_t tp = 0, predicted_positive = 0, actual_positive = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    predicted_positive += predicted[i] == pos_label;
    actual_positive += actual[i] == pos_label;
    tp += predicted[i] == pos_label && actual[i] == pos_label;
  }
  return score_of(score, tp, predicted_positive, actual_positive, zero_division);
}

template <typename P, typename L>
ClassCounts counts_for(const char* fn, const Tensor<P>& predictions, const Tensor<L>& labels,
                       const ClassificationOptions& options, std::vector<std::int64_t>& predicted,
                       std::vector<std::int64_t>& actual) {
  check_zero_division(fn, options.zero_division());
  if (options.num_classes() < 0)
    fail<ValueError>(fn, ": num_classes must be >= 0 (0 infers the classes), got ", options.num_classes());
  read_classes(fn, predictions, labels, options.threshold(), predicted, actual);
  if (options.num_classes() > 0) {
    check_below(fn, "labels", actual, options.num_classes());
    check_below(fn, "predictions", predicted, options.num_classes());
  }
  return count_classes(predicted, actual, options.num_classes());
}

template <typename P, typename L>
double classification_score(const char* fn, Score score, const Tensor<P>& predictions, const Tensor<L>& labels,
                            const ClassificationOptions& options) {
  std::vector<std::int64_t> predicted, actual;
  if (options.average() == Average::Binary) {
    check_zero_division(fn, options.zero_division());
    read_classes(fn, predictions, labels, options.threshold(), predicted, actual);
    return binary_score(fn, score, predicted, actual, options.pos_label(), options.zero_division());
  }
  const ClassCounts counts = counts_for(fn, predictions, labels, options, predicted, actual);
  return average_score(score, counts, options.average(), options.zero_division());
}

}  // namespace detail

// Fraction of samples whose predicted class equals the label (sklearn's accuracy_score).
template <typename P, typename L>
double accuracy(const Tensor<P>& predictions, const Tensor<L>& labels, std::optional<double> threshold = std::nullopt) {
  std::vector<std::int64_t> predicted, actual;
  detail::read_classes("accuracy", predictions, labels, threshold, predicted, actual);
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) correct += predicted[i] == actual[i];
  return double(correct) / double(actual.size());
}

// tp / (tp + fp): of the samples predicted as a class, the fraction that are.
template <typename P, typename L>
double precision(const Tensor<P>& predictions, const Tensor<L>& labels, const ClassificationOptions& options = {}) {
  return detail::classification_score("precision", detail::Score::Precision, predictions, labels, options);
}

// tp / (tp + fn): of the samples of a class, the fraction predicted as it.
template <typename P, typename L>
double recall(const Tensor<P>& predictions, const Tensor<L>& labels, const ClassificationOptions& options = {}) {
  return detail::classification_score("recall", detail::Score::Recall, predictions, labels, options);
}

// 2 tp / (2 tp + fp + fn): the harmonic mean of precision and recall.
template <typename P, typename L>
double f1(const Tensor<P>& predictions, const Tensor<L>& labels, const ClassificationOptions& options = {}) {
  return detail::classification_score("f1", detail::Score::F1, predictions, labels, options);
}

// Precision, recall, F1 and support of every class (options.average is not used).
template <typename P, typename L>
ClassScores per_class_scores(const Tensor<P>& predictions, const Tensor<L>& labels,
                             const ClassificationOptions& options = {}) {
  std::vector<std::int64_t> predicted, actual;
  const detail::ClassCounts c = detail::counts_for("per_class_scores", predictions, labels, options, predicted, actual);
  ClassScores out;
  out.classes = c.classes;
  out.support = c.actual;
  const double zd = options.zero_division();
  for (std::size_t k = 0; k < c.classes.size(); ++k) {
    out.precision.push_back(detail::score_of(detail::Score::Precision, c.true_positives[k], c.predicted[k], c.actual[k], zd));
    out.recall.push_back(detail::score_of(detail::Score::Recall, c.true_positives[k], c.predicted[k], c.actual[k], zd));
    out.f1.push_back(detail::score_of(detail::Score::F1, c.true_positives[k], c.predicted[k], c.actual[k], zd));
  }
  return out;
}

// [num_classes, num_classes] counts: entry [i, j] is the number of samples of class i
// predicted as class j (rows = true, columns = predicted, as sklearn's).
template <typename P, typename L>
Tensor<std::int64_t> confusion_matrix(const Tensor<P>& predictions, const Tensor<L>& labels, std::int64_t num_classes,
                                      std::optional<double> threshold = std::nullopt) {
  const char* fn = "confusion_matrix";
  // A bound on C keeps a typo from asking for a C x C matrix of terabytes.
  constexpr std::int64_t kMaxClasses = std::int64_t(1) << 16;
  if (num_classes < 1 || num_classes > kMaxClasses)
    detail::fail<ValueError>(fn, ": num_classes must be in [1, ", kMaxClasses, "], got ", num_classes);
  std::vector<std::int64_t> predicted, actual;
  detail::read_classes(fn, predictions, labels, threshold, predicted, actual);
  detail::check_below(fn, "labels", actual, num_classes);
  detail::check_below(fn, "predictions", predicted, num_classes);
  std::vector<std::int64_t> counts(static_cast<std::size_t>(num_classes * num_classes), 0);
  for (std::size_t i = 0; i < actual.size(); ++i) ++counts[std::size_t(actual[i] * num_classes + predicted[i])];
  return from_vector<std::int64_t>(counts, {num_classes, num_classes});
}

namespace detail {

// Probabilities must be probabilities: a logit passed by mistake would be clipped into
// a meaningless loss, so values outside [0, 1] are refused rather than clipped.
inline void check_probability(const char* fn, double p, std::int64_t index, const char* fix) {
  if (!(p >= 0 && p <= 1))
    fail<ValueError>(fn, ": probabilities must be in [0, 1], found ", p, " at flat index ", index, "; ", fix);
}

inline double clip(double p, double eps) { return std::min(std::max(p, eps), 1 - eps); }

// Binary: p = P(class 1) per sample; loss_i = -log(clip(p)) if y = 1, -log(clip(1 - p)) if y = 0.
template <typename T, typename L>
double binary_log_loss(const Tensor<T>& probabilities, const Tensor<L>& labels, double eps) {
  const char* fn = "log_loss";
  const T* p = column_data(fn, "probabilities", probabilities);
  const std::vector<std::int64_t> y = class_ids(fn, "labels", labels);
  check_same_length(fn, probabilities.size(0), std::int64_t(y.size()), "probabilities");
  check_binary(fn, "labels", y, "; for multiclass pass probabilities [N, C] (one column per class)");
  double sum = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    check_probability(fn, double(p[i]), std::int64_t(i), "apply sigmoid to logits first");
    sum -= std::log(y[i] == 1 ? clip(double(p[i]), eps) : clip(1 - double(p[i]), eps));
  }
  return sum / double(y.size());
}

// Multiclass: rows of probabilities [N, C]; loss_i = -log(clip(p[i, y_i])).
template <typename T, typename L>
double multiclass_log_loss(const Tensor<T>& probabilities, const Tensor<L>& labels, double eps) {
  const char* fn = "log_loss";
  const std::int64_t rows = probabilities.size(0), cols = probabilities.size(1);
  const std::vector<std::int64_t> y = class_ids(fn, "labels", labels);
  check_same_length(fn, rows, std::int64_t(y.size()), "probabilities");
  check_below(fn, "labels", y, cols);
  // sklearn's check: rows must sum to 1 within sqrt(machine epsilon) of the type.
  const double tolerance = std::sqrt(double(std::numeric_limits<T>::epsilon())) + 1e-8;
  const T* p = probabilities.data_ptr();
  double sum = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    double row_sum = 0;
    for (std::int64_t c = 0; c < cols; ++c) {
      check_probability(fn, double(p[r * cols + c]), r * cols + c, "apply softmax to logits first");
      row_sum += double(p[r * cols + c]);
    }
    if (std::abs(row_sum - 1) > tolerance)
      fail<ValueError>(fn, ": each row of probabilities must sum to 1, row ", r, " sums to ", row_sum,
                       "; apply softmax to logits first");
    sum -= std::log(clip(double(p[r * cols + y[std::size_t(r)]]), eps));
  }
  return sum / double(rows);
}

}  // namespace detail

// Mean negative log-likelihood (cross-entropy) of the labels under predicted
// probabilities: 1-D [N] (or [N, 1]) P(class 1) for binary labels, or rows [N, C] for
// class ids in [0, C). Probabilities are clipped to [eps, 1 - eps] first so that a
// confident mistake costs -log(eps) rather than infinity; eps defaults to the machine
// epsilon of T (sklearn >= 1.5's choice). Computed in double.
template <typename T, typename L>
double log_loss(const Tensor<T>& probabilities, const Tensor<L>& labels, std::optional<double> eps = std::nullopt) {
  static_assert(std::is_floating_point_v<T>, "log_loss: probabilities must be a float or double tensor");
  const double e = eps ? *eps : double(std::numeric_limits<T>::epsilon());
  if (!(e >= 0 && e < 0.5)) detail::fail<ValueError>("log_loss: eps must be in [0, 0.5), got ", e);
  if (!probabilities.defined()) detail::fail<ValueError>("log_loss: probabilities is an undefined tensor");
  if (probabilities.dim() == 2 && probabilities.size(1) >= 2) return detail::multiclass_log_loss(probabilities, labels, e);
  return detail::binary_log_loss(probabilities, labels, e);
}

}  // namespace metrics
}  // namespace tapegrad

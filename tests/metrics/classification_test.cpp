// Classification metrics against hand-computed sklearn values: accuracy, precision,
// recall, F1 (binary, macro, micro, weighted), zero_division, per-class scores, the
// confusion matrix, log loss with eps clipping, and every error path.
#include "../test_util.hpp"

#include <tapegrad/metrics.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace metrics_classification_test {

namespace m = tg::metrics;
using Ids = tg::Tensor<std::int64_t>;

Ids ids(const std::vector<std::int64_t>& v) { return int_vector(v); }
Tensor vec(const std::vector<double>& v) { return double_vector(v); }
m::ClassificationOptions averaged(m::Average a) { return m::ClassificationOptions().average(a); }

// The multiclass example, 10 samples, classes 0 (6 samples), 1 (2), 2 (2):
//   true 0 0 0 0 0 0 1 1 2 2
//   pred 0 0 0 0 0 1 1 0 2 1
// class 0: tp 5, predicted 6, actual 6 -> P 5/6, R 5/6, F1 10/12
// class 1: tp 1, predicted 3, actual 2 -> P 1/3, R 1/2, F1 2/5
// class 2: tp 1, predicted 1, actual 2 -> P 1,   R 1/2, F1 2/3
const std::vector<std::int64_t> kTrue = {0, 0, 0, 0, 0, 0, 1, 1, 2, 2};
const std::vector<std::int64_t> kPred = {0, 0, 0, 0, 0, 1, 1, 0, 2, 1};

// The binary example, probabilities thresholded at 0.5:
//   true 1   1   1   0   0   0   0   0
//   p    .9  .6  .3  .7  .2  .1  .4  .55   -> pred 1 1 0 1 0 0 0 1
// tp 2 (0, 1), fp 2 (3, 7), fn 1 (2), tn 3
const std::vector<std::int64_t> kBinaryTrue = {1, 1, 1, 0, 0, 0, 0, 0};
const std::vector<double> kBinaryProb = {0.9, 0.6, 0.3, 0.7, 0.2, 0.1, 0.4, 0.55};

TEST_CASE("accuracy: class ids, thresholded probabilities, argmax of logits, float labels", "[metrics][classification]") {
  CHECK(m::accuracy(ids(kPred), ids(kTrue)) == Approx(0.7));  // 7 of 10 on the diagonal
  CHECK(m::accuracy(vec(kBinaryProb), ids(kBinaryTrue), 0.5) == Approx(5.0 / 8));  // tp 2 + tn 3
  // Labels as a float tensor of 0/1, predictions as floats holding class ids.
  CHECK(m::accuracy(vec({1, 0, 1}), vec({1, 1, 1})) == Approx(2.0 / 3));
  // Logits [4, 3]: argmax 1, 0, 2, and row 3 ties between columns 0 and 2 -> the first, 0.
  const Tensor logits = values({0.1, 2.0, -1.0, 3.0, 0.0, 0.5, -2, -1, 4, 1, 0, 1}, {4, 3});
  CHECK(m::accuracy(logits, ids({1, 0, 2, 0})) == 1.0);
  CHECK(m::accuracy(logits, ids({1, 0, 2, 2})) == 0.75);
  // float logits work too, and an [N, 1] column counts as 1-D.
  const auto flogits = tg::from_vector<float>({0.1f, 2.0f, 3.0f, 0.0f}, {2, 2});
  CHECK(m::accuracy(flogits, ids({1, 0})) == 1.0);
  CHECK(m::accuracy(values({0.2, 0.8}, {2, 1}), ids({0, 1}), 0.5) == 1.0);
}

TEST_CASE("threshold: class 1 only strictly above it (sklearn's predict: decision > 0)", "[metrics][classification]") {
  CHECK(m::accuracy(vec({0.5, 0.5000001}), ids({0, 1}), 0.5) == 1.0);
  CHECK(m::accuracy(vec({-0.1, 0.0, 0.1}), ids({0, 0, 1}), 0.0) == 1.0);  // logits at 0
}

TEST_CASE("binary precision, recall, f1 with pos_label", "[metrics][classification]") {
  const auto opts = m::ClassificationOptions().threshold(0.5);
  CHECK(m::precision(vec(kBinaryProb), ids(kBinaryTrue), opts) == Approx(0.5));      // 2 / (2 + 2)
  CHECK(m::recall(vec(kBinaryProb), ids(kBinaryTrue), opts) == Approx(2.0 / 3));     // 2 / (2 + 1)
  CHECK(m::f1(vec(kBinaryProb), ids(kBinaryTrue), opts) == Approx(4.0 / 7));         // 2*2 / (2*2 + 2 + 1)
  // pos_label 0: tp = 3 (true 0 predicted 0), predicted 0 = 4, actual 0 = 5.
  const auto neg = m::ClassificationOptions().threshold(0.5).pos_label(0);
  CHECK(m::precision(vec(kBinaryProb), ids(kBinaryTrue), neg) == Approx(0.75));     // 3 / 4
  CHECK(m::recall(vec(kBinaryProb), ids(kBinaryTrue), neg) == Approx(0.6));         // 3 / 5
  CHECK(m::f1(vec(kBinaryProb), ids(kBinaryTrue), neg) == Approx(2.0 / 3));         // 6 / (4 + 5)
  // The same with hard predictions (int64 and float 0/1 labels).
  const std::vector<std::int64_t> hard = {1, 1, 0, 1, 0, 0, 0, 1};
  CHECK(m::precision(ids(hard), vec({1, 1, 1, 0, 0, 0, 0, 0})) == Approx(0.5));
}

TEST_CASE("macro, micro and weighted averages on the multiclass example", "[metrics][classification]") {
  const Ids pred = ids(kPred), truth = ids(kTrue);
  // Macro: plain means over the three classes.
  CHECK(m::precision(pred, truth, averaged(m::Average::Macro)) == Approx((5.0 / 6 + 1.0 / 3 + 1) / 3));  // 13/18
  CHECK(m::recall(pred, truth, averaged(m::Average::Macro)) == Approx((5.0 / 6 + 0.5 + 0.5) / 3));       // 11/18
  CHECK(m::f1(pred, truth, averaged(m::Average::Macro)) == Approx((10.0 / 12 + 0.4 + 2.0 / 3) / 3));     // 57/90
  // Micro: pooled counts, tp 7 of 10 predictions and 10 samples -> accuracy.
  CHECK(m::precision(pred, truth, averaged(m::Average::Micro)) == Approx(0.7));
  CHECK(m::recall(pred, truth, averaged(m::Average::Micro)) == Approx(0.7));
  CHECK(m::f1(pred, truth, averaged(m::Average::Micro)) == Approx(0.7));
  // Weighted by support 6, 2, 2.
  CHECK(m::precision(pred, truth, averaged(m::Average::Weighted)) == Approx((6 * 5.0 / 6 + 2 * 1.0 / 3 + 2 * 1) / 10));
  CHECK(m::recall(pred, truth, averaged(m::Average::Weighted)) == Approx(0.7));  // weighted recall = accuracy
  CHECK(m::f1(pred, truth, averaged(m::Average::Weighted)) == Approx((6 * 10.0 / 12 + 2 * 0.4 + 2 * 2.0 / 3) / 10));
}

TEST_CASE("macro vs micro on an imbalanced set: always predicting the majority", "[metrics][classification]") {
  // 9 of class 0, 1 of class 1, every prediction 0.
  const Ids truth = ids({0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  const Ids pred = ids({0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  // micro F1 = accuracy = 0.9; class 0 F1 = 2*9/(10+9) = 18/19, class 1 F1 = 0/(0+1) = 0.
  CHECK(m::f1(pred, truth, averaged(m::Average::Micro)) == Approx(0.9));
  CHECK(m::f1(pred, truth, averaged(m::Average::Macro)) == Approx(9.0 / 19));
  CHECK(m::f1(pred, truth, averaged(m::Average::Weighted)) == Approx(0.9 * 18.0 / 19));
}

TEST_CASE("zero_division: the value of 0/0, NaN left out of the means", "[metrics][classification]") {
  // true 0 0 1 1, every prediction 0: class 1 is never predicted (precision 0/0).
  const Ids truth = ids({0, 0, 1, 1}), pred = ids({0, 0, 0, 0});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(m::precision(pred, truth) == 0.0);  // default 0, no throw
  CHECK(m::precision(pred, truth, m::ClassificationOptions().zero_division(1)) == 1.0);
  CHECK(std::isnan(m::precision(pred, truth, m::ClassificationOptions().zero_division(nan))));
  CHECK(m::recall(pred, truth, m::ClassificationOptions().zero_division(1)) == 0.0);  // 0/2, not 0/0
  CHECK(m::f1(pred, truth, m::ClassificationOptions().zero_division(1)) == 0.0);      // 0/(0+2)
  // Macro precision: class 0 = 2/4, class 1 = zero_division.
  CHECK(m::precision(pred, truth, averaged(m::Average::Macro)) == Approx(0.25));
  CHECK(m::precision(pred, truth, averaged(m::Average::Macro).zero_division(1)) == Approx(0.75));
  CHECK(m::precision(pred, truth, averaged(m::Average::Macro).zero_division(nan)) == Approx(0.5));
  // num_classes 3: class 2 has neither samples nor predictions; its recall (0/0) enters the mean.
  // Inferred: recall (1 + 0) / 2; with class 2: (1 + 0 + 0) / 3, or (1 + 0 + 1) / 3 with zero_division 1.
  CHECK(m::recall(pred, truth, averaged(m::Average::Macro)) == Approx(0.5));
  CHECK(m::recall(pred, truth, averaged(m::Average::Macro).num_classes(3)) == Approx(1.0 / 3));
  CHECK(m::recall(pred, truth, averaged(m::Average::Macro).num_classes(3).zero_division(1)) == Approx(2.0 / 3));
  CHECK(m::f1(pred, truth, averaged(m::Average::Macro).num_classes(3).zero_division(1)) ==
        Approx((2.0 * 2 / (4 + 2) + 0 + 1) / 3));  // class 0: 2 tp / (4 predicted + 2 actual)
}

TEST_CASE("per_class_scores: sklearn's average=None", "[metrics][classification]") {
  const auto s = m::per_class_scores(ids(kPred), ids(kTrue));
  CHECK(s.classes == std::vector<std::int64_t>{0, 1, 2});
  CHECK(s.support == std::vector<std::int64_t>{6, 2, 2});
  CHECK(s.precision[0] == Approx(5.0 / 6));
  CHECK(s.precision[1] == Approx(1.0 / 3));
  CHECK(s.recall[2] == Approx(0.5));
  CHECK(s.f1[1] == Approx(0.4));
  // Classes only predicted still appear (class 7 here, support 0, recall 0/0 -> 0).
  const auto t = m::per_class_scores(ids({7, 0}), ids({0, 0}));
  CHECK(t.classes == std::vector<std::int64_t>{0, 7});
  CHECK(t.support == std::vector<std::int64_t>{2, 0});
  CHECK(t.precision[0] == 1.0);  // 1 / 1
  CHECK(t.recall[0] == 0.5);     // 1 / 2
}

TEST_CASE("confusion_matrix: rows true, columns predicted", "[metrics][classification]") {
  const auto cm = m::confusion_matrix(ids(kPred), ids(kTrue), 3);
  CHECK(cm.shape() == tg::Shape{3, 3});
  // true 0 -> predicted 0 x5, 1 x1; true 1 -> 0 x1, 1 x1; true 2 -> 1 x1, 2 x1.
  CHECK(cm.to_vector() == std::vector<std::int64_t>{5, 1, 0, 1, 1, 0, 0, 1, 1});
  // Binary from probabilities: [[tn fp], [fn tp]] = [[3 2], [1 2]].
  CHECK(m::confusion_matrix(vec(kBinaryProb), ids(kBinaryTrue), 2, 0.5).to_vector() ==
        std::vector<std::int64_t>{3, 2, 1, 2});
  // A class beyond the data gets an empty row and column.
  CHECK(m::confusion_matrix(ids({0, 1}), ids({0, 0}), 3).to_vector() ==
        std::vector<std::int64_t>{1, 1, 0, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("log_loss: binary and multiclass, eps clipping", "[metrics][classification]") {
  // -(log .9 + log (1 - .6) ...) per sample, as sklearn: y log p + (1 - y) log(1 - p).
  CHECK(m::log_loss(vec({0.9, 0.6, 0.35, 0.8}), ids({1, 0, 1, 1})) ==
        Approx(-(std::log(0.9) + std::log(0.4) + std::log(0.35) + std::log(0.8)) / 4));
  // Multiclass rows [N, C]: -log p[i, y_i].
  const Tensor probs = values({0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.3, 0.3, 0.4}, {3, 3});
  CHECK(m::log_loss(probs, ids({0, 1, 1})) == Approx(-(std::log(0.7) + std::log(0.8) + std::log(0.3)) / 3));
  // A confident mistake costs -log(eps): eps = 2^-52 for double (36.0437), 2^-23 for float (15.9424).
  CHECK(m::log_loss(vec({1.0, 0.0}), ids({0, 1})) == Approx(-std::log(std::ldexp(1.0, -52))));
  CHECK(m::log_loss(tg::from_vector<float>({1.0f, 0.0f}, {2}), ids({0, 1})) == Approx(-std::log(std::ldexp(1.0, -23))));
  CHECK(m::log_loss(vec({1.0, 0.0}), ids({0, 1}), 1e-15) == Approx(-std::log(1e-15)));
  CHECK(m::log_loss(values({1.0, 0.0, 0.0, 1.0}, {2, 2}), ids({1, 1}), 1e-15) == Approx(-std::log(1e-15) / 2));
  // A perfect prediction costs -log(1 - eps), about eps.
  CHECK(m::log_loss(vec({1.0, 0.0}), ids({1, 0})) == Approx(0).margin(1e-15));
}

TEST_CASE("classification errors name the function, the values and the fix", "[metrics][classification]") {
  TG_CHECK_THROWS(m::accuracy(ids({0, 1, 1, 0}), ids({0, 1, 1})), tg::ShapeError,
                    "accuracy: predictions have 4 samples but labels have 3");
  TG_CHECK_THROWS(m::accuracy(ids({}), ids({})), tg::ValueError, "accuracy: empty input");
  TG_CHECK_THROWS(m::precision(ids({0, 2}), ids({0, 1})), tg::ValueError,
                    "precision: binary metrics need predictions in {0, 1}, found 2 at index 1; for multiclass pass average");
  TG_CHECK_THROWS(m::recall(ids({0, 1}), ids({3, 1})), tg::ValueError, "labels in {0, 1}, found 3 at index 0");
  TG_CHECK_THROWS(m::f1(ids({0, 1}), ids({0, 1}), m::ClassificationOptions().pos_label(2)), tg::ValueError,
                    "f1: pos_label must be 0 or 1");
  TG_CHECK_THROWS(m::f1(ids({0, 1}), ids({0, 4}), averaged(m::Average::Macro).num_classes(3)), tg::ValueError,
                    "f1: labels hold class 4 at index 1, outside [0, 3); pass num_classes > 4");
  TG_CHECK_THROWS(m::f1(ids({0, 5}), ids({0, 1}), averaged(m::Average::Macro).num_classes(3)), tg::ValueError,
                    "predictions hold class 5 at index 1, outside [0, 3)");
  TG_CHECK_THROWS(m::f1(ids({0, 1}), ids({0, 1}), averaged(m::Average::Macro).num_classes(-2)), tg::ValueError,
                    "num_classes must be >= 0");
  TG_CHECK_THROWS(m::accuracy(ids({0, 1}), ids({0, -1})), tg::ValueError, "labels must be class ids >= 0, found -1 at index 1");
  TG_CHECK_THROWS(m::accuracy(ids({0, 1}), vec({0, 0.5})), tg::ValueError,
                    "labels must be class ids (whole numbers >= 0), found 0.5 at index 1");
  // Probabilities without a threshold: the fix is named.
  TG_CHECK_THROWS(m::precision(vec({0.2, 0.7}), ids({0, 1})), tg::ValueError,
                    "found 0.2 at index 0; for scores or probabilities pass a threshold");
  TG_CHECK_THROWS(m::accuracy(ids({0, 1}), ids({0, 1}), 0.5), tg::ValueError, "predictions are integer class ids; drop the threshold");
  TG_CHECK_THROWS(m::accuracy(values({1, 2, 3, 4}, {2, 2}), ids({0, 1}), 0.5), tg::ValueError,
                    "rows [2, 2] whose argmax is the class; drop the threshold");
  TG_CHECK_THROWS(m::accuracy(values({1, NAN, 3, 4}, {2, 2}), ids({0, 1})), tg::ValueError, "hold NaN at [0, 1]");
  TG_CHECK_THROWS(m::accuracy(vec({0.1, NAN}), ids({0, 1}), 0.5), tg::ValueError, "predictions hold NaN at index 1");
  TG_CHECK_THROWS(m::accuracy(vec({0.1, 0.2}), ids({0, 1}), std::nan("")), tg::ValueError, "threshold is NaN");
  TG_CHECK_THROWS(m::accuracy(values({0, 1, 0, 1}, {1, 2, 2}), ids({0, 1}), 0.5), tg::ShapeError,
                    "predictions must be 1-D [N] or an [N, 1] column, got shape [1, 2, 2]");
  TG_CHECK_THROWS(m::accuracy(ids({0, 1}), Ids()), tg::ValueError, "labels is an undefined tensor");
  TG_CHECK_THROWS(m::precision(vec(kBinaryProb), ids(kBinaryTrue), m::ClassificationOptions().zero_division(0.5)), tg::ValueError,
                    "zero_division must be 0, 1 or NaN, got 0.5");
  TG_CHECK_THROWS(m::confusion_matrix(ids({0}), ids({0}), 0), tg::ValueError, "confusion_matrix: num_classes must be in [1, 65536]");
  TG_CHECK_THROWS(m::confusion_matrix(ids({0, 2}), ids({0, 1}), 2), tg::ValueError,
                    "confusion_matrix: predictions hold class 2 at index 1, outside [0, 2)");
}

TEST_CASE("log_loss errors", "[metrics][classification]") {
  TG_CHECK_THROWS(m::log_loss(vec({0.5, 1.5}), ids({0, 1})), tg::ValueError,
                    "log_loss: probabilities must be in [0, 1], found 1.5 at flat index 1; apply sigmoid");
  TG_CHECK_THROWS(m::log_loss(vec({0.5, NAN}), ids({0, 1})), tg::ValueError, "found nan at flat index 1");
  TG_CHECK_THROWS(m::log_loss(values({0.5, 0.6, 0.5, 0.5}, {2, 2}), ids({0, 1})), tg::ValueError,
                    "row 0 sums to 1.1; apply softmax");
  TG_CHECK_THROWS(m::log_loss(values({0.5, 0.5, 0.5, 0.5}, {2, 2}), ids({0, 2})), tg::ValueError,
                    "log_loss: labels hold class 2 at index 1, outside [0, 2)");
  TG_CHECK_THROWS(m::log_loss(vec({0.5, 0.5}), ids({0, 2})), tg::ValueError, "for multiclass pass probabilities [N, C]");
  TG_CHECK_THROWS(m::log_loss(vec({0.5, 0.5}), ids({0})), tg::ShapeError, "probabilities have 2 samples but labels have 1");
  TG_CHECK_THROWS(m::log_loss(vec({0.5}), ids({0}), 0.5), tg::ValueError, "eps must be in [0, 0.5), got 0.5");
  TG_CHECK_THROWS(m::log_loss(vec({}), ids({})), tg::ValueError, "log_loss: empty input");
}

}  // namespace metrics_classification_test

#undef METRICS_CLS_FAILS

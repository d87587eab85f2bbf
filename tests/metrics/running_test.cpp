// Streaming accumulators: Mean (weighted, compensated), Accuracy and
// BinaryClassificationStats equal to the one-shot metrics over the concatenated
// batches for several splits; reset, empty batches, failed updates, errors.
#include "../test_util.hpp"

#include <tapegrad/metrics.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace metrics_running_test {

namespace m = tg::metrics;
using Ids = tg::Tensor<std::int64_t>;

Ids ids(const std::vector<std::int64_t>& v) { return int_vector(v); }
Tensor vec(const std::vector<double>& v) { return double_vector(v); }

template <typename V>
std::vector<V> slice(const std::vector<V>& v, std::size_t start, std::size_t end) {
  return std::vector<V>(v.begin() + long(start), v.begin() + long(std::min(end, v.size())));
}

TEST_CASE("Mean: weighted running mean of batch losses", "[metrics][running]") {
  m::Mean loss;
  loss.update(2.0, 3);  // a batch of 3 with mean loss 2
  loss.update(4.0, 1);  // a batch of 1 with mean loss 4
  CHECK(loss.compute() == Approx(2.5));  // (3*2 + 1*4) / 4
  CHECK(loss.total_weight() == 4);
  // A 0-d loss tensor, and per-sample losses (each element with the weight).
  loss.update(tg::scalar_tensor<double>(1.0), 2);  // (10 + 2) / 6
  CHECK(loss.compute() == Approx(2.0));
  loss.update(vec({5, 7}));  // (12 + 12) / 8
  CHECK(loss.compute() == Approx(3.0));
  loss.reset();
  TG_CHECK_THROWS(loss.compute(), tg::ValueError, "Mean::compute: no values yet (total weight 0)");
  loss.update(tg::from_vector<float>({0.5f, 1.5f}, {2}));
  CHECK(loss.compute() == 1.0);
}

TEST_CASE("Mean: compensated sums keep what a plain double sum loses", "[metrics][running]") {
  // 1e16 + 1 rounds to 1e16 in double (its spacing there is 2); Neumaier keeps the 1.
  m::Mean mean;
  mean.update(1e16);
  mean.update(1.0);
  mean.update(-1e16);
  CHECK(mean.compute() == Approx(1.0 / 3));
  // A million 0.1s: a plain sum drifts by ~1e-12 relative; this stays within a rounding.
  m::Mean tenths;
  for (int i = 0; i < 1000000; ++i) tenths.update(0.1, 1.0);
  CHECK(tenths.compute() == Approx(0.1).epsilon(1e-15));
  CHECK(tenths.total_weight() == 1000000);
}

TEST_CASE("Mean: a diverged loss shows; bad weights are refused", "[metrics][running]") {
  m::Mean mean;
  mean.update(1.0);
  mean.update(NAN);
  CHECK(std::isnan(mean.compute()));
  m::Mean inf;
  inf.update(1.0);
  inf.update(INFINITY);
  CHECK(inf.compute() == INFINITY);
  m::Mean weights;
  weights.update(3.0, 2);
  TG_CHECK_THROWS(weights.update(1.0, -1), tg::ValueError, "Mean::update: weight must be finite and >= 0, got -1");
  TG_CHECK_THROWS(weights.update(1.0, NAN), tg::ValueError, "weight must be finite and >= 0, got nan");
  TG_CHECK_THROWS(weights.update(vec({1}), INFINITY), tg::ValueError, "got inf");
  TG_CHECK_THROWS(weights.update(Tensor()), tg::ValueError, "Mean::update: values is an undefined tensor");
  CHECK(weights.compute() == 3.0);  // the refused updates added nothing
}

TEST_CASE("Accuracy: streaming equals one-shot for every batch split", "[metrics][running]") {
  std::mt19937 gen(5);
  std::uniform_int_distribution<std::int64_t> cls(0, 3);
  std::normal_distribution<double> normal;
  const std::size_t n = 50, classes = 4;
  std::vector<double> logits(n * classes);
  std::vector<std::int64_t> labels(n);
  for (auto& x : logits) x = normal(gen);
  for (auto& y : labels) y = cls(gen);
  const double one_shot = m::accuracy(values(logits, {long(n), long(classes)}), ids(labels));
  for (std::size_t batch : {1u, 8u, 13u, 50u}) {
    m::Accuracy acc;
    for (std::size_t s = 0; s < n; s += batch) {
      const auto rows = slice(labels, s, s + batch);
      acc.update(values(slice(logits, s * classes, (s + batch) * classes), {long(rows.size()), long(classes)}), ids(rows));
    }
    INFO("batch " << batch);
    CHECK(acc.total() == 50);
    CHECK(acc.compute() == one_shot);
  }
}

TEST_CASE("Accuracy: thresholds, empty batches, failed updates, reset", "[metrics][running]") {
  m::Accuracy acc(0.5);
  TG_CHECK_THROWS(acc.compute(), tg::ValueError, "Accuracy::compute: no samples yet");
  acc.update(vec({}), ids({}));
  acc.update(vec({0.9, 0.2, 0.6}), ids({1, 0, 0}));  // 1 0 1 vs 1 0 0: 2 of 3
  TG_CHECK_THROWS(acc.update(vec({0.9, 0.2}), ids({1})), tg::ShapeError,
                    "Accuracy::update: predictions have 2 samples but labels have 1");
  TG_CHECK_THROWS(acc.update(vec({0.9}), ids({-1})), tg::ValueError, "labels must be class ids >= 0, found -1");
  CHECK(acc.correct() == 2);
  CHECK(acc.total() == 3);
  CHECK(acc.compute() == Approx(2.0 / 3));
  acc.reset();
  acc.update(vec({0.7}), vec({1}));
  CHECK(acc.compute() == 1.0);
}

TEST_CASE("BinaryClassificationStats: counts at the threshold and their metrics", "[metrics][running]") {
  // p .9 .6 .3 .7 .2 .1 .4 .55 against 1 1 1 0 0 0 0 0 at 0.5: tp 2, fp 2, fn 1, tn 3.
  m::BinaryClassificationStats stats(0.5);
  stats.update(vec({0.9, 0.6, 0.3, 0.7}), ids({1, 1, 1, 0}));
  stats.update(vec({0.2, 0.1, 0.4, 0.55}), vec({0, 0, 0, 0}));
  CHECK(stats.tp() == 2);
  CHECK(stats.fp() == 2);
  CHECK(stats.fn() == 1);
  CHECK(stats.tn() == 3);
  CHECK(stats.total() == 8);
  CHECK(stats.precision() == Approx(0.5));    // 2 / 4
  CHECK(stats.recall() == Approx(2.0 / 3));   // 2 / 3
  CHECK(stats.f1() == Approx(4.0 / 7));       // 4 / (4 + 2 + 1)
  CHECK(stats.accuracy() == Approx(5.0 / 8));
  // Integer predictions and [N, 2] logits (argmax) need no threshold.
  m::BinaryClassificationStats hard;
  hard.update(ids({1, 0, 1}), ids({1, 1, 0}));
  hard.update(values({0.1, 2.0, 3.0, -1.0}, {2, 2}), ids({1, 0}));  // argmax 1, 0: both right
  CHECK(hard.tp() == 2);
  CHECK(hard.fp() == 1);
  CHECK(hard.fn() == 1);
  CHECK(hard.tn() == 1);
}

TEST_CASE("BinaryClassificationStats equals the one-shot metrics for every split", "[metrics][running]") {
  std::mt19937 gen(11);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<double> scores(77);
  std::vector<std::int64_t> labels(77);
  for (std::size_t i = 0; i < scores.size(); ++i) {
    scores[i] = unit(gen);
    labels[i] = unit(gen) < 0.3 ? 1 : 0;
  }
  const auto opts = m::ClassificationOptions().threshold(0.4);
  for (std::size_t batch : {1u, 10u, 77u}) {
    m::BinaryClassificationStats stats(0.4);
    for (std::size_t s = 0; s < scores.size(); s += batch)
      stats.update(vec(slice(scores, s, s + batch)), ids(slice(labels, s, s + batch)));
    INFO("batch " << batch);
    CHECK(stats.precision() == m::precision(vec(scores), ids(labels), opts));
    CHECK(stats.recall() == m::recall(vec(scores), ids(labels), opts));
    CHECK(stats.f1() == m::f1(vec(scores), ids(labels), opts));
    CHECK(stats.accuracy() == m::accuracy(vec(scores), ids(labels), 0.4));
  }
}

TEST_CASE("BinaryClassificationStats: zero_division, errors, reset", "[metrics][running]") {
  m::BinaryClassificationStats stats(0.5, 1.0);
  TG_CHECK_THROWS(stats.precision(), tg::ValueError, "BinaryClassificationStats::precision: no samples yet");
  stats.update(vec({0.1, 0.2}), ids({0, 1}));  // nothing predicted positive: precision 0/0
  CHECK(stats.precision() == 1.0);
  CHECK(stats.recall() == 0.0);  // 0 / 1
  TG_CHECK_THROWS(stats.update(vec({0.1, 0.2}), ids({0, 2})), tg::ValueError,
                    "BinaryClassificationStats::update: binary metrics need labels in {0, 1}, found 2 at index 1");
  TG_CHECK_THROWS(stats.update(ids({3}), ids({1})), tg::ValueError, "predictions in {0, 1}, found 3 at index 0");
  TG_CHECK_THROWS(stats.update(values({1, 2, 3}, {1, 3}), ids({1})), tg::ValueError, "predictions in {0, 1}, found 2");
  CHECK(stats.total() == 2);  // the refused batches added nothing
  stats.reset();
  CHECK(stats.total() == 0);
  TG_CHECK_THROWS(m::BinaryClassificationStats(NAN), tg::ValueError, "BinaryClassificationStats: threshold is NaN");
  TG_CHECK_THROWS(m::BinaryClassificationStats(0.5, 2), tg::ValueError, "zero_division must be 0, 1 or NaN");
}

}  // namespace metrics_running_test

#undef METRICS_RUN_FAILS

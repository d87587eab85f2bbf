// ROC AUC and the ROC curve: hand-computed ties, perfect and inverted rankers, the
// brute-force pairwise definition on random data, sklearn's roc_curve points, streaming
// equal to one-shot for several batch splits, and every error path.
#include "../test_util.hpp"

#include <tapegrad/metrics.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace metrics_roc_auc_test {

namespace m = tg::metrics;
using Ids = tg::Tensor<std::int64_t>;

Ids ids(const std::vector<std::int64_t>& v) { return int_vector(v); }
Tensor vec(const std::vector<double>& v) { return double_vector(v); }

// The definition: over all (positive, negative) pairs, 1 if the positive scores higher,
// 1/2 on a tie, 0 otherwise; divided by the number of pairs. O(n^2), for checking.
double pairwise_auc(const std::vector<double>& scores, const std::vector<std::int64_t>& labels) {
  double wins = 0, pairs = 0;
  for (std::size_t i = 0; i < scores.size(); ++i)
    for (std::size_t j = 0; j < scores.size(); ++j) {
      if (labels[i] != 1 || labels[j] != 0) continue;
      pairs += 1;
      wins += scores[i] > scores[j] ? 1.0 : scores[i] == scores[j] ? 0.5 : 0.0;
    }
  return wins / pairs;
}

// Random scores rounded to one decimal (so many ties), labels with both classes present.
void random_case(std::mt19937& gen, std::size_t n, std::vector<double>& scores, std::vector<std::int64_t>& labels) {
  std::uniform_int_distribution<int> tenth(0, 10), coin(0, 1);
  scores.resize(n);
  labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    scores[i] = tenth(gen) / 10.0;
    labels[i] = coin(gen);
  }
  labels[0] = 0;
  labels[1] = 1;
}

TEST_CASE("roc_auc: hand-computed, with ties counted 1/2", "[metrics][roc_auc]") {
  // sklearn's doc example: positives .35 and .8, negatives .1 and .4;
  // pairs won: .35 > .1, .8 > .1, .8 > .4 -> 3 of 4.
  CHECK(m::roc_auc(vec({0.1, 0.4, 0.35, 0.8}), ids({0, 0, 1, 1})) == 0.75);
  // Positives {.4, .8, .4}, negatives {.1, .4}: each .4 beats .1 and ties .4 (1.5 each),
  // .8 beats both (2) -> 5 / 6. By ranks: .1 -> 1, the three .4 -> 3 each, .8 -> 5;
  // R+ = 3 + 3 + 5 = 11, AUC = (11 - 3*4/2) / (3*2) = 5/6.
  CHECK(m::roc_auc(vec({0.1, 0.4, 0.4, 0.8, 0.4}), ids({0, 0, 1, 1, 1})) == Approx(5.0 / 6));
  // Every score equal: every pair a tie.
  CHECK(m::roc_auc(vec({0.3, 0.3, 0.3}), ids({0, 1, 1})) == 0.5);
  // Labels as float 0/1, scores as an [N, 1] float column, infinite scores ranked.
  CHECK(m::roc_auc(tg::from_vector<float>({-INFINITY, 2.0f, INFINITY}, {3, 1}), vec({0, 1, 1})) == 1.0);
  // One class against the rest with a mask: class 2 (scores .9, .7) vs the others (.1, .4).
  const Ids classes = ids({0, 2, 1, 2});
  CHECK(m::roc_auc(vec({0.1, 0.9, 0.4, 0.7}), tg::eq(classes, tg::scalar_tensor<std::int64_t>(2))) == 1.0);
}

TEST_CASE("roc_auc: a perfect ranker gives 1, an inverted one 0", "[metrics][roc_auc]") {
  const std::vector<double> scores = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
  CHECK(m::roc_auc(vec(scores), ids({0, 0, 0, 1, 1, 1})) == 1.0);
  CHECK(m::roc_auc(vec(scores), ids({1, 1, 1, 0, 0, 0})) == 0.0);
  // Any monotone transform of the scores (logits vs probabilities) leaves the AUC alone.
  CHECK(m::roc_auc(vec(scores), ids({0, 1, 0, 1, 1, 0})) == m::roc_auc(vec(scores).exp(), ids({0, 1, 0, 1, 1, 0})));
}

TEST_CASE("roc_auc equals the brute-force pairwise definition on random data", "[metrics][roc_auc]") {
  std::mt19937 gen(1234);
  for (std::size_t n : {2u, 3u, 7u, 50u, 333u}) {
    std::vector<double> scores;
    std::vector<std::int64_t> labels;
    random_case(gen, n, scores, labels);
    INFO("n = " << n);
    CHECK(m::roc_auc(vec(scores), ids(labels)) == Approx(pairwise_auc(scores, labels)).epsilon(1e-14));
    // float scores: the same ranking, so the same value.
    std::vector<float> fscores(scores.begin(), scores.end());
    CHECK(m::roc_auc(tg::from_vector<float>(fscores, {std::int64_t(n)}), ids(labels)) ==
          Approx(pairwise_auc(std::vector<double>(fscores.begin(), fscores.end()), labels)).epsilon(1e-14));
  }
}

TEST_CASE("roc_curve: sklearn's points and thresholds", "[metrics][roc_auc]") {
  // sklearn: roc_curve([0, 0, 1, 1], [.1, .4, .35, .8]) ->
  //   fpr [0, 0, .5, .5, 1], tpr [0, .5, .5, 1, 1], thresholds [inf, .8, .4, .35, .1].
  const auto c = m::roc_curve(vec({0.1, 0.4, 0.35, 0.8}), ids({0, 0, 1, 1}));
  CHECK(c.fpr == std::vector<double>{0, 0, 0.5, 0.5, 1});
  CHECK(c.tpr == std::vector<double>{0, 0.5, 0.5, 1, 1});
  CHECK(c.thresholds == std::vector<double>{INFINITY, 0.8, 0.4, 0.35, 0.1});
  // Scores 4 3 2 1, labels 1 1 1 0: counts at each threshold fps 0 0 0 1, tps 1 2 3 3.
  // At threshold 3 both second differences are 0 (0-0+0, 3-4+1): collinear, dropped.
  const auto kept = m::roc_curve(vec({4, 3, 2, 1}), ids({1, 1, 1, 0}));
  CHECK(kept.fpr == std::vector<double>{0, 0, 0, 1});
  CHECK(kept.tpr == std::vector<double>{0, 1.0 / 3, 1, 1});
  CHECK(kept.thresholds == std::vector<double>{INFINITY, 4, 2, 1});
  const auto all = m::roc_curve(vec({4, 3, 2, 1}), ids({1, 1, 1, 0}), false);
  CHECK(all.tpr == std::vector<double>{0, 1.0 / 3, 2.0 / 3, 1, 1});
  CHECK(all.thresholds == std::vector<double>{INFINITY, 4, 3, 2, 1});
}

TEST_CASE("roc_curve's trapezoidal area is the AUC", "[metrics][roc_auc]") {
  std::mt19937 gen(99);
  for (std::size_t n : {5u, 40u, 200u}) {
    std::vector<double> scores;
    std::vector<std::int64_t> labels;
    random_case(gen, n, scores, labels);
    const auto c = m::roc_curve(vec(scores), ids(labels));
    double area = 0;  // a tie group is a diagonal segment: the trapezoid counts it 1/2
    for (std::size_t i = 1; i < c.fpr.size(); ++i) area += (c.fpr[i] - c.fpr[i - 1]) * (c.tpr[i] + c.tpr[i - 1]) / 2;
    INFO("n = " << n);
    CHECK(area == Approx(m::roc_auc(vec(scores), ids(labels))).epsilon(1e-12));
  }
}

TEST_CASE("RocAuc: streaming equals one-shot, exactly, for every batch split", "[metrics][roc_auc]") {
  std::mt19937 gen(7);
  std::vector<double> scores;
  std::vector<std::int64_t> labels;
  random_case(gen, 120, scores, labels);
  const double one_shot = m::roc_auc(vec(scores), ids(labels));
  for (std::size_t batch : {1u, 7u, 32u, 64u, 120u}) {
    m::RocAuc running;
    for (std::size_t start = 0; start < scores.size(); start += batch) {
      const std::size_t end = std::min(scores.size(), start + batch);
      running.update(vec({scores.begin() + long(start), scores.begin() + long(end)}),
                     ids({labels.begin() + long(start), labels.begin() + long(end)}));
    }
    INFO("batch " << batch);
    CHECK(running.num_samples() == 120);
    CHECK(running.compute() == one_shot);  // bitwise
    CHECK(running.curve().tpr == m::roc_curve(vec(scores), ids(labels)).tpr);
  }
}

TEST_CASE("RocAuc: reset, empty batches, failed updates change nothing", "[metrics][roc_auc]") {
  m::RocAuc running;
  TG_CHECK_THROWS(running.compute(), tg::ValueError, "RocAuc::compute: no samples yet; call update");
  running.update(vec({}), ids({}));  // an empty tail batch
  running.update(vec({0.2, 0.9}), ids({0, 1}));
  CHECK(running.compute() == 1.0);
  TG_CHECK_THROWS(running.update(vec({0.5, NAN}), ids({0, 0})), tg::ValueError, "RocAuc::update: score at index 1 is NaN");
  TG_CHECK_THROWS(running.update(vec({0.5}), ids({2})), tg::ValueError, "labels in {0, 1}, found 2 at index 0");
  TG_CHECK_THROWS(running.update(vec({0.5, 0.1}), ids({0})), tg::ShapeError, "scores have 2 samples but labels have 1");
  CHECK(running.num_samples() == 2);
  running.update(vec({0.95}), ids({0}));  // beats the positive: 1 of 2 pairs
  CHECK(running.compute() == 0.5);
  running.reset();
  CHECK(running.num_samples() == 0);
  running.update(vec({0.4, 0.3}), ids({1, 1}));
  TG_CHECK_THROWS(running.compute(), tg::ValueError,
                    "RocAuc::compute: Only one class present in y_true. ROC AUC score is not defined in that case.");
}

TEST_CASE("roc_auc errors", "[metrics][roc_auc]") {
  TG_CHECK_THROWS(m::roc_auc(vec({0.1, 0.2, 0.3}), ids({1, 1, 1})), tg::ValueError,
                    "roc_auc: Only one class present in y_true. ROC AUC score is not defined in that case. (3 positives, 0 negatives");
  TG_CHECK_THROWS(m::roc_auc(vec({0.1, 0.2}), ids({0, 0})), tg::ValueError, "Only one class present in y_true");
  TG_CHECK_THROWS(m::roc_curve(vec({0.1, 0.2}), ids({0, 0})), tg::ValueError, "roc_curve: Only one class present");
  TG_CHECK_THROWS(m::roc_auc(vec({0.1, NAN, 0.3}), ids({0, 1, 1})), tg::ValueError,
                    "roc_auc: score at index 1 is NaN; ROC AUC ranks the scores");
  TG_CHECK_THROWS(m::roc_auc(vec({0.1, 0.2}), ids({0, 1, 1})), tg::ShapeError,
                    "roc_auc: scores have 2 samples but labels have 3");
  TG_CHECK_THROWS(m::roc_auc(vec({}), ids({})), tg::ValueError, "roc_auc: empty input");
  TG_CHECK_THROWS(m::roc_auc(vec({0.1, 0.2}), ids({0, 2})), tg::ValueError, "found 2 at index 1; ROC AUC is binary");
  TG_CHECK_THROWS(m::roc_auc(vec({0.1, 0.2}), vec({0, 0.5})), tg::ValueError, "found 0.5 at index 1");
  TG_CHECK_THROWS(m::roc_auc(values({0.1, 0.9, 0.2, 0.8}, {2, 2}), ids({0, 1})), tg::ShapeError,
                    "scores must be 1-D [N] or an [N, 1] column, got shape [2, 2]");
}

}  // namespace metrics_roc_auc_test

#undef METRICS_AUC_FAILS

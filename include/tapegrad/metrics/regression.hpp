#pragma once
// Regression metrics with scikit-learn's definitions: mean squared error, mean absolute
// error, root mean squared error and the coefficient of determination R^2.
//
//   double e = tg::metrics::mse(predictions, targets);   // [N] or [N, K], same shape
//   double r = tg::metrics::r2(predictions, targets);
//
// An [N, K] pair is K outputs: each metric is computed per output column and averaged
// (sklearn's multioutput="uniform_average"). Sums are taken in double.

#include "../core.hpp"

#include <cmath>
#include <cstdint>
#include <type_traits>

namespace tapegrad {
namespace metrics {
namespace detail {

// N samples of K outputs; a 1-D [N] tensor is K = 1.
struct OutputColumns {
  std::int64_t rows = 0, cols = 1;
};

template <typename T>
void check_no_nan(const char* fn, const char* what, const Tensor<T>& t) {
  if constexpr (std::is_floating_point_v<T>) {
    const T* data = t.data_ptr();
    for (std::int64_t i = 0; i < t.numel(); ++i)
      if (std::isnan(data[i]))
        tapegrad::detail::fail<ValueError>(fn, ": ", what, " hold NaN at flat index ", i,
                                           "; check the model's output (a diverged loss?)");
  }
}

template <typename P, typename Q>
OutputColumns output_columns(const char* fn, const Tensor<P>& predictions, const Tensor<Q>& targets) {
  using tapegrad::detail::fail;
  using tapegrad::detail::show;
  static_assert(std::is_arithmetic_v<P> && std::is_arithmetic_v<Q>, "regression metrics need numeric tensors");
  if (!predictions.defined() || !targets.defined()) fail<ValueError>(fn, ": undefined tensor");
  if (predictions.shape() != targets.shape())
    fail<ShapeError>(fn, ": predictions have shape ", show(predictions.shape()), " but targets have shape ",
                     show(targets.shape()), "; pass one prediction per target, in the same shape");
  if (predictions.dim() != 1 && predictions.dim() != 2)
    fail<ShapeError>(fn, ": expected [N] or [N, K] (K outputs), got shape ", show(predictions.shape()),
                     "; reshape to [N, K]");
  const OutputColumns layout{predictions.size(0), predictions.dim() == 2 ? predictions.size(1) : 1};
  if (layout.rows == 0 || layout.cols == 0)
    fail<ValueError>(fn, ": empty input (shape ", show(predictions.shape()), "); a metric needs at least one sample");
  check_no_nan(fn, "predictions", predictions);
  check_no_nan(fn, "targets", targets);
  return layout;
}

// The mean over output columns of column_score(prediction(i), target(i)) for that column.
template <typename P, typename Q, typename ColumnScore>
double uniform_average(const Tensor<P>& predictions, const Tensor<Q>& targets, OutputColumns layout,
                       ColumnScore column_score) {
  const P* p = predictions.data_ptr();
  const Q* t = targets.data_ptr();
  double total = 0;
  for (std::int64_t c = 0; c < layout.cols; ++c) {
    const auto prediction = [&](std::int64_t i) { return double(p[i * layout.cols + c]); };
    const auto target = [&](std::int64_t i) { return double(t[i * layout.cols + c]); };
    total += column_score(prediction, target, layout.rows);
  }
  return total / double(layout.cols);
}

template <typename Prediction, typename Target>
double column_mse(const Prediction& prediction, const Target& target, std::int64_t rows) {
  double sum = 0;
  for (std::int64_t i = 0; i < rows; ++i) sum += (target(i) - prediction(i)) * (target(i) - prediction(i));
  return sum / double(rows);
}

}  // namespace detail

// mean of (y - y_hat)^2.
template <typename P, typename Q>
double mse(const Tensor<P>& predictions, const Tensor<Q>& targets) {
  const auto layout = detail::output_columns("mse", predictions, targets);
  return detail::uniform_average(predictions, targets, layout, [](const auto& p, const auto& t, std::int64_t n) {
    return detail::column_mse(p, t, n);
  });
}

// mean of |y - y_hat|.
template <typename P, typename Q>
double mae(const Tensor<P>& predictions, const Tensor<Q>& targets) {
  const auto layout = detail::output_columns("mae", predictions, targets);
  return detail::uniform_average(predictions, targets, layout, [](const auto& p, const auto& t, std::int64_t n) {
    double sum = 0;
    for (std::int64_t i = 0; i < n; ++i) sum += std::abs(t(i) - p(i));
    return sum / double(n);
  });
}

// sqrt(mse), per output and then averaged (sklearn's root_mean_squared_error), so for
// K > 1 it is not sqrt of the pooled mse.
template <typename P, typename Q>
double rmse(const Tensor<P>& predictions, const Tensor<Q>& targets) {
  const auto layout = detail::output_columns("rmse", predictions, targets);
  return detail::uniform_average(predictions, targets, layout, [](const auto& p, const auto& t, std::int64_t n) {
    return std::sqrt(detail::column_mse(p, t, n));
  });
}

// R^2 = 1 - SS_res / SS_tot, SS_res = sum (y - y_hat)^2, SS_tot = sum (y - mean y)^2.
// A constant target (SS_tot = 0) scores 1 if predicted exactly, else 0 (sklearn's
// force_finite=True, instead of -inf or NaN). Needs N >= 2.
template <typename P, typename Q>
double r2(const Tensor<P>& predictions, const Tensor<Q>& targets) {
  const auto layout = detail::output_columns("r2", predictions, targets);
  if (layout.rows < 2)
    tapegrad::detail::fail<ValueError>("r2: R^2 is not well-defined with less than two samples (got ", layout.rows,
                                       "); evaluate on more samples");
  return detail::uniform_average(predictions, targets, layout, [](const auto& p, const auto& t, std::int64_t n) {
    double mean = 0;
    for (std::int64_t i = 0; i < n; ++i) mean += t(i);
    mean /= double(n);
    double ss_res = 0, ss_tot = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      ss_res += (t(i) - p(i)) * (t(i) - p(i));
      ss_tot += (t(i) - mean) * (t(i) - mean);
    }
    if (ss_tot == 0) return ss_res == 0 ? 1.0 : 0.0;
    return 1 - ss_res / ss_tot;
  });
}

}  // namespace metrics
}  // namespace tapegrad

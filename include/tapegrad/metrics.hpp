#pragma once
// tg::metrics: the metrics researchers report while training, with scikit-learn's
// definitions (accuracy, precision/recall/F1, confusion matrix, log loss, exact ROC AUC,
// mse/mae/rmse/r2) and streaming accumulators for per-batch updates. Needs only Eigen;
// the tensor and autograd headers do not include this one. See docs/metrics.md.
//
//   double acc = tg::metrics::accuracy(logits, labels);   // predictions first, then labels
//   double auc = tg::metrics::roc_auc(scores, labels);

#include "core.hpp"
#include "metrics/classification.hpp"
#include "metrics/roc_auc.hpp"
#include "metrics/regression.hpp"
#include "metrics/running.hpp"

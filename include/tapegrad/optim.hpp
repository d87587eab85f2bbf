#pragma once
// tg::optim: optimizers with parameter groups and state dicts (and, in lr_scheduler.hpp,
// learning-rate schedules). Needs only Eigen. See docs/training.md.
//
//   tg::optim::Adam<float> opt(model.parameters(), tg::optim::AdamOptions(1e-3));

#include "tapegrad.hpp"
#include "optim/optimizer.hpp"
#include "optim/sgd.hpp"
#include "optim/adam.hpp"
#include "optim/rmsprop.hpp"
#include "optim/adagrad.hpp"
#include "optim/adadelta.hpp"
#include "optim/adamax.hpp"
#include "optim/nadam.hpp"
#include "optim/radam.hpp"
#include "optim/lbfgs.hpp"
#include "optim/lr_scheduler.hpp"

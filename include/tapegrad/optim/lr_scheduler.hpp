#pragma once
// Learning-rate schedules with PyTorch's names and semantics (torch.optim.lr_scheduler).
//
//   tg::optim::SGD<float> sgd(model.parameters(), tg::optim::SGDOptions(0.1));
//   tg::optim::CosineAnnealingLR<float> schedule(sgd, /*T_max=*/50);
//   for (int epoch = 0; epoch < 50; ++epoch) { train_one_epoch(sgd); schedule.step(); }
//
// Every epoch-indexed schedule is a closed form lr_t = f(base_lr, t) (PyTorch's
// _get_closed_form_lr), written by apply() into the optimizer's groups. Closed forms make a
// resumed run exact (the state is t and the base lrs, nothing accumulated) and let
// SequentialLR evaluate its parts at shifted epochs. The base lr of a group is the
// optimizer's initial_lr(g): its lr when the first scheduler attached, as PyTorch's
// param_group["initial_lr"], so a warm-up and a decay built one after the other share it.
//
// ReduceLROnPlateau is the one schedule driven by a metric: step(metric) instead of step().

#include "../core.hpp"
#include "../io/state_dict.hpp"
#include "optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace tapegrad::optim {

namespace detail {
constexpr double pi = 3.14159265358979323846;

inline void check_schedule_arg(const char* scheduler, const char* arg, double value, bool ok, const char* rule) {
  if (!ok) tapegrad::detail::fail<ValueError>(scheduler, ": invalid ", arg, " ", value, " (", rule, ")");
}

// The cosine half-wave from start (pct = 0) to end (pct = 1): end + (start - end)(1 + cos(pi pct))/2.
inline double cosine_anneal(double start, double end, double pct) {
  return end + (start - end) / 2 * (std::cos(pi * pct) + 1);
}
inline double linear_anneal(double start, double end, double pct) { return start + (end - start) * pct; }
}  // namespace detail

template <typename T>
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // Advances the epoch and writes its lr into every group. Nothing changes if the
  // schedule refuses the epoch (OneCycleLR past total_steps).
  void step() { apply(last_epoch_ + 1); }

  // The schedule itself: the lr at epoch t of a group whose base lr is `base`.
  virtual double lr_at(double base, std::int64_t t) const = 0;

  std::int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  const std::vector<double>& get_last_lr() const { return last_lrs_; }
  const Optimizer<T>& optimizer() const { return optimizer_; }
  const char* name() const { return name_; }

  // "last_epoch" and "base_lrs.<g>" as 0-d double tensors.
  StateDict<double> state_dict() const {
    StateDict<double> sd;
    sd.insert("last_epoch", scalar_tensor<double>(static_cast<double>(last_epoch_)));
    for (std::size_t g = 0; g < base_lrs_.size(); ++g)
      sd.insert("base_lrs." + std::to_string(g), scalar_tensor<double>(base_lrs_[g]));
    return sd;
  }

  // Restores the epoch and the base lrs and writes that epoch's lr, so a resumed run
  // follows the same trajectory. Checks every key first; on an error nothing changes.
  void load_state_dict(const StateDict<double>& sd) {
    auto fail = [&](const std::string& why) {
      tapegrad::detail::fail<ValueError>(name_, ".load_state_dict: ", why, "; nothing was loaded");
    };
    auto scalar = [&](const std::string& key) {
      if (!sd.contains(key)) fail("missing key \"" + key + "\"");
      const Tensor<double>& t = sd.at(key);
      if (t.numel() != 1) fail("\"" + key + "\" must hold one value, got shape " + to_string(t.shape()));
      return t.data_ptr()[0];
    };
    const double epoch = scalar("last_epoch");
    if (!(epoch >= 0 && epoch == std::floor(epoch)))
      fail("last_epoch must be a whole number >= 0, got " + std::to_string(epoch));
    std::vector<double> bases(base_lrs_.size());
    for (std::size_t g = 0; g < bases.size(); ++g) {
      bases[g] = scalar("base_lrs." + std::to_string(g));
      if (!(bases[g] >= 0) || !std::isfinite(bases[g]))
        fail("base_lrs." + std::to_string(g) + " must be a finite lr >= 0, got " + std::to_string(bases[g]));
    }
    if (sd.size() != bases.size() + 1)
      fail("the state dict has " + std::to_string(sd.size()) + " entries, this scheduler expects " +
           std::to_string(bases.size() + 1) + " (one per parameter group and last_epoch)");
    const std::vector<double> previous = base_lrs_;
    base_lrs_ = bases;
    try {
      apply(static_cast<std::int64_t>(epoch));
    } catch (...) {
      base_lrs_ = previous;
      throw;
    }
  }

 protected:
  LRScheduler(Optimizer<T>& optimizer, const char* name) : optimizer_(optimizer), name_(name) {
    for (std::size_t g = 0; g < optimizer_.num_param_groups(); ++g) base_lrs_.push_back(optimizer_.initial_lr(g));
  }
  // Derived constructors call this once their arguments are checked: epoch 0's lr.
  void initialize() { apply(0); }
  // What else a schedule writes at epoch t (OneCycleLR's momentum); runs after the lrs.
  virtual void apply_extra(std::int64_t) {}
  std::vector<double>& mutable_base_lrs() { return base_lrs_; }
  Optimizer<T>& mutable_optimizer() { return optimizer_; }

 private:
  void apply(std::int64_t t) {
    std::vector<double> lrs(base_lrs_.size());
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) lrs[g] = lr_at(base_lrs_[g], t);  // may throw: nothing set yet
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_lr(g, lrs[g]);
    last_lrs_ = std::move(lrs);
    last_epoch_ = t;
    apply_extra(t);
  }

  Optimizer<T>& optimizer_;
  const char* name_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lrs_;
  std::int64_t last_epoch_ = 0;
};

// lr = base * gamma^floor(t / step_size)
template <typename T>
class StepLR : public LRScheduler<T> {
 public:
  StepLR(Optimizer<T>& optimizer, std::int64_t step_size, double gamma = 0.1)
      : LRScheduler<T>(optimizer, "StepLR"), step_size_(step_size), gamma_(gamma) {
    detail::check_schedule_arg("StepLR", "step_size", static_cast<double>(step_size), step_size > 0, "must be > 0");
    detail::check_schedule_arg("StepLR", "gamma", gamma, gamma > 0, "must be > 0");
    this->initialize();
  }
  double lr_at(double base, std::int64_t t) const override {
    return base * std::pow(gamma_, static_cast<double>(t / step_size_));
  }

 private:
  std::int64_t step_size_;
  double gamma_;
};

// lr = base * gamma^(number of milestones <= t); a repeated milestone counts twice, as in PyTorch.
template <typename T>
class MultiStepLR : public LRScheduler<T> {
 public:
  MultiStepLR(Optimizer<T>& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1)
      : LRScheduler<T>(optimizer, "MultiStepLR"), milestones_(std::move(milestones)), gamma_(gamma) {
    detail::check_schedule_arg("MultiStepLR", "gamma", gamma, gamma > 0, "must be > 0");
    for (std::int64_t m : milestones_)
      detail::check_schedule_arg("MultiStepLR", "milestone", static_cast<double>(m), m >= 0, "must be >= 0");
    std::sort(milestones_.begin(), milestones_.end());
    this->initialize();
  }
  double lr_at(double base, std::int64_t t) const override {
    const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), t) - milestones_.begin();
    return base * std::pow(gamma_, static_cast<double>(passed));
  }

 private:
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

// lr = base * factor for t < total_iters, then base.
template <typename T>
class ConstantLR : public LRScheduler<T> {
 public:
  ConstantLR(Optimizer<T>& optimizer, double factor = 1.0 / 3, std::int64_t total_iters = 5)
      : LRScheduler<T>(optimizer, "ConstantLR"), factor_(factor), total_iters_(total_iters) {
    detail::check_schedule_arg("ConstantLR", "factor", factor, factor >= 0 && factor <= 1, "must be in [0, 1]");
    detail::check_schedule_arg("ConstantLR", "total_iters", static_cast<double>(total_iters), total_iters >= 0,
                               "must be >= 0");
    this->initialize();
  }
  double lr_at(double base, std::int64_t t) const override { return t < total_iters_ ? base * factor_ : base; }

 private:
  double factor_;
  std::int64_t total_iters_;
};

// lr = base * (start + (end - start) * min(t, total_iters) / total_iters)
template <typename T>
class LinearLR : public LRScheduler<T> {
 public:
  LinearLR(Optimizer<T>& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0,
           std::int64_t total_iters = 5)
      : LRScheduler<T>(optimizer, "LinearLR"), start_(start_factor), end_(end_factor), total_iters_(total_iters) {
    detail::check_schedule_arg("LinearLR", "start_factor", start_factor, start_factor > 0 && start_factor <= 1,
                               "must be in (0, 1]");
    detail::check_schedule_arg("LinearLR", "end_factor", end_factor, end_factor >= 0 && end_factor <= 1,
                               "must be in [0, 1]");
    detail::check_schedule_arg("LinearLR", "total_iters", static_cast<double>(total_iters), total_iters > 0,
                               "must be > 0");
    this->initialize();
  }
  double lr_at(double base, std::int64_t t) const override {
    const double progress = static_cast<double>(std::min(t, total_iters_)) / static_cast<double>(total_iters_);
    return base * detail::linear_anneal(start_, end_, progress);
  }

 private:
  double start_, end_;
  std::int64_t total_iters_;
};

// lr = base * gamma^t
template <typename T>
class ExponentialLR : public LRScheduler<T> {
 public:
  ExponentialLR(Optimizer<T>& optimizer, double gamma) : LRScheduler<T>(optimizer, "ExponentialLR"), gamma_(gamma) {
    detail::check_schedule_arg("ExponentialLR", "gamma", gamma, gamma > 0, "must be > 0");
    this->initialize();
  }
  double lr_at(double base, std::int64_t t) const override { return base * std::pow(gamma_, static_cast<double>(t)); }

 private:
  double gamma_;
};

// lr = base * (1 - min(t, total_iters) / total_iters)^power
template <typename T>
class PolynomialLR : public LRScheduler<T> {
 public:
  PolynomialLR(Optimizer<T>& optimizer, std::int64_t total_iters = 5, double power = 1.0)
      : LRScheduler<T>(optimizer, "PolynomialLR"), total_iters_(total_iters), power_(power) {
    detail::check_schedule_arg("PolynomialLR", "total_iters", static_cast<double>(total_iters), total_iters > 0,
                               "must be > 0");
    detail::check_schedule_arg("PolynomialLR", "power", power, power >= 0, "must be >= 0");
    this->initialize();
  }
  double lr_at(double base, std::int64_t t) const override {
    const double progress = static_cast<double>(std::min(t, total_iters_)) / static_cast<double>(total_iters_);
    return base * std::pow(1 - progress, power_);
  }

 private:
  std::int64_t total_iters_;
  double power_;
};

// lr = eta_min + (base - eta_min)(1 + cos(pi t / T_max))/2. PyTorch's recursive form
// equals this for t <= T_max; past T_max the cosine continues (back up), as its closed form.
template <typename T>
class CosineAnnealingLR : public LRScheduler<T> {
 public:
  CosineAnnealingLR(Optimizer<T>& optimizer, std::int64_t T_max, double eta_min = 0.0)
      : LRScheduler<T>(optimizer, "CosineAnnealingLR"), T_max_(T_max), eta_min_(eta_min) {
    detail::check_schedule_arg("CosineAnnealingLR", "T_max", static_cast<double>(T_max), T_max > 0, "must be > 0");
    detail::check_schedule_arg("CosineAnnealingLR", "eta_min", eta_min, eta_min >= 0, "must be >= 0");
    this->initialize();
  }
  double lr_at(double base, std::int64_t t) const override {
    return detail::cosine_anneal(base, eta_min_, static_cast<double>(t) / static_cast<double>(T_max_));
  }

 private:
  std::int64_t T_max_;
  double eta_min_;
};

// SGDR (Loshchilov & Hutter): cosine cycles of lengths T_0, T_0 T_mult, T_0 T_mult^2, ...,
// each restarting at base. Within a cycle of length T_i at position T_cur:
// lr = eta_min + (base - eta_min)(1 + cos(pi T_cur / T_i))/2.
template <typename T>
class CosineAnnealingWarmRestarts : public LRScheduler<T> {
 public:
  CosineAnnealingWarmRestarts(Optimizer<T>& optimizer, std::int64_t T_0, std::int64_t T_mult = 1, double eta_min = 0.0)
      : LRScheduler<T>(optimizer, "CosineAnnealingWarmRestarts"), T_0_(T_0), T_mult_(T_mult), eta_min_(eta_min) {
    detail::check_schedule_arg("CosineAnnealingWarmRestarts", "T_0", static_cast<double>(T_0), T_0 > 0, "must be > 0");
    detail::check_schedule_arg("CosineAnnealingWarmRestarts", "T_mult", static_cast<double>(T_mult), T_mult >= 1,
                               "must be an integer >= 1");
    detail::check_schedule_arg("CosineAnnealingWarmRestarts", "eta_min", eta_min, eta_min >= 0, "must be >= 0");
    this->initialize();
  }
  double lr_at(double base, std::int64_t t) const override {
    std::int64_t cycle = T_0_, position = t;
    if (T_mult_ == 1) {
      position = t % T_0_;
    } else {
      while (position >= cycle) {  // cycles grow geometrically: O(log t) iterations
        position -= cycle;
        cycle *= T_mult_;
      }
    }
    return detail::cosine_anneal(base, eta_min_, static_cast<double>(position) / static_cast<double>(cycle));
  }

 private:
  std::int64_t T_0_, T_mult_;
  double eta_min_;
};

// lr = base * lr_lambda(t)
template <typename T>
class LambdaLR : public LRScheduler<T> {
 public:
  LambdaLR(Optimizer<T>& optimizer, std::function<double(std::int64_t)> lr_lambda)
      : LRScheduler<T>(optimizer, "LambdaLR"), lambda_(std::move(lr_lambda)) {
    if (!lambda_) tapegrad::detail::fail<ValueError>("LambdaLR: lr_lambda is empty; pass a function of the epoch");
    this->initialize();
  }
  double lr_at(double base, std::int64_t t) const override {
    const double factor = lambda_(t);
    if (!(factor >= 0) || !std::isfinite(factor))
      tapegrad::detail::fail<ValueError>("LambdaLR: lr_lambda(", t, ") returned ", factor,
                                         "; the lr factor must be finite and >= 0");
    return base * factor;
  }

 private:
  std::function<double(std::int64_t)> lambda_;
};

// Runs schedulers one after the other: schedulers[i] from milestones[i-1] on, at epochs
// counted from its milestone (PyTorch's SequentialLR):
//
//   tg::optim::LinearLR<float> warmup(opt, 0.1, 1.0, 5);
//   tg::optim::CosineAnnealingLR<float> decay(opt, 95);
//   tg::optim::SequentialLR<float> schedule(opt, {warmup, decay}, {5});
//
// The parts must outlive it and are only read: step the SequentialLR, not its parts.
template <typename T>
class SequentialLR : public LRScheduler<T> {
 public:
  SequentialLR(Optimizer<T>& optimizer, std::vector<std::reference_wrapper<const LRScheduler<T>>> schedulers,
               std::vector<std::int64_t> milestones)
      : LRScheduler<T>(optimizer, "SequentialLR"), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
    if (schedulers_.empty()) tapegrad::detail::fail<ValueError>("SequentialLR: needs at least one scheduler");
    if (milestones_.size() + 1 != schedulers_.size())
      tapegrad::detail::fail<ValueError>("SequentialLR: ", schedulers_.size(), " schedulers need ",
                                         schedulers_.size() - 1, " milestones, got ", milestones_.size());
    for (std::size_t i = 0; i < milestones_.size(); ++i)
      if (milestones_[i] <= (i == 0 ? 0 : milestones_[i - 1]))
        tapegrad::detail::fail<ValueError>("SequentialLR: milestones must be increasing and > 0, got ", milestones_[i],
                                           " at position ", i);
    for (std::size_t i = 0; i < schedulers_.size(); ++i)
      if (&schedulers_[i].get().optimizer() != &optimizer)
        tapegrad::detail::fail<ValueError>("SequentialLR: scheduler ", i, " (", schedulers_[i].get().name(),
                                           ") belongs to another optimizer; build every part on this one");
    this->initialize();
  }
  double lr_at(double base, std::int64_t t) const override {
    const auto i = static_cast<std::size_t>(std::upper_bound(milestones_.begin(), milestones_.end(), t) - milestones_.begin());
    const std::int64_t start = i == 0 ? 0 : milestones_[i - 1];
    return schedulers_[i].get().lr_at(base, t - start);
  }

 private:
  std::vector<std::reference_wrapper<const LRScheduler<T>>> schedulers_;
  std::vector<std::int64_t> milestones_;
};

enum class AnnealStrategy { Cos, Linear };

class OneCycleLROptions {
 public:
  TAPEGRAD_OPTIM_OPTION(OneCycleLROptions, double, pct_start)
  TAPEGRAD_OPTIM_OPTION(OneCycleLROptions, AnnealStrategy, anneal_strategy)
  TAPEGRAD_OPTIM_OPTION(OneCycleLROptions, bool, cycle_momentum)
  TAPEGRAD_OPTIM_OPTION(OneCycleLROptions, double, base_momentum)
  TAPEGRAD_OPTIM_OPTION(OneCycleLROptions, double, max_momentum)
  TAPEGRAD_OPTIM_OPTION(OneCycleLROptions, double, div_factor)
  TAPEGRAD_OPTIM_OPTION(OneCycleLROptions, double, final_div_factor)
  TAPEGRAD_OPTIM_OPTION(OneCycleLROptions, bool, three_phase)

 private:
  double pct_start_ = 0.3;
  AnnealStrategy anneal_strategy_ = AnnealStrategy::Cos;
  bool cycle_momentum_ = true;
  double base_momentum_ = 0.85, max_momentum_ = 0.95;
  double div_factor_ = 25, final_div_factor_ = 1e4;
  bool three_phase_ = false;
};

// The 1cycle policy (Smith & Topin), stepped once per batch for total_steps batches: the lr
// rises from max_lr/div_factor to max_lr over pct_start of the steps and anneals to
// max_lr/(div_factor final_div_factor); the momentum (SGD's momentum, Adam's beta1) moves
// the opposite way between max_momentum and base_momentum. Base lr = max_lr/div_factor.
template <typename T>
class OneCycleLR : public LRScheduler<T> {
 public:
  OneCycleLR(Optimizer<T>& optimizer, double max_lr, std::int64_t total_steps, OneCycleLROptions options = {})
      : OneCycleLR(optimizer, std::vector<double>(optimizer.num_param_groups(), max_lr), total_steps, options) {}

  // One max_lr per parameter group.
  OneCycleLR(Optimizer<T>& optimizer, const std::vector<double>& max_lrs, std::int64_t total_steps,
             OneCycleLROptions options = {})
      : LRScheduler<T>(optimizer, "OneCycleLR"), total_steps_(total_steps), options_(options) {
    const char* me = "OneCycleLR";
    if (max_lrs.size() != optimizer.num_param_groups())
      tapegrad::detail::fail<ValueError>(me, ": got ", max_lrs.size(), " max_lr values for ",
                                         optimizer.num_param_groups(), " parameter groups");
    detail::check_schedule_arg(me, "total_steps", static_cast<double>(total_steps), total_steps > 0, "must be > 0");
    detail::check_schedule_arg(me, "pct_start", options.pct_start(), options.pct_start() >= 0 && options.pct_start() <= 1,
                               "must be in [0, 1]");
    detail::check_schedule_arg(me, "div_factor", options.div_factor(), options.div_factor() > 0, "must be > 0");
    detail::check_schedule_arg(me, "final_div_factor", options.final_div_factor(), options.final_div_factor() > 0,
                               "must be > 0");
    // PyTorch's phase ends: pct_start * total_steps - 1, [2 pct_start total_steps - 2,] total_steps - 1.
    const double rise_end = options.pct_start() * static_cast<double>(total_steps) - 1;
    phase_ends_ = {rise_end};
    if (options.three_phase()) phase_ends_.push_back(2 * rise_end);
    phase_ends_.push_back(static_cast<double>(total_steps) - 1);
    for (std::size_t i = 0; i < phase_ends_.size(); ++i)
      if (!(phase_ends_[i] > (i == 0 ? 0.0 : phase_ends_[i - 1])))
        tapegrad::detail::fail<ValueError>(me, ": phase ", i, " of the cycle is empty (pct_start ", options.pct_start(),
                                           " of ", total_steps, " steps); every phase needs at least one step, "
                                           "so pct_start * total_steps must exceed 1 and leave steps after it");
    for (std::size_t g = 0; g < max_lrs.size(); ++g) {
      detail::check_schedule_arg(me, "max_lr", max_lrs[g], max_lrs[g] > 0 && std::isfinite(max_lrs[g]), "must be > 0");
      this->mutable_base_lrs()[g] = max_lrs[g] / options.div_factor();
      optimizer.set_initial_lr(g, this->base_lrs()[g]);
      if (options.cycle_momentum() && !optimizer.has_momentum(g))
        tapegrad::detail::fail<ValueError>(me, ": parameter group ", g, " has no momentum to cycle (its optimizer has ",
                                           "neither momentum nor betas); pass OneCycleLROptions().cycle_momentum(false)");
    }
    this->initialize();
  }

  double lr_at(double base, std::int64_t t) const override {
    const double max_lr = base * options_.div_factor(), min_lr = base / options_.final_div_factor();
    if (options_.three_phase()) return along_phases(t, {{base, max_lr}, {max_lr, base}, {base, min_lr}});
    return along_phases(t, {{base, max_lr}, {max_lr, min_lr}});
  }
  double momentum_at(std::int64_t t) const {
    const double lo = options_.base_momentum(), hi = options_.max_momentum();
    if (options_.three_phase()) return along_phases(t, {{hi, lo}, {lo, hi}, {hi, hi}});
    return along_phases(t, {{hi, lo}, {lo, hi}});
  }

 protected:
  void apply_extra(std::int64_t t) override {
    if (!options_.cycle_momentum()) return;
    for (std::size_t g = 0; g < this->base_lrs().size(); ++g) this->mutable_optimizer().set_momentum(g, momentum_at(t));
  }

 private:
  // The value at step t moving through the phases: (start, end) of each, annealed.
  double along_phases(std::int64_t t, const std::vector<std::pair<double, double>>& phases) const {
    if (t > total_steps_)
      tapegrad::detail::fail<ValueError>("OneCycleLR: stepped ", t, " times, past total_steps ", total_steps_,
                                         "; build it with the number of batches of the whole run");
    const double step = static_cast<double>(t);
    double phase_start = 0;
    for (std::size_t i = 0; i < phases.size(); ++i) {
      if (step <= phase_ends_[i] || i + 1 == phases.size()) {
        // Step total_steps (the step() after the last batch) is past the last phase's end:
        // PyTorch extrapolates there, which a linear anneal takes below zero; it stays at the end value.
        const double pct = std::min(1.0, (step - phase_start) / (phase_ends_[i] - phase_start));
        return options_.anneal_strategy() == AnnealStrategy::Cos
                   ? detail::cosine_anneal(phases[i].first, phases[i].second, pct)
                   : detail::linear_anneal(phases[i].first, phases[i].second, pct);
      }
      phase_start = phase_ends_[i];
    }
    return phases.back().second;  // not reached: the last phase takes every later step
  }

  std::int64_t total_steps_;
  OneCycleLROptions options_;
  std::vector<double> phase_ends_;
};

enum class PlateauMode { Min, Max };
enum class ThresholdMode { Rel, Abs };

class ReduceLROnPlateauOptions {
 public:
  TAPEGRAD_OPTIM_OPTION(ReduceLROnPlateauOptions, PlateauMode, mode)
  TAPEGRAD_OPTIM_OPTION(ReduceLROnPlateauOptions, double, factor)
  TAPEGRAD_OPTIM_OPTION(ReduceLROnPlateauOptions, std::int64_t, patience)
  TAPEGRAD_OPTIM_OPTION(ReduceLROnPlateauOptions, double, threshold)
  TAPEGRAD_OPTIM_OPTION(ReduceLROnPlateauOptions, ThresholdMode, threshold_mode)
  TAPEGRAD_OPTIM_OPTION(ReduceLROnPlateauOptions, std::int64_t, cooldown)
  TAPEGRAD_OPTIM_OPTION(ReduceLROnPlateauOptions, double, min_lr)
  TAPEGRAD_OPTIM_OPTION(ReduceLROnPlateauOptions, double, eps)

 private:
  PlateauMode mode_ = PlateauMode::Min;
  double factor_ = 0.1;
  std::int64_t patience_ = 10;
  double threshold_ = 1e-4;
  ThresholdMode threshold_mode_ = ThresholdMode::Rel;
  std::int64_t cooldown_ = 0;
  double min_lr_ = 0;
  double eps_ = 1e-8;
};

// Multiplies every group's lr by factor once the metric has not improved for more than
// `patience` epochs (PyTorch's ReduceLROnPlateau): step(validation_loss) once per epoch.
// "Improved" is a < best (1 - threshold) in Min/Rel mode, a < best - threshold in Min/Abs,
// mirrored for Max. After a reduction, `cooldown` epochs pass before bad epochs count again;
// lrs never go below min_lr, and a change smaller than eps is not made.
template <typename T>
class ReduceLROnPlateau {
 public:
  explicit ReduceLROnPlateau(Optimizer<T>& optimizer, ReduceLROnPlateauOptions options = {})
      : optimizer_(optimizer), options_(options) {
    const char* me = "ReduceLROnPlateau";
    detail::check_schedule_arg(me, "factor", options.factor(), options.factor() > 0 && options.factor() < 1,
                               "must be in (0, 1)");
    detail::check_schedule_arg(me, "patience", static_cast<double>(options.patience()), options.patience() >= 0,
                               "must be >= 0");
    detail::check_schedule_arg(me, "threshold", options.threshold(), options.threshold() >= 0, "must be >= 0");
    detail::check_schedule_arg(me, "cooldown", static_cast<double>(options.cooldown()), options.cooldown() >= 0,
                               "must be >= 0");
    detail::check_schedule_arg(me, "min_lr", options.min_lr(), options.min_lr() >= 0, "must be >= 0");
    detail::check_schedule_arg(me, "eps", options.eps(), options.eps() >= 0, "must be >= 0");
    reset();
  }

  // One epoch's metric. A nan or infinite metric throws (the model has diverged; reducing
  // the lr would hide it) and changes nothing.
  void step(double metric) {
    if (!std::isfinite(metric))
      tapegrad::detail::fail<ValueError>("ReduceLROnPlateau.step: the metric is ", metric,
                                         "; the model has diverged (check the loss and the lr) and nothing was changed");
    ++last_epoch_;
    if (improves(metric)) {
      best_ = metric;
      num_bad_epochs_ = 0;
    } else {
      ++num_bad_epochs_;
    }
    if (cooldown_counter_ > 0) {
      --cooldown_counter_;
      num_bad_epochs_ = 0;  // bad epochs during the cooldown are forgiven
    }
    if (num_bad_epochs_ > options_.patience()) {
      reduce_lrs();
      cooldown_counter_ = options_.cooldown();
      num_bad_epochs_ = 0;
    }
  }
  void step(const Tensor<T>& metric) {
    if (metric.numel() != 1)
      tapegrad::detail::fail<ValueError>("ReduceLROnPlateau.step: the metric must hold one value, got shape ",
                                         to_string(metric.shape()));
    step(static_cast<double>(metric.item()));
  }

  std::vector<double> get_last_lr() const {
    std::vector<double> lrs;
    for (std::size_t g = 0; g < optimizer_.num_param_groups(); ++g) lrs.push_back(optimizer_.lr(g));
    return lrs;
  }
  double best() const { return best_; }
  std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
  std::int64_t cooldown_counter() const { return cooldown_counter_; }
  std::int64_t last_epoch() const { return last_epoch_; }

  // "best", "num_bad_epochs", "cooldown_counter", "last_epoch" (the lrs live in the optimizer's).
  StateDict<double> state_dict() const {
    StateDict<double> sd;
    sd.insert("best", scalar_tensor<double>(best_));
    sd.insert("num_bad_epochs", scalar_tensor<double>(static_cast<double>(num_bad_epochs_)));
    sd.insert("cooldown_counter", scalar_tensor<double>(static_cast<double>(cooldown_counter_)));
    sd.insert("last_epoch", scalar_tensor<double>(static_cast<double>(last_epoch_)));
    return sd;
  }
  void load_state_dict(const StateDict<double>& sd) {
    auto fail = [&](const std::string& why) {
      tapegrad::detail::fail<ValueError>("ReduceLROnPlateau.load_state_dict: ", why, "; nothing was loaded");
    };
    auto scalar = [&](const std::string& key) {
      if (!sd.contains(key)) fail("missing key \"" + key + "\"");
      const Tensor<double>& t = sd.at(key);
      if (t.numel() != 1) fail("\"" + key + "\" must hold one value, got shape " + to_string(t.shape()));
      return t.data_ptr()[0];
    };
    auto count = [&](const std::string& key) {
      const double v = scalar(key);
      if (!(v >= 0 && v == std::floor(v))) fail("\"" + key + "\" must be a whole number >= 0, got " + std::to_string(v));
      return static_cast<std::int64_t>(v);
    };
    const double best = scalar("best");
    if (std::isnan(best)) fail("\"best\" is nan");
    const std::int64_t bad = count("num_bad_epochs"), cooldown = count("cooldown_counter"), epoch = count("last_epoch");
    if (sd.size() != 4) fail("expected 4 entries, got " + std::to_string(sd.size()));
    best_ = best;
    num_bad_epochs_ = bad;
    cooldown_counter_ = cooldown;
    last_epoch_ = epoch;
  }

 private:
  void reset() {
    best_ = options_.mode() == PlateauMode::Min ? std::numeric_limits<double>::infinity()
                                                : -std::numeric_limits<double>::infinity();
    num_bad_epochs_ = cooldown_counter_ = last_epoch_ = 0;
  }
  bool improves(double a) const {
    const double th = options_.threshold();
    const bool rel = options_.threshold_mode() == ThresholdMode::Rel;
    if (options_.mode() == PlateauMode::Min) return rel ? a < best_ * (1 - th) : a < best_ - th;
    return rel ? a > best_ * (1 + th) : a > best_ + th;
  }
  void reduce_lrs() {
    for (std::size_t g = 0; g < optimizer_.num_param_groups(); ++g) {
      const double old_lr = optimizer_.lr(g);
      const double new_lr = std::max(old_lr * options_.factor(), options_.min_lr());
      if (old_lr - new_lr > options_.eps()) optimizer_.set_lr(g, new_lr);
    }
  }

  Optimizer<T>& optimizer_;
  ReduceLROnPlateauOptions options_;
  double best_ = 0;
  std::int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0, last_epoch_ = 0;
};

}  // namespace tapegrad::optim

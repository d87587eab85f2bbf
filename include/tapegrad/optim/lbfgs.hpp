#pragma once
// L-BFGS, as torch.optim.LBFGS (after minFunc). The parameters are viewed as one flat
// vector x (in order, each row-major); every step(closure) runs up to max_iter
// iterations of
//   d = -H g   (the two-loop recursion over the last history_size pairs
//               y = g_new - g_old, s = t d, with H0 = H_diag = y's / y'y)
//   x += t d   (t = lr, or min(1, 1/|g|_1) lr on the very first iteration; with
//               LineSearch::strong_wolfe, t from a strong-Wolfe line search)
// stopping early after max_eval closure evaluations (tested after each iteration), when
// max|g| <= tolerance_grad, or when g'd, max|t d| or the change of the loss falls below
// tolerance_change. The closure zeroes the gradients, computes the loss, calls
// backward() and returns the loss (one value); step() returns its first value. The
// updates run without recording, in place through the parameters' buffers.
//
//   tg::optim::LBFGS<double> opt(model.parameters(),
//                                tg::optim::LBFGSOptions().line_search_fn(tg::optim::LineSearch::strong_wolfe));
//   auto loss = opt.step([&] {
//     opt.zero_grad();
//     auto l = criterion(model.forward(x), y);
//     l.backward();
//     return l;
//   });
//
// One parameter group only (PyTorch's rule). The state is global, kept across steps
// (history, last direction and step, evaluation and iteration counts) and saved, as
// PyTorch registers it, under parameter 0:
//   state.0.func_evals, state.0.n_iter                         (0-d)
//   state.0.d, state.0.prev_flat_grad                          ([numel of all parameters])
//   state.0.old_dirs.<k>, state.0.old_stps.<k>, state.0.ro.<k> (k = 0 oldest; ro 0-d)
//   state.0.t, state.0.H_diag, state.0.prev_loss               (0-d)
// the entries after n_iter only once an iteration has run. A loaded state resumes the
// run bit for bit (t is saved as T, and only ever used as T(t) by the next step; in
// float, options that float cannot represent come back rounded, as every optimizer's).
//
// This follows torch/optim/lbfgs.py, line for line. As libtorch does, the line search and
// the stopping tests work in double (t, the losses, g'd), vectors and the history in T.
// libtorch 1.13's C++ port differs in one place: its zoom tests the bracket's width
// after evaluating a point, not before, so it evaluates once more when the bracket is
// already below tolerance_change (tests/optim/lbfgs_test.cpp shows a case).

#include "optimizer.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace tapegrad::optim {

enum class LineSearch { none, strong_wolfe };

class LBFGSOptions {
 public:
  explicit LBFGSOptions(double lr = 1) : lr_(lr) {}
  TAPEGRAD_OPTIM_OPTION(LBFGSOptions, double, lr)
  TAPEGRAD_OPTIM_OPTION(LBFGSOptions, std::int64_t, max_iter)
  TAPEGRAD_OPTIM_OPTION(LBFGSOptions, double, tolerance_grad)
  TAPEGRAD_OPTIM_OPTION(LBFGSOptions, double, tolerance_change)
  TAPEGRAD_OPTIM_OPTION(LBFGSOptions, std::int64_t, history_size)
  TAPEGRAD_OPTIM_OPTION(LBFGSOptions, LineSearch, line_search_fn)
  // Unset, max_iter * 5 / 4, fixed when the optimizer is built (as in PyTorch).
  LBFGSOptions& max_eval(std::int64_t value) {
    max_eval_ = value;
    return *this;
  }
  std::int64_t max_eval() const { return max_eval_ ? *max_eval_ : max_iter_ * 5 / 4; }

  bool has_momentum() const { return false; }
  double momentum_value() const { return 0; }
  void set_momentum_value(double) {}
  std::vector<std::pair<std::string, double>> items() const {
    return {{"lr", lr_},
            {"max_iter", static_cast<double>(max_iter_)},
            {"max_eval", static_cast<double>(max_eval())},
            {"tolerance_grad", tolerance_grad_},
            {"tolerance_change", tolerance_change_},
            {"history_size", static_cast<double>(history_size_)},
            {"line_search_fn", line_search_fn_ == LineSearch::strong_wolfe ? 1.0 : 0.0}};
  }
  // Integer options: the caller checks that v is integral (LBFGS::load_state_dict does).
  void set(const std::string& key, double v) {
    if (key == "lr") lr_ = v;
    if (key == "max_iter") max_iter_ = static_cast<std::int64_t>(v);
    if (key == "max_eval") max_eval_ = static_cast<std::int64_t>(v);
    if (key == "tolerance_grad") tolerance_grad_ = v;
    if (key == "tolerance_change") tolerance_change_ = v;
    if (key == "history_size") history_size_ = static_cast<std::int64_t>(v);
    if (key == "line_search_fn") line_search_fn_ = v != 0 ? LineSearch::strong_wolfe : LineSearch::none;
  }
  void validate(const char* name) const {
    detail::check_option(name, "learning rate", lr_, lr_ >= 0, "must be >= 0");
    detail::check_option(name, "max_iter", static_cast<double>(max_iter_), max_iter_ >= 1, "must be >= 1");
    detail::check_option(name, "max_eval", static_cast<double>(max_eval()), max_eval() >= 1,
                         "must be >= 1; unset, it is max_iter * 5 / 4");
    detail::check_option(name, "tolerance_grad", tolerance_grad_, tolerance_grad_ >= 0, "must be >= 0");
    detail::check_option(name, "tolerance_change", tolerance_change_, tolerance_change_ >= 0, "must be >= 0");
    detail::check_option(name, "history_size", static_cast<double>(history_size_), history_size_ >= 1, "must be >= 1");
  }

 private:
  double lr_;
  std::int64_t max_iter_ = 20;
  std::optional<std::int64_t> max_eval_;
  double tolerance_grad_ = 1e-7, tolerance_change_ = 1e-9;
  std::int64_t history_size_ = 100;
  LineSearch line_search_fn_ = LineSearch::none;
};

namespace detail {

// The minimizer of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clamped
// to bounds (default: the interval between x1 and x2); the midpoint of the bounds when
// the cubic has no minimum (PyTorch's _cubic_interpolate, after torch7's polyinterp).
inline double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                                std::optional<std::pair<double, double>> bounds = std::nullopt) {
  const auto [lo, hi] = bounds ? *bounds : std::make_pair(std::min(x1, x2), std::max(x1, x2));
  const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const double d2_square = d1 * d1 - g1 * g2;
  if (d2_square < 0) return (lo + hi) / 2;
  const double d2 = std::sqrt(d2_square);
  const double min_pos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                                  : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
  return std::min(std::max(min_pos, lo), hi);
}

// L-BFGS's state: global to the optimizer, kept across steps.
template <typename T>
struct LBFGSState {
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  std::int64_t func_evals = 0;  // closure evaluations over all steps (0: never stepped)
  std::int64_t n_iter = 0;      // iterations over all steps (0: the rest is unset)
  Vector d;                     // the last direction
  double t = 0;                 // and its step length
  std::deque<Vector> old_dirs;  // y = g_new - g_old, oldest first
  std::deque<Vector> old_stps;  // s = t d
  std::deque<T> ro;             // 1 / y's
  T H_diag = 1;                 // y's / y'y of the newest pair
  Vector prev_flat_grad;
  double prev_loss = 0;
};

}  // namespace detail

template <typename T>
class LBFGS : public OptimizerWith<T, LBFGSOptions> {
  using Base = OptimizerWith<T, LBFGSOptions>;
  using Vector = typename detail::LBFGSState<T>::Vector;

 public:
  LBFGS(const std::vector<Tensor<T>>& params, LBFGSOptions options = LBFGSOptions())
      : Base("LBFGS", params, options) {
    init();
  }
  // PyTorch's signature; more than one group is refused.
  explicit LBFGS(std::vector<ParamGroup<T, LBFGSOptions>> groups) : Base("LBFGS", std::move(groups)) { init(); }

  // Refused: L-BFGS takes one parameter group.
  void add_param_group(ParamGroup<T, LBFGSOptions>) { fail_groups(2); }

  // L-BFGS evaluates the loss several times per step: only step(closure) steps.
  void step() override { fail_no_closure(); }

  // Up to max_iter iterations (see the top of this file); returns the closure's first loss.
  Tensor<T> step(const std::function<Tensor<T>()>& closure) override {
    if (!closure) fail_no_closure();
    NoGradGuard no_grad;
    const LBFGSOptions o = this->param_groups()[0].options;
    const double lr = o.lr(), tolerance_grad = o.tolerance_grad(), tolerance_change = o.tolerance_change();
    const std::int64_t max_iter = o.max_iter(), max_eval = o.max_eval();
    const auto history_size = static_cast<std::size_t>(o.history_size());
    detail::LBFGSState<T>& s = state_;

    const Tensor<T> orig_loss = evaluate(closure);
    double loss = static_cast<double>(orig_loss.item());
    std::int64_t current_evals = 1;
    s.func_evals += 1;
    gather_flat_grad(flat_grad_);
    bool opt_cond = abs_max(flat_grad_) <= tolerance_grad;
    if (opt_cond) return orig_loss;  // already optimal

    std::int64_t n_iter = 0;
    while (n_iter < max_iter) {
      ++n_iter;
      ++s.n_iter;

      // The direction.
      if (s.n_iter == 1) {
        s.d = -flat_grad_;
        s.old_dirs.clear();
        s.old_stps.clear();
        s.ro.clear();
        s.H_diag = 1;
      } else {
        // Update the history with the last step's pair.
        Vector y = flat_grad_ - s.prev_flat_grad;
        Vector step_vec = s.d * static_cast<T>(s.t);
        const T ys = y.dot(step_vec);
        if (static_cast<double>(ys) > 1e-10) {
          while (s.old_dirs.size() >= history_size) {  // PyTorch: == (the size never exceeds it)
            s.old_dirs.pop_front();
            s.old_stps.pop_front();
            s.ro.pop_front();
          }
          s.H_diag = ys / y.dot(y);
          s.ro.push_back(T(1) / ys);
          s.old_dirs.push_back(std::move(y));
          s.old_stps.push_back(std::move(step_vec));
        }
        // d = -H g by the two-loop recursion, in one buffer.
        const std::size_t num_old = s.old_dirs.size();
        if (al_.size() < num_old) al_.resize(num_old);
        s.d = -flat_grad_;
        for (std::size_t i = num_old; i-- > 0;) {
          al_[i] = s.old_stps[i].dot(s.d) * s.ro[i];
          s.d -= al_[i] * s.old_dirs[i];
        }
        s.d *= s.H_diag;
        for (std::size_t i = 0; i < num_old; ++i) {
          const T be_i = s.old_dirs[i].dot(s.d) * s.ro[i];
          s.d += (al_[i] - be_i) * s.old_stps[i];
        }
      }
      s.prev_flat_grad = flat_grad_;
      s.prev_loss = loss;

      // The step length.
      s.t = s.n_iter == 1 ? std::min(1.0, 1.0 / static_cast<double>(flat_grad_.cwiseAbs().sum())) * lr : lr;
      const double gtd = static_cast<double>(flat_grad_.dot(s.d));
      if (gtd > -tolerance_change) break;  // not a descent direction (any more)

      std::int64_t ls_func_evals = 0;
      if (o.line_search_fn() == LineSearch::strong_wolfe) {
        get_params(x_init_);
        ls_func_evals = strong_wolfe(closure, s.t, s.d, loss, flat_grad_, gtd, tolerance_change);
        add_to_params(s.t, s.d);
        opt_cond = abs_max(flat_grad_) <= tolerance_grad;
      } else {
        add_to_params(s.t, s.d);
        if (n_iter != max_iter) {  // the last iteration's loss is not needed (PyTorch's rule)
          loss = static_cast<double>(evaluate(closure).item());
          gather_flat_grad(flat_grad_);
          opt_cond = abs_max(flat_grad_) <= tolerance_grad;
          ls_func_evals = 1;
        }
      }
      current_evals += ls_func_evals;
      s.func_evals += ls_func_evals;

      // Stop?
      if (n_iter == max_iter) break;
      if (current_evals >= max_eval) break;
      if (opt_cond) break;
      if (static_cast<double>((s.d * static_cast<T>(s.t)).cwiseAbs().maxCoeff()) <= tolerance_change) break;
      if (std::abs(loss - s.prev_loss) < tolerance_change) break;
    }
    return orig_loss;
  }

  // Closure evaluations and iterations over all steps so far.
  std::int64_t func_evals() const { return state_.func_evals; }
  std::int64_t n_iter() const { return state_.n_iter; }
  // L-BFGS has no per-parameter step count: see func_evals() and n_iter().
  double step_count(std::size_t) const = delete;

  StateDict<T> state_dict() const override {
    StateDict<T> sd;
    const detail::LBFGSState<T>& s = state_;
    auto scalar = [](double v) { return scalar_tensor<T>(static_cast<T>(v)); };
    auto vector = [](const Vector& v) { return from_vector(std::vector<T>(v.data(), v.data() + v.size())); };
    if (s.func_evals > 0) {
      sd.insert("state.0.func_evals", scalar(static_cast<double>(s.func_evals)));
      sd.insert("state.0.n_iter", scalar(static_cast<double>(s.n_iter)));
    }
    if (s.n_iter > 0) {
      sd.insert("state.0.d", vector(s.d));
      sd.insert("state.0.t", scalar(s.t));
      for (std::size_t k = 0; k < s.old_dirs.size(); ++k)
        sd.insert("state.0.old_dirs." + std::to_string(k), vector(s.old_dirs[k]));
      for (std::size_t k = 0; k < s.old_stps.size(); ++k)
        sd.insert("state.0.old_stps." + std::to_string(k), vector(s.old_stps[k]));
      for (std::size_t k = 0; k < s.ro.size(); ++k)
        sd.insert("state.0.ro." + std::to_string(k), scalar_tensor<T>(s.ro[k]));
      sd.insert("state.0.H_diag", scalar_tensor<T>(s.H_diag));
      sd.insert("state.0.prev_flat_grad", vector(s.prev_flat_grad));
      sd.insert("state.0.prev_loss", scalar(s.prev_loss));
    }
    for (const auto& [key, value] : this->param_groups()[0].options.items())
      sd.insert("param_groups.0." + key, scalar(value));
    return sd;
  }

  // Checks every key, shape and value first, then replaces the state and the options.
  void load_state_dict(const StateDict<T>& sd) override {
    auto fail = [](const std::string& why) {
      tapegrad::detail::fail<ValueError>("LBFGS.load_state_dict: ", why, "; nothing was loaded");
    };
    std::set<std::string> expected;
    auto entry = [&](const std::string& key) -> const Tensor<T>& {
      if (!sd.contains(key)) fail("missing key \"" + key + "\"");
      expected.insert(key);
      return sd.at(key);
    };
    auto scalar = [&](const std::string& key) {
      const Tensor<T>& t = entry(key);
      if (t.numel() != 1) fail("\"" + key + "\" must hold one value, got shape " + to_string(t.shape()));
      return static_cast<double>(t.data_ptr()[0]);
    };
    auto count = [&](const std::string& key) {
      const double v = scalar(key);
      if (!(v >= 0) || v != std::floor(v) || v > 9.0e15)
        fail("\"" + key + "\" must be a count (an integer >= 0), got " + std::to_string(v));
      return v;
    };
    auto vector = [&](const std::string& key) {
      const Tensor<T>& t = entry(key);
      if (t.shape() != Shape{numel_})
        fail("\"" + key + "\" has shape " + to_string(t.shape()) + "; LBFGS views the parameters as one vector of " +
             std::to_string(numel_) + " elements");
      return Vector(Eigen::Map<const Vector>(t.data_ptr(), numel_));
    };

    LBFGSOptions options = this->param_groups()[0].options;
    for (const auto& [key, unused] : options.items()) {
      const std::string full = "param_groups.0." + key;
      const double v = key == "lr" || key == "tolerance_grad" || key == "tolerance_change" ? scalar(full) : count(full);
      if (key == "line_search_fn" && v > 1) fail("\"" + full + "\" must be 0 (none) or 1 (strong_wolfe)");
      options.set(key, v);
    }
    try {
      options.validate("LBFGS.load_state_dict");
    } catch (const ValueError& e) {
      throw ValueError(std::string(e.what()) + "; nothing was loaded");
    }

    detail::LBFGSState<T> s;
    if (sd.contains("state.0.func_evals") || sd.contains("state.0.n_iter")) {
      s.func_evals = static_cast<std::int64_t>(count("state.0.func_evals"));
      s.n_iter = static_cast<std::int64_t>(count("state.0.n_iter"));
      if (s.n_iter > 0 && s.func_evals == 0)
        fail("\"state.0.n_iter\" is " + std::to_string(s.n_iter) + " but \"state.0.func_evals\" is 0");
    }
    if (s.n_iter > 0) {
      s.d = vector("state.0.d");
      s.t = scalar("state.0.t");
      for (std::size_t k = 0; sd.contains("state.0.old_dirs." + std::to_string(k)); ++k) {
        const std::string i = std::to_string(k);
        s.old_dirs.push_back(vector("state.0.old_dirs." + i));
        s.old_stps.push_back(vector("state.0.old_stps." + i));
        s.ro.push_back(static_cast<T>(scalar("state.0.ro." + i)));
      }
      if (s.old_dirs.size() > static_cast<std::size_t>(options.history_size()))
        fail("the history holds " + std::to_string(s.old_dirs.size()) + " pairs, more than history_size " +
             std::to_string(options.history_size()));
      s.H_diag = static_cast<T>(scalar("state.0.H_diag"));
      s.prev_flat_grad = vector("state.0.prev_flat_grad");
      s.prev_loss = scalar("state.0.prev_loss");
    }
    for (const auto& [key, t] : sd)
      if (expected.count(key) == 0)
        fail("unexpected key \"" + key + "\" (" + std::to_string(sd.size()) + " entries, " +
             std::to_string(expected.size()) + " expected: another optimizer type or parameter list?)");

    state_ = std::move(s);
    this->options(0) = options;
  }

 protected:
  const std::vector<std::string>& buffer_names() const override {
    static const std::vector<std::string> names;
    return names;
  }
  // Unused: step(closure) above does the whole update.
  void update(const LBFGSOptions&, detail::ParamState<T>&, T*, const T*, std::int64_t, T* const*) override {}

 private:
  [[noreturn]] static void fail_no_closure() {
    tapegrad::detail::fail<ValueError>(
        "LBFGS::step: L-BFGS re-evaluates the loss several times per step, so it needs a closure that zeroes the "
        "gradients, computes the loss, calls backward() and returns the loss: opt.step([&] { opt.zero_grad(); auto "
        "loss = ...; loss.backward(); return loss; })");
  }
  [[noreturn]] static void fail_groups(std::size_t groups) {
    tapegrad::detail::fail<ValueError>("LBFGS doesn't support per-parameter options (parameter groups): got ", groups,
                                       " groups; pass all the parameters as one list");
  }

  void init() {
    if (this->num_param_groups() != 1) fail_groups(this->num_param_groups());
    numel_ = 0;
    for (const Tensor<T>& p : this->params(0)) numel_ += p.numel();
    if (numel_ == 0) tapegrad::detail::fail<ValueError>("LBFGS: got no parameters (or only empty ones) to optimize");
    LBFGSOptions& o = this->options(0);
    o.max_eval(o.max_eval());  // pin the default, max_iter * 5 / 4
  }

  // The closure's loss, with grad mode on; it must be one value.
  Tensor<T> evaluate(const std::function<Tensor<T>()>& closure) const {
    Tensor<T> loss;
    {
      EnableGradGuard grad_on;
      loss = closure();
    }
    if (!loss.defined())
      tapegrad::detail::fail<ValueError>(
          "LBFGS::step: the closure returned an undefined tensor; it must return the loss");
    if (loss.numel() != 1)
      tapegrad::detail::fail<ValueError>("LBFGS::step: the closure must return the loss, one value; it returned a "
                                         "tensor of shape ", to_string(loss.shape()),
                                         " (reduce it, e.g. with sum() or mean())");
    return loss;
  }

  static double abs_max(const Vector& v) { return v.size() == 0 ? 0.0 : static_cast<double>(v.cwiseAbs().maxCoeff()); }

  // The gradients as one vector, zeros for a parameter without one.
  void gather_flat_grad(Vector& out) const {
    out.resize(numel_);
    std::int64_t offset = 0;
    for (const Tensor<T>& p : this->params(0)) {
      const Tensor<T> g = p.grad();
      if (g.defined()) {
        std::copy(g.data_ptr(), g.data_ptr() + p.numel(), out.data() + offset);
      } else {
        std::fill(out.data() + offset, out.data() + offset + p.numel(), T(0));
      }
      offset += p.numel();
    }
  }

  // x += t u, in place through the parameters' buffers (no graph, no version bump).
  void add_to_params(double t, const Vector& u) {
    const T step_size = static_cast<T>(t);
    std::int64_t offset = 0;
    for (Tensor<T> p : this->params(0)) {
      T* data = p.data_ptr();
      for (std::int64_t i = 0; i < p.numel(); ++i) data[i] += step_size * u[offset + i];
      offset += p.numel();
    }
  }
  void get_params(Vector& out) const {
    out.resize(numel_);
    std::int64_t offset = 0;
    for (const Tensor<T>& p : this->params(0)) {
      std::copy(p.data_ptr(), p.data_ptr() + p.numel(), out.data() + offset);
      offset += p.numel();
    }
  }
  void set_params(const Vector& x) {
    std::int64_t offset = 0;
    for (Tensor<T> p : this->params(0)) {
      std::copy(x.data() + offset, x.data() + offset + p.numel(), p.data_ptr());
      offset += p.numel();
    }
  }

  // The loss and gradient at x_init_ + t d; the parameters are restored to x_init_.
  double directional_evaluate(const std::function<Tensor<T>()>& closure, double t, const Vector& d, Vector& grad) {
    add_to_params(t, d);
    const double loss = static_cast<double>(evaluate(closure).item());
    gather_flat_grad(grad);
    set_params(x_init_);
    return loss;
  }

  // PyTorch's _strong_wolfe (after torch7's lswolfe): from x_init_ along d, starting at
  // step t, with the loss f, gradient g and slope gtd at t = 0, finds a step satisfying
  // the strong Wolfe conditions (sufficient decrease c1, curvature c2) by bracketing
  // then zooming with cubic interpolation, in at most max_ls evaluations. Returns the
  // evaluations made and leaves the step in t, its loss in f and its gradient in g.
  std::int64_t strong_wolfe(const std::function<Tensor<T>()>& closure, double& t, const Vector& d, double& f, Vector& g,
                            double gtd, double tolerance_change, double c1 = 1e-4, double c2 = 0.9, int max_ls = 25) {
    const double d_norm = abs_max(d);
    Vector g_new;
    double f_new = directional_evaluate(closure, t, d, g_new);
    std::int64_t ls_func_evals = 1;
    double gtd_new = static_cast<double>(g_new.dot(d));

    // Bracket an interval containing a point satisfying the Wolfe criteria.
    double t_prev = 0, f_prev = f, gtd_prev = gtd;
    Vector g_prev = g;
    bool done = false;
    int ls_iter = 0;
    double bracket[2] = {0, 0}, bracket_f[2] = {0, 0}, bracket_gtd[2] = {0, 0};
    Vector bracket_g[2];
    auto set_bracket = [&](double t0, double f0, const Vector& g0, double gtd0, double t1, double f1, const Vector& g1,
                           double gtd1) {
      bracket[0] = t0;
      bracket[1] = t1;
      bracket_f[0] = f0;
      bracket_f[1] = f1;
      bracket_g[0] = g0;
      bracket_g[1] = g1;
      bracket_gtd[0] = gtd0;
      bracket_gtd[1] = gtd1;
    };
    while (ls_iter < max_ls) {
      if (f_new > f + c1 * t * gtd || (ls_iter > 1 && f_new >= f_prev)) {
        set_bracket(t_prev, f_prev, g_prev, gtd_prev, t, f_new, g_new, gtd_new);
        break;
      }
      if (std::abs(gtd_new) <= -c2 * gtd) {  // the first point already satisfies them
        set_bracket(t, f_new, g_new, gtd_new, t, f_new, g_new, gtd_new);
        done = true;
        break;
      }
      if (gtd_new >= 0) {
        set_bracket(t_prev, f_prev, g_prev, gtd_prev, t, f_new, g_new, gtd_new);
        break;
      }
      // Extrapolate: a cubic step in [t + 0.01 (t - t_prev), 10 t].
      const double min_step = t + 0.01 * (t - t_prev), max_step = t * 10;
      const double tmp = t;
      t = detail::cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, std::make_pair(min_step, max_step));
      t_prev = tmp;
      f_prev = f_new;
      std::swap(g_prev, g_new);  // g_new is overwritten next
      gtd_prev = gtd_new;
      f_new = directional_evaluate(closure, t, d, g_new);
      ls_func_evals += 1;
      gtd_new = static_cast<double>(g_new.dot(d));
      ls_iter += 1;
    }
    if (ls_iter == max_ls) set_bracket(0, f, g, gtd, t, f_new, g_new, gtd_new);  // out of evaluations

    // Zoom: shrink the bracket until a point satisfies the criteria.
    bool insuf_progress = false;
    int low_pos = bracket_f[0] <= bracket_f[1] ? 0 : 1, high_pos = 1 - low_pos;
    while (!done && ls_iter < max_ls) {
      if (std::abs(bracket[1] - bracket[0]) * d_norm < tolerance_change) break;  // the bracket is too small
      t = detail::cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]);
      // Insufficient progress: a t within 10% of the bracket's length from an end
      // (or outside) twice in a row, or outside, moves to 10% from the nearer end.
      const double b_max = std::max(bracket[0], bracket[1]), b_min = std::min(bracket[0], bracket[1]);
      const double eps = 0.1 * (b_max - b_min);
      if (std::min(b_max - t, t - b_min) < eps) {
        if (insuf_progress || t >= b_max || t <= b_min) {
          t = std::abs(t - b_max) < std::abs(t - b_min) ? b_max - eps : b_min + eps;
          insuf_progress = false;
        } else {
          insuf_progress = true;
        }
      } else {
        insuf_progress = false;
      }
      f_new = directional_evaluate(closure, t, d, g_new);
      ls_func_evals += 1;
      gtd_new = static_cast<double>(g_new.dot(d));
      ls_iter += 1;

      if (f_new > f + c1 * t * gtd || f_new >= bracket_f[low_pos]) {
        // No sufficient decrease, or not below the low end: the new high end.
        bracket[high_pos] = t;
        bracket_f[high_pos] = f_new;
        bracket_g[high_pos] = g_new;
        bracket_gtd[high_pos] = gtd_new;
        low_pos = bracket_f[0] <= bracket_f[1] ? 0 : 1;
        high_pos = 1 - low_pos;
      } else {
        if (std::abs(gtd_new) <= -c2 * gtd) {
          done = true;  // the Wolfe conditions hold
        } else if (gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0) {
          // The old low end becomes the high end.
          bracket[high_pos] = bracket[low_pos];
          bracket_f[high_pos] = bracket_f[low_pos];
          bracket_g[high_pos] = bracket_g[low_pos];
          bracket_gtd[high_pos] = bracket_gtd[low_pos];
        }
        // The new point becomes the low end.
        bracket[low_pos] = t;
        bracket_f[low_pos] = f_new;
        bracket_g[low_pos] = g_new;
        bracket_gtd[low_pos] = gtd_new;
      }
    }
    t = bracket[low_pos];
    f = bracket_f[low_pos];
    g = bracket_g[low_pos];
    return ls_func_evals;
  }

  std::int64_t numel_ = 0;  // of all parameters
  detail::LBFGSState<T> state_;
  Vector flat_grad_, x_init_;  // the current gradient; the point a line search starts from
  std::vector<T> al_;          // the two-loop recursion's coefficients
};

}  // namespace tapegrad::optim

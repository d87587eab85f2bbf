#pragma once
// tg::optim::Optimizer<T>: the base of every optimizer. Parameters come in groups whose
// options may differ; state (momentum buffers, step counts) lives per parameter and is
// created on the first step that sees its gradient, so later steps allocate nothing.
//
//   tg::optim::Adam<float> opt(model.parameters(), tg::optim::AdamOptions(1e-3));
//   opt.zero_grad();
//   loss.backward();
//   opt.step();
//
// Updates run without recording and in place, through the parameters' buffers: no
// graph, no new tensors, and no version bump (a backward that saved a parameter
// before the step would otherwise throw at the next step; PyTorch bumps the version
// here, and a graph kept across a step computes with the updated values in both).
//
// state_dict() holds only tensors, so checkpoints are plain safetensors files:
//   "state.<i>.step", "state.<i>.<buffer>"   (i counts parameters over all groups)
//   "param_groups.<g>.<option>"              (0-d tensors: lr, beta1, weight_decay, ...)
// The options are stored in T; loading keeps an option whose value rounds to the stored
// one, so a float checkpoint restores the double options of the same configuration exactly.

#include "../core.hpp"
#include "../io/state_dict.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tapegrad::optim {

template <typename T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual std::size_t num_param_groups() const = 0;
  virtual const std::vector<Tensor<T>>& params(std::size_t group) const = 0;
  virtual double lr(std::size_t group) const = 0;
  virtual void set_lr(std::size_t group, double lr) = 0;
  // The momentum-like option OneCycleLR cycles: SGD's and RMSprop's momentum, beta1 of
  // the Adam family; false for the others.
  virtual bool has_momentum(std::size_t group) const = 0;
  virtual double momentum(std::size_t group) const = 0;
  virtual void set_momentum(std::size_t group, double m) = 0;

  // Drops (set_to_none, the default as in PyTorch 2) or zeroes every parameter's .grad.
  void zero_grad(bool set_to_none = true) {
    for (std::size_t g = 0; g < num_param_groups(); ++g)
      for (const Tensor<T>& p : params(g)) Tensor<T>(p).zero_grad(set_to_none);
  }

  virtual void step() = 0;
  // Re-evaluates the model: calls closure (with grad mode on) and then step(); returns
  // the closure's loss. LBFGS calls it several times per step.
  virtual Tensor<T> step(const std::function<Tensor<T>()>& closure) {
    Tensor<T> loss;
    {
      EnableGradGuard grad_on;
      loss = closure();
    }
    step();
    return loss;
  }

  virtual StateDict<T> state_dict() const = 0;
  virtual void load_state_dict(const StateDict<T>& sd) = 0;

  // Group g's lr when the first learning-rate scheduler attached to this optimizer
  // (PyTorch's param_group["initial_lr"]): later schedulers take it as their base lr,
  // so a warm-up and a decay built one after the other both start from the same lr.
  double initial_lr(std::size_t group) {
    if (initial_lrs_.size() < num_param_groups()) initial_lrs_.resize(num_param_groups(), -1.0);
    if (initial_lrs_.at(group) < 0) initial_lrs_[group] = lr(group);
    return initial_lrs_[group];
  }
  // OneCycleLR derives the initial lr from max_lr instead (as PyTorch does).
  void set_initial_lr(std::size_t group, double lr) {
    if (initial_lrs_.size() < num_param_groups()) initial_lrs_.resize(num_param_groups(), -1.0);
    initial_lrs_.at(group) = lr;
  }

 protected:
  Optimizer() = default;

 private:
  std::vector<double> initial_lrs_;  // -1: no scheduler yet
};

// Chainable option accessors, as libtorch's: opts.lr(0.1).momentum(0.9); opts.lr().
#define TAPEGRAD_OPTIM_OPTION(Class, type, name) \
  Class& name(type value) {                      \
    name##_ = value;                             \
    return *this;                                \
  }                                              \
  type name() const { return name##_; }

namespace detail {

// One parameter's state: the step count and the optimizer's named buffers.
template <typename T>
struct ParamState {
  double step = 0;
  std::vector<Tensor<T>> buffers;  // in the order of the optimizer's buffer_names()
  std::vector<double> scalars;     // other per-parameter state (NAdam's mu_product)
  bool initialized() const { return step > 0 || !buffers.empty(); }
};

inline void check_option(const char* optimizer, const char* option, double value, bool ok, const char* rule) {
  if (!ok) tapegrad::detail::fail<ValueError>(optimizer, ": invalid ", option, " ", value, " (", rule, ")");
}

}  // namespace detail

// A group of parameters with its own options.
template <typename T, typename Options>
struct ParamGroup {
  std::vector<Tensor<T>> params;
  Options options;
  ParamGroup(std::vector<Tensor<T>> ps, Options opts) : params(std::move(ps)), options(std::move(opts)) {}
};

// The machinery shared by the optimizers: groups, validation, state, state dicts.
// A derived optimizer supplies its name, its buffer names and update(), which gets raw
// pointers to the parameter, its gradient and its buffers.
template <typename T, typename Options>
class OptimizerWith : public Optimizer<T> {
 public:
  using Group = ParamGroup<T, Options>;

  std::size_t num_param_groups() const override { return groups_.size(); }
  const std::vector<Tensor<T>>& params(std::size_t group) const override { return checked(group).params; }
  double lr(std::size_t group) const override { return checked(group).options.lr(); }
  void set_lr(std::size_t group, double lr) override {
    detail::check_option(name_, "learning rate", lr, lr >= 0, "must be >= 0");
    mutable_group(group).options.lr(lr);
  }
  bool has_momentum(std::size_t group) const override { return checked(group).options.has_momentum(); }
  double momentum(std::size_t group) const override { return checked(group).options.momentum_value(); }
  void set_momentum(std::size_t group, double m) override { mutable_group(group).options.set_momentum_value(m); }

  const std::vector<Group>& param_groups() const { return groups_; }
  Options& options(std::size_t group) { return mutable_group(group).options; }

  // Adds a group (its parameters checked like the constructor's).
  void add_param_group(Group group) {
    group.options.validate(name_);
    check_params(group.params, groups_.size());
    states_.resize(states_.size() + group.params.size());
    groups_.push_back(std::move(group));
  }

  void step() override {
    NoGradGuard no_grad;
    std::size_t index = 0;
    for (Group& group : groups_) {
      for (Tensor<T>& p : group.params) {
        detail::ParamState<T>& state = states_[index++];
        const Tensor<T> g = p.grad();
        if (!g.defined()) continue;  // no gradient reached it: skipped, as in PyTorch
        if (!state.initialized()) {
          for (std::size_t b = 0; b < buffer_names().size(); ++b)
            state.buffers.push_back(zeros<T>(p.shape()));
          init_state(group.options, state);
        }
        state.step += 1;
        T* buffers[4] = {nullptr, nullptr, nullptr, nullptr};
        for (std::size_t b = 0; b < state.buffers.size(); ++b) buffers[b] = state.buffers[b].data_ptr();
        update(group.options, state, p.data_ptr(), g.data_ptr(), p.numel(), buffers);
      }
    }
  }
  using Optimizer<T>::step;

  StateDict<T> state_dict() const override {
    StateDict<T> sd;
    std::size_t index = 0;
    for (const Group& group : groups_) {
      for (std::size_t k = 0; k < group.params.size(); ++k, ++index) {
        const detail::ParamState<T>& state = states_[index];
        if (!state.initialized()) continue;
        const std::string prefix = "state." + std::to_string(index) + ".";
        sd.insert(prefix + "step", scalar_tensor<T>(static_cast<T>(state.step)));
        for (std::size_t b = 0; b < state.buffers.size(); ++b)
          sd.insert(prefix + buffer_names()[b], state.buffers[b].clone());
        for (const auto& [key, value] : extra_state(state)) sd.insert(prefix + key, scalar_tensor<T>(static_cast<T>(value)));
      }
    }
    for (std::size_t g = 0; g < groups_.size(); ++g)
      for (const auto& [key, value] : groups_[g].options.items())
        sd.insert("param_groups." + std::to_string(g) + "." + key, scalar_tensor<T>(static_cast<T>(value)));
    return sd;
  }

  // Checks every key, shape and option first, then replaces the state and options.
  void load_state_dict(const StateDict<T>& sd) override {
    std::vector<detail::ParamState<T>> states(states_.size());
    std::vector<Options> options;
    for (const Group& group : groups_) options.push_back(group.options);
    auto fail = [&](const std::string& why) {
      tapegrad::detail::fail<ValueError>(name_, ".load_state_dict: ", why, "; nothing was loaded");
    };
    auto scalar = [&](const std::string& key) {
      const Tensor<T>& t = sd.at(key);
      if (t.numel() != 1) fail("\"" + key + "\" must hold one value, got shape " + to_string(t.shape()));
      return static_cast<double>(t.data_ptr()[0]);
    };
    std::size_t expected_keys = 0;
    std::size_t index = 0;
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      for (const auto& [key, value] : options[g].items()) {
        const std::string full = "param_groups." + std::to_string(g) + "." + key;
        if (!sd.contains(full)) fail("missing key \"" + full + "\"");
        // Options are stored in T. A stored value equal to this optimizer's own option
        // rounded to T keeps the exact option (0.9, not 0.9f), so a float checkpoint
        // resumes bit for bit an optimizer built with the same options; any other value
        // is taken as stored.
        const double stored = scalar(full);
        if (static_cast<double>(static_cast<T>(value)) != stored) options[g].set(key, stored);
        ++expected_keys;
      }
      options[g].validate(name_);
      for (const Tensor<T>& p : groups_[g].params) {
        const std::string prefix = "state." + std::to_string(index) + ".";
        detail::ParamState<T>& state = states[index++];
        if (!sd.contains(prefix + "step")) continue;  // never stepped
        state.step = scalar(prefix + "step");
        ++expected_keys;
        for (const std::string& b : buffer_names()) {
          if (!sd.contains(prefix + b)) fail("missing key \"" + prefix + b + "\"");
          const Tensor<T>& t = sd.at(prefix + b);
          if (t.shape() != p.shape())
            fail("\"" + prefix + b + "\" has shape " + to_string(t.shape()) + ", the parameter " + to_string(p.shape()));
          state.buffers.push_back(t.clone());
          ++expected_keys;
        }
        for (const auto& [key, value] : extra_state(state)) {
          if (!sd.contains(prefix + key)) fail("missing key \"" + prefix + key + "\"");
          ++expected_keys;
        }
        load_extra_state(state, [&](const std::string& key) { return scalar(prefix + key); });
      }
    }
    if (expected_keys != sd.size()) {
      for (const auto& [key, t] : sd) {
        const bool ours = key.rfind("state.", 0) == 0 || key.rfind("param_groups.", 0) == 0;
        if (!ours) fail("unexpected key \"" + key + "\"");
      }
      fail("the state dict has " + std::to_string(sd.size()) + " entries, this optimizer expects " +
           std::to_string(expected_keys) + " (another optimizer type or parameter list?)");
    }
    states_ = std::move(states);
    for (std::size_t g = 0; g < groups_.size(); ++g) groups_[g].options = options[g];
  }

  // How many steps parameter i (counted over all groups) has taken.
  double step_count(std::size_t i) const { return states_.at(i).step; }

 protected:
  OptimizerWith(const char* name, std::vector<Group> groups) : name_(name) {
    for (Group& g : groups) add_param_group(std::move(g));
  }
  OptimizerWith(const char* name, const std::vector<Tensor<T>>& params, Options options) : name_(name) {
    add_param_group(Group(params, std::move(options)));
  }

  virtual const std::vector<std::string>& buffer_names() const = 0;
  // Called once per parameter before its first update (buffers are zeros).
  virtual void init_state(const Options&, detail::ParamState<T>&) {}
  // Scalars of the state besides step (NAdam's mu_product).
  virtual std::vector<std::pair<std::string, double>> extra_state(const detail::ParamState<T>&) const { return {}; }
  virtual void load_extra_state(detail::ParamState<T>&, const std::function<double(const std::string&)>&) {}
  // p -= ... over n elements; buffers[b] points at buffer b.
  virtual void update(const Options& o, detail::ParamState<T>& state, T* p, const T* g, std::int64_t n,
                      T* const* buffers) = 0;

  const char* name_;

 private:
  const Group& checked(std::size_t group) const {
    if (group >= groups_.size())
      tapegrad::detail::fail<IndexError>(name_, ": parameter group ", group, " does not exist (", groups_.size(), " groups)");
    return groups_[group];
  }
  Group& mutable_group(std::size_t group) { return const_cast<Group&>(checked(group)); }

  // Leaves that require grad, each once over all groups.
  void check_params(const std::vector<Tensor<T>>& ps, std::size_t group) const {
    for (std::size_t i = 0; i < ps.size(); ++i) {
      const Tensor<T>& p = ps[i];
      const std::string where = "parameter " + std::to_string(i) + " of group " + std::to_string(group);
      if (!p.defined()) tapegrad::detail::fail<ValueError>(name_, ": ", where, " is undefined");
      if (!p.is_leaf())
        tapegrad::detail::fail<ValueError>(name_, ": ", where, " (shape ", to_string(p.shape()),
                                           ") is not a leaf (it was computed by ", p.grad_fn()->name(),
                                           "); optimizers update leaf tensors: create it with requires_grad and do any "
                                           "scaling inside tg::NoGradGuard, or register it with Module::register_parameter");
      if (!p.requires_grad())
        tapegrad::detail::fail<ValueError>(name_, ": ", where, " (shape ", to_string(p.shape()),
                                           ") does not require grad, so it would never get a gradient; call "
                                           "requires_grad_() on it or leave it out");
      auto same = [&](const Tensor<T>& q) { return q.impl() == p.impl(); };
      bool duplicate = std::count_if(ps.begin(), ps.begin() + static_cast<std::ptrdiff_t>(i), same) > 0;
      for (const Group& g : groups_) duplicate = duplicate || std::any_of(g.params.begin(), g.params.end(), same);
      if (duplicate)
        tapegrad::detail::fail<ValueError>(name_, ": ", where, " (shape ", to_string(p.shape()),
                                           ") appears more than once; each parameter may be in one group only");
    }
  }

  std::vector<Group> groups_;
  std::vector<detail::ParamState<T>> states_;
};

}  // namespace tapegrad::optim

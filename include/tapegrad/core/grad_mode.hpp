#pragma once
// Grad mode: whether ops record into the graph. Thread-local, like PyTorch, so each
// thread builds and differentiates its own graphs.

namespace tapegrad {
namespace detail {
inline bool& grad_mode_flag() {
  thread_local bool enabled = true;
  return enabled;
}
}  // namespace detail

inline bool is_grad_enabled() { return detail::grad_mode_flag(); }
inline void set_grad_enabled(bool enabled) { detail::grad_mode_flag() = enabled; }

// RAII: sets grad mode for a scope and restores the previous mode on exit (nestable).
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : previous_(is_grad_enabled()) { set_grad_enabled(enabled); }
  ~GradModeGuard() { set_grad_enabled(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

// Ops inside the scope do not record: results do not require grad.
class NoGradGuard : public GradModeGuard {
 public:
  NoGradGuard() : GradModeGuard(false) {}
};

// Re-enables recording inside a NoGradGuard scope.
class EnableGradGuard : public GradModeGuard {
 public:
  EnableGradGuard() : GradModeGuard(true) {}
};

}  // namespace tapegrad

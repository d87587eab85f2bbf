#pragma once
// Anomaly mode: while it is on, the engine checks every gradient a backward rule
// returns and throws at the first NaN or Inf, naming the op ("LogBackward0 returned
// nan in its 0th output") instead of letting the NaN reach .grad silently.
//
//   tg::AnomalyGuard anomaly;                          // on for this scope and thread
//   { tg::AnomalyLabel label("encoder/layer2"); ... }  // ops created here remember it
//
// Thread-local like grad mode. Off by default and then free: nodes check one
// thread-local flag when created, the engine reads it once per backward pass.

#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace tapegrad {
namespace detail {

inline bool& anomaly_flag() {
  thread_local bool enabled = false;
  return enabled;
}

// The active AnomalyLabel scopes of this thread, joined with '/', and where each
// scope's part starts (so a scope's destructor can cut its part off again).
struct AnomalyLabels {
  std::string path;
  std::vector<std::size_t> starts;
};

inline AnomalyLabels& anomaly_labels() {
  thread_local AnomalyLabels labels;
  return labels;
}

// "0th", "1st", "2nd", "3rd", "4th", ..., "11th", "12th", "13th", "21st".
inline std::string ordinal(std::size_t i) {
  const std::size_t last_two = i % 100, last = i % 10;
  const char* suffix = "th";
  if (last_two < 11 || last_two > 13) {
    if (last == 1) suffix = "st";
    if (last == 2) suffix = "nd";
    if (last == 3) suffix = "rd";
  }
  return std::to_string(i) + suffix;
}

// "nan", "inf" or "-inf" for the first non-finite value among data[0..n), else nullptr.
template <typename T>
const char* first_non_finite(const T* data, std::size_t n) {
  if constexpr (std::is_floating_point_v<T>) {
    for (std::size_t i = 0; i < n; ++i) {
      const T v = data[i];
      if (std::isfinite(v)) continue;
      if (std::isnan(v)) return "nan";
      return v > 0 ? "inf" : "-inf";
    }
  }
  return nullptr;
}

// During backward with anomaly mode on, nodes recorded by a backward rule
// (create_graph=true) get the label of the forward op whose rule runs.
class AnomalyLabelOverride {
 public:
  explicit AnomalyLabelOverride(const std::string& label) : saved_(std::move(anomaly_labels())) {
    anomaly_labels() = AnomalyLabels{label, {}};
  }
  ~AnomalyLabelOverride() { anomaly_labels() = std::move(saved_); }
  AnomalyLabelOverride(const AnomalyLabelOverride&) = delete;
  AnomalyLabelOverride& operator=(const AnomalyLabelOverride&) = delete;

 private:
  AnomalyLabels saved_;
};

}  // namespace detail

inline bool is_anomaly_enabled() { return detail::anomaly_flag(); }
inline void set_anomaly_enabled(bool enabled) { detail::anomaly_flag() = enabled; }

// RAII: anomaly mode on (or off) for a scope of this thread; restores the previous
// mode on exit, so guards nest.
class AnomalyGuard {
 public:
  explicit AnomalyGuard(bool enabled = true) : previous_(is_anomaly_enabled()) { set_anomaly_enabled(enabled); }
  ~AnomalyGuard() { set_anomaly_enabled(previous_); }
  AnomalyGuard(const AnomalyGuard&) = delete;
  AnomalyGuard& operator=(const AnomalyGuard&) = delete;

 private:
  bool previous_;
};

// RAII: names the forward code of a scope ("encoder/layer2/attention"). Nested
// labels join with '/'. Ops created inside the scope while anomaly mode is on
// remember the label, and an anomaly in their backward reports it.
class AnomalyLabel {
 public:
  explicit AnomalyLabel(std::string_view name) {
    auto& labels = detail::anomaly_labels();
    labels.starts.push_back(labels.path.size());
    if (!labels.path.empty()) labels.path += '/';
    labels.path += name;
  }
  ~AnomalyLabel() {
    auto& labels = detail::anomaly_labels();
    if (labels.starts.empty()) return;  // scopes nest by RAII; this only stops a misuse underflowing
    labels.path.resize(labels.starts.back());
    labels.starts.pop_back();
  }
  AnomalyLabel(const AnomalyLabel&) = delete;
  AnomalyLabel& operator=(const AnomalyLabel&) = delete;
};

// The label ops created now would remember: the active AnomalyLabel scopes joined
// with '/', empty outside any scope.
inline const std::string& current_anomaly_label() { return detail::anomaly_labels().path; }

}  // namespace tapegrad

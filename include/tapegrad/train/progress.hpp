#pragma once
// A progress bar for training loops:
//
//   epoch 3/10 [##################............] 312/469 1.2k it/s ETA 00:03 loss 0.4321 acc 0.8812
//
//   for (int epoch = 1; epoch <= epochs; ++epoch) {
//     tg::train::ProgressBar bar(loader.size(), std::cerr,
//                                tg::train::ProgressBarOptions().description("epoch " + std::to_string(epoch) + "/10"));
//     for (auto& [x, y] : loader) { ...; bar.step(loss.item(), {{"acc", batch_accuracy}}); }
//     bar.set_postfix("test_acc", test_accuracy);
//     bar.finish();                   // the final line stays: one line per epoch on screen
//   }
//
// On a terminal (the stream is std::cout or std::cerr/std::clog and isatty says so) the
// line is redrawn in place with '\r' at most every min_interval (0.1 s) and always at
// the last item; elsewhere (a log file, CI, an ostringstream) it prints a plain line
// each time another 1/plain_lines of the total is done (every 10%), so a log gets a
// few lines per epoch, never one per batch. `loss` and each metric passed to step() are
// running means over the steps of this bar (batches weigh equally); set_postfix shows a
// value as given. The rate is items per second since the bar was made, the ETA
// (total - done) / rate; once done, "in mm:ss" gives the time taken. The clock is
// injectable (seconds, monotonic), so tests see exact rates and times.

#include "../core/error.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#if defined(_WIN32)
#include <io.h>
#else
#include <unistd.h>
#endif

namespace tapegrad::train {

// Seconds on a monotonic clock.
using Clock = std::function<double()>;

inline double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Whether `out` writes to a terminal: only std::cout (stdout) and std::cerr / std::clog
// (stderr) can; any other stream is a file or a string.
inline bool is_terminal(const std::ostream& out) {
#if defined(_WIN32)
  if (&out == &std::cout) return _isatty(_fileno(stdout)) != 0;
  if (&out == &std::cerr || &out == &std::clog) return _isatty(_fileno(stderr)) != 0;
#else
  if (&out == &std::cout) return isatty(fileno(stdout)) != 0;
  if (&out == &std::cerr || &out == &std::clog) return isatty(fileno(stderr)) != 0;
#endif
  return false;
}

// A named number shown after the loss.
struct Metric {
  std::string name;
  double value;
};

namespace detail {

inline std::string printf_string(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// 4 decimals in the usual range, scientific outside it: 0.4321, 1.234e-05, 3.000e+06.
inline std::string format_value(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  const double a = std::abs(v);
  return (a == 0 || (a >= 1e-3 && a < 1e5)) ? printf_string("%.4f", v) : printf_string("%.3e", v);
}

// Three significant figures or so, with k / M: 0.52, 12.5, 312, 1.2k, 3.4M.
inline std::string format_rate(double r) {
  if (r >= 1e6) return printf_string("%.1fM", r / 1e6);
  if (r >= 1e3) return printf_string("%.1fk", r / 1e3);
  if (r >= 100) return printf_string("%.0f", r);
  if (r >= 10) return printf_string("%.1f", r);
  return printf_string("%.2f", r);
}

// MM:SS, or H:MM:SS from an hour on (rounded to the second).
inline std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e9) return "--:--";
  const auto s = static_cast<long long>(std::llround(seconds));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", s / 60, s % 60);
  return buf;
}

}  // namespace detail

// Chainable options: ProgressBarOptions().description("epoch 1/5").tty(false).
class ProgressBarOptions {
 public:
  ProgressBarOptions& description(std::string v) { return set(description_, std::move(v)); }
  ProgressBarOptions& width(int v) { return set(width_, v); }
  // Forces terminal (true) or plain-line (false) mode; by default asks isatty.
  ProgressBarOptions& tty(bool v) { return set(tty_, std::optional<bool>(v)); }
  ProgressBarOptions& min_interval(double seconds) { return set(min_interval_, seconds); }
  ProgressBarOptions& plain_lines(int v) { return set(plain_lines_, v); }
  ProgressBarOptions& clock(Clock v) { return set(clock_, std::move(v)); }

  const std::string& description() const { return description_; }
  int width() const { return width_; }
  const std::optional<bool>& tty() const { return tty_; }
  double min_interval() const { return min_interval_; }
  int plain_lines() const { return plain_lines_; }
  const Clock& clock() const { return clock_; }

 private:
  template <typename V, typename A>
  ProgressBarOptions& set(V& field, A&& value) {
    field = std::forward<A>(value);
    return *this;
  }
  std::string description_;
  int width_ = 30;
  std::optional<bool> tty_;
  double min_interval_ = 0.1;
  int plain_lines_ = 10;
  Clock clock_;
};

class ProgressBar {
 public:
  // `total` items (batches) expected; 0 when unknown (no bar, no ETA).
  explicit ProgressBar(std::int64_t total, std::ostream& out = std::cerr, ProgressBarOptions options = ProgressBarOptions())
      : total_(total), out_(out), options_(std::move(options)) {
    if (total_ < 0) tapegrad::detail::fail<ValueError>("ProgressBar: total must be >= 0 (0: unknown), got ", total_);
    if (options_.width() < 1) tapegrad::detail::fail<ValueError>("ProgressBar: width must be >= 1, got ", options_.width());
    if (options_.plain_lines() < 1)
      tapegrad::detail::fail<ValueError>("ProgressBar: plain_lines must be >= 1, got ", options_.plain_lines());
    if (!options_.clock()) options_.clock(steady_seconds);
    tty_ = options_.tty() ? *options_.tty() : is_terminal(out_);
    start_ = now();
  }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  ~ProgressBar() {
    try {
      finish();
    } catch (...) {  // a destructor must not throw; a failed write only loses the last line
    }
  }

  // One more item (a batch) with its loss and metrics, added to the running means.
  void step(double loss, const std::vector<Metric>& metrics = {}) {
    ++loss_steps_;
    loss_sum_ += loss;
    for (const Metric& m : metrics) add_to_mean(m);
    advance(1);
  }

  // n more items without a loss.
  void advance(std::int64_t n = 1) {
    if (n < 0) tapegrad::detail::fail<ValueError>("ProgressBar::advance: n must be >= 0, got ", n);
    count_ += n;
    ++version_;
    maybe_render();
  }

  // A value shown as given (after the running means), e.g. the test accuracy at the end.
  void set_postfix(const std::string& name, double value) {
    for (auto& p : postfix_)
      if (p.name == name) {
        p.value = value;
        ++version_;
        return;
      }
    postfix_.push_back({name, value});
    ++version_;
  }

  void set_description(std::string description) {
    options_.description(std::move(description));
    ++version_;
  }

  // Shows the final state (if not shown yet) and ends the line; later calls do nothing.
  void finish() {
    if (finished_) return;
    finished_ = true;
    if (tty_) {
      if (printed_version_ != version_ || !printed_) draw_in_place();
      out_ << '\n';
    } else if (printed_version_ != version_ || !printed_) {
      print_line();
    }
    out_.flush();
  }

  // The line as it would be drawn now.
  std::string line() const { return render(now()); }

  std::int64_t count() const { return count_; }
  std::int64_t total() const { return total_; }
  bool is_tty() const { return tty_; }
  // Running mean of the losses passed to step() (NaN before the first).
  double mean_loss() const {
    return loss_steps_ ? loss_sum_ / static_cast<double>(loss_steps_) : std::numeric_limits<double>::quiet_NaN();
  }
  // Running mean of a metric passed to step() (NaN if never passed).
  double mean(const std::string& name) const {
    for (const auto& m : means_)
      if (m.name == name) return m.sum / static_cast<double>(m.steps);
    return std::numeric_limits<double>::quiet_NaN();
  }

 private:
  struct RunningMean {
    std::string name;
    double sum;
    std::int64_t steps;
  };

  double now() const { return options_.clock()(); }
  bool done() const { return total_ > 0 && count_ >= total_; }

  void add_to_mean(const Metric& m) {
    for (auto& r : means_)
      if (r.name == m.name) {
        r.sum += m.value;
        ++r.steps;
        return;
      }
    means_.push_back({m.name, m.value, 1});
  }

  void maybe_render() {
    if (finished_) return;
    if (tty_) {
      const double t = now();
      if (done() || !printed_ || t - last_draw_ >= options_.min_interval()) draw_in_place(t);
    } else if (total_ > 0) {
      // Plain mode: a line each time floor(plain_lines * done / total) goes up.
      const std::int64_t milestone = std::min(count_, total_) * options_.plain_lines() / total_;
      if (milestone > last_milestone_) {
        last_milestone_ = milestone;
        print_line();
      }
    }
  }

  // '\r', the line, and blanks over what is left of a longer previous line.
  void draw_in_place(double t) {
    const std::string text = render(t);
    out_ << '\r' << text;
    if (text.size() < drawn_width_) out_ << std::string(drawn_width_ - text.size(), ' ');
    out_.flush();
    drawn_width_ = text.size();
    last_draw_ = t;
    printed_ = true;
    printed_version_ = version_;
  }
  void draw_in_place() { draw_in_place(now()); }

  void print_line() {
    out_ << render(now()) << '\n';
    out_.flush();
    printed_ = true;
    printed_version_ = version_;
  }

  std::string render(double t) const {
    std::string s;
    if (!options_.description().empty()) s += options_.description() + " ";
    if (total_ > 0) s += bar() + " ";
    s += counter();
    const double elapsed = t - start_;
    const bool rate_known = count_ > 0 && elapsed > 0;
    const double rate = rate_known ? static_cast<double>(count_) / elapsed : 0;
    s += " " + (rate_known ? detail::format_rate(rate) : std::string("?")) + " it/s";
    if (done())
      s += " in " + detail::format_duration(elapsed);
    else if (total_ > 0)
      s += " ETA " + (rate_known ? detail::format_duration(static_cast<double>(total_ - count_) / rate) : "--:--");
    if (loss_steps_) s += " loss " + detail::format_value(mean_loss());
    for (const auto& m : means_) s += " " + m.name + " " + detail::format_value(m.sum / static_cast<double>(m.steps));
    for (const auto& p : postfix_) s += " " + p.name + " " + detail::format_value(p.value);
    return s;
  }

  // [#####.....]: floor(width * done / total) marks.
  std::string bar() const {
    const auto width = static_cast<std::int64_t>(options_.width());
    const std::int64_t filled = std::min(count_, total_) * width / total_;
    return "[" + std::string(static_cast<std::size_t>(filled), '#') + std::string(static_cast<std::size_t>(width - filled), '.') + "]";
  }

  // done/total, done right-aligned to total's width so the line does not jitter.
  std::string counter() const {
    if (total_ == 0) return std::to_string(count_);
    const std::string total = std::to_string(total_);
    std::string done = std::to_string(count_);
    if (done.size() < total.size()) done.insert(0, total.size() - done.size(), ' ');
    return done + "/" + total;
  }

  std::int64_t total_;
  std::ostream& out_;
  ProgressBarOptions options_;
  bool tty_ = false;
  double start_ = 0;

  std::int64_t count_ = 0;
  std::int64_t loss_steps_ = 0;
  double loss_sum_ = 0;
  std::vector<RunningMean> means_;
  std::vector<Metric> postfix_;

  std::uint64_t version_ = 0;          // bumped by every change of what the line shows
  std::uint64_t printed_version_ = 0;  // the version last drawn or printed
  bool printed_ = false;
  bool finished_ = false;
  double last_draw_ = 0;
  std::size_t drawn_width_ = 0;
  std::int64_t last_milestone_ = 0;
};

}  // namespace tapegrad::train

// ProgressBar: the exact text drawn on a terminal (in place, throttled, padded over a
// longer previous line) and printed to a log (a line per 10%), with a fake clock so the
// rate and ETA are exact: rate = done / elapsed, ETA = (total - done) / rate.
#include "../test_util.hpp"

#include <tapegrad/train/progress.hpp>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace train_progress_test {

namespace train = tg::train;

struct FakeClock {
  double now = 0;
  train::Clock clock() {
    return [this] { return now; };
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST_CASE("ProgressBar: plain lines every 10%, running means, the end once", "[train][progress]") {
  FakeClock t;
  std::ostringstream out;
  {
    train::ProgressBar bar(20, out, train::ProgressBarOptions().description("epoch 1/3").width(10).tty(false).clock(t.clock()));
    CHECK_FALSE(bar.is_tty());
    for (int k = 1; k <= 20; ++k) {
      t.now = 0.5 * k;  // 2 items per second
      bar.step(k, {{"acc", 0.5}});
    }
    CHECK(bar.mean_loss() == Approx(10.5));  // (1 + ... + 20) / 20
    bar.finish();
  }
  const auto lines = lines_of(out.str());
  REQUIRE(lines.size() == 10);  // at 2, 4, ..., 20 items; finish adds nothing new
  // 2 items in 1 s: 2.00 it/s, ETA 18 / 2 = 9 s; loss (1 + 2) / 2.
  CHECK(lines[0] == "epoch 1/3 [#.........]  2/20 2.00 it/s ETA 00:09 loss 1.5000 acc 0.5000");
  CHECK(lines[4] == "epoch 1/3 [#####.....] 10/20 2.00 it/s ETA 00:05 loss 5.5000 acc 0.5000");
  CHECK(lines[9] == "epoch 1/3 [##########] 20/20 2.00 it/s in 00:10 loss 10.5000 acc 0.5000");
}

TEST_CASE("ProgressBar: a postfix after the last step prints one more line", "[train][progress]") {
  FakeClock t;
  std::ostringstream out;
  train::ProgressBar bar(4, out, train::ProgressBarOptions().width(4).tty(false).plain_lines(2).clock(t.clock()));
  t.now = 1;
  bar.advance(2);
  t.now = 2;
  bar.advance(2);
  bar.set_postfix("test_acc", 0.875);
  bar.finish();
  bar.finish();  // once only
  CHECK(out.str() ==
        "[##..] 2/4 2.00 it/s ETA 00:01\n"
        "[####] 4/4 2.00 it/s in 00:02\n"
        "[####] 4/4 2.00 it/s in 00:02 test_acc 0.8750\n");
}

TEST_CASE("ProgressBar: on a terminal, redrawn in place at most every min_interval", "[train][progress]") {
  FakeClock t;
  std::ostringstream out;
  train::ProgressBar bar(5, out, train::ProgressBarOptions().width(10).tty(true).min_interval(0.1).clock(t.clock()));
  const double times[] = {1.0, 1.05, 2.0, 2.05, 2.5};
  for (int k = 1; k <= 5; ++k) {
    t.now = times[k - 1];
    bar.step(k);
  }
  bar.finish();
  // Drawn at the first step, at 2.0 (0.95 s after the last draw) and at the end; not at
  // 1.05 or 2.05 (0.05 s after a draw). The last line is one character shorter than the
  // one it covers ("in 00:03" against "ETA 00:01"), so one blank follows it.
  const std::string first = "[##........] 1/5 1.00 it/s ETA 00:04 loss 1.0000";   // 4 left at 1/s
  const std::string third = "[######....] 3/5 1.50 it/s ETA 00:01 loss 2.0000";   // 2 left at 1.5/s: 1.33 s
  const std::string last = "[##########] 5/5 2.00 it/s in 00:03 loss 3.0000";     // 2.5 s, rounded
  CHECK(out.str() == "\r" + first + "\r" + third + "\r" + last + " \n");
}

TEST_CASE("ProgressBar: the rate with a k, ETA in minutes and hours", "[train][progress]") {
  FakeClock t;
  std::ostringstream out;
  train::ProgressBar bar(2400, out, train::ProgressBarOptions().width(10).tty(false).clock(t.clock()));
  t.now = 1;
  bar.advance(1200);
  CHECK(bar.line() == "[#####.....] 1200/2400 1.2k it/s ETA 00:01");
  t.now = 1200;  // 1200 items in 1200 s: 1 left per second, 1200 s = 20 minutes
  CHECK(bar.line() == "[#####.....] 1200/2400 1.00 it/s ETA 20:00");
  t.now = 4800;  // 0.25 it/s: 1200 left take 4800 s = 1:20:00
  CHECK(bar.line() == "[#####.....] 1200/2400 0.25 it/s ETA 1:20:00");

  CHECK(train::detail::format_rate(312.4) == "312");
  CHECK(train::detail::format_rate(12.34) == "12.3");
  CHECK(train::detail::format_rate(3.4e6) == "3.4M");
  CHECK(train::detail::format_value(1.5e-5) == "1.500e-05");
  CHECK(train::detail::format_value(-0.43216) == "-0.4322");
  CHECK(train::detail::format_value(std::numeric_limits<double>::quiet_NaN()) == "nan");
  CHECK(train::detail::format_value(-std::numeric_limits<double>::infinity()) == "-inf");
}

TEST_CASE("ProgressBar: before the first item the rate is unknown", "[train][progress]") {
  FakeClock t;
  std::ostringstream out;
  train::ProgressBar bar(3, out, train::ProgressBarOptions().width(3).tty(false).clock(t.clock()));
  CHECK(bar.line() == "[...] 0/3 ? it/s ETA --:--");
  CHECK(std::isnan(bar.mean_loss()));
  CHECK(std::isnan(bar.mean("acc")));
}

TEST_CASE("ProgressBar: an unknown total shows a count only and prints at the end", "[train][progress]") {
  FakeClock t;
  std::ostringstream out;
  {
    train::ProgressBar bar(0, out, train::ProgressBarOptions().tty(false).clock(t.clock()));
    t.now = 4;
    for (int k = 0; k < 10; ++k) bar.step(0.25, {{"acc", k % 2 ? 1.0 : 0.0}});
    CHECK(out.str().empty());
    CHECK(bar.mean("acc") == Approx(0.5));
  }  // the destructor finishes
  CHECK(out.str() == "10 2.50 it/s loss 0.2500 acc 0.5000\n");
}

TEST_CASE("ProgressBar: streams that are not stdout or stderr are not terminals", "[train][progress]") {
  std::ostringstream out;
  CHECK_FALSE(train::is_terminal(out));
  train::ProgressBar bar(3, out, train::ProgressBarOptions().tty(false));
  CHECK_FALSE(bar.is_tty());
}

TEST_CASE("ProgressBar: bad arguments are ValueErrors", "[train][progress]") {
  std::ostringstream out;
  CHECK_THROWS_AS(train::ProgressBar(-1, out), tg::ValueError);
  CHECK_THROWS_WITH(train::ProgressBar(-1, out), TG_CONTAINS("ProgressBar: total must be >= 0 (0: unknown), got -1"));
  CHECK_THROWS_WITH(train::ProgressBar(3, out, train::ProgressBarOptions().width(0)), TG_CONTAINS("width must be >= 1"));
  train::ProgressBar bar(3, out, train::ProgressBarOptions().tty(false));
  CHECK_THROWS_WITH(bar.advance(-2), TG_CONTAINS("n must be >= 0, got -2"));
}

}  // namespace train_progress_test

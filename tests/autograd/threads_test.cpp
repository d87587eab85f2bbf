#include <atomic>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_util.hpp"

namespace autograd_threads_test {

// Grad mode and recording are per thread: independent graphs can be built and
// differentiated on several threads at once, also when they share a parameter.

namespace {

constexpr int kRepeats = 5;  // each concurrent test runs several times, to give races a chance

// A 2-layer MLP trained by plain SGD; everything it touches is its own.
struct Model {
  Tensor w1, b1, w2, b2;
};

Model make_model(std::uint64_t seed) {
  tg::Generator gen(seed);
  return {(tg::randn<double>({4, 8}, gen) * 0.5).requires_grad_(), tg::zeros<double>({8}, tg::requires_grad()),
          (tg::randn<double>({8, 1}, gen) * 0.5).requires_grad_(), tg::zeros<double>({1}, tg::requires_grad())};
}

// 20 SGD steps on y = sum of the inputs' squares; returns the losses.
std::vector<double> train(Model& m, const Tensor& x, const Tensor& y) {
  std::vector<double> losses;
  for (int step = 0; step < 20; ++step) {
    auto h = tg::tanh(tg::matmul(x, m.w1) + m.b1);
    auto loss = (tg::matmul(h, m.w2) + m.b2 - y).square().mean();
    losses.push_back(loss.item());
    loss.backward();
    tg::NoGradGuard no_grad;
    for (Tensor* p : {&m.w1, &m.b1, &m.w2, &m.b2}) {
      *p -= p->grad() * 0.1;
      p->zero_grad();
    }
  }
  return losses;
}

bool bit_identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         std::memcmp(a.data_ptr(), b.data_ptr(), static_cast<std::size_t>(a.numel()) * sizeof(double)) == 0;
}

bool bit_identical(const Model& a, const Model& b) {
  return bit_identical(a.w1, b.w1) && bit_identical(a.b1, b.b1) && bit_identical(a.w2, b.w2) &&
         bit_identical(a.b2, b.b2);
}

// The gradient of one thread's own function of the shared parameter.
Tensor shared_parameter_gradient(const Tensor& w, const Tensor& x) {
  auto y = tg::tanh(tg::matmul(x, w)).square().sum() + (w * x.sum()).sin().sum();
  return tg::grad(y, {w})[0];
}

// Runs a and b on two threads at once; returns what each threw ("" for nothing: an
// uncaught exception would terminate the test program).
template <typename A, typename B>
std::pair<std::string, std::string> run_concurrently(A a, B b) {
  std::string error_a, error_b;
  const auto guarded = [](auto& work, std::string& error) {
    try {
      work();
    } catch (const std::exception& e) {
      error = e.what();
    }
  };
  std::thread ta([&] { guarded(a, error_a); });
  std::thread tb([&] { guarded(b, error_b); });
  ta.join();
  tb.join();
  return {error_a, error_b};
}

}  // namespace

TEST_CASE("threads: independent models trained concurrently match serial training bit for bit", "[threads]") {
  tg::Generator gen(11);
  const Tensor x = tg::randn<double>({16, 4}, gen);
  const Tensor y = (x * x).sum(1, /*keepdim=*/true);

  Model serial_a = make_model(1), serial_b = make_model(2);
  const auto losses_a = train(serial_a, x, y);
  const auto losses_b = train(serial_b, x, y);
  CHECK(losses_a.back() < losses_a.front());  // it did train

  for (int repeat = 0; repeat < kRepeats; ++repeat) {
    Model a = make_model(1), b = make_model(2);
    std::vector<double> concurrent_a, concurrent_b;
    const auto errors =
        run_concurrently([&] { concurrent_a = train(a, x, y); }, [&] { concurrent_b = train(b, x, y); });
    CHECK(errors.first == "");
    CHECK(errors.second == "");
    CHECK(concurrent_a == losses_a);
    CHECK(concurrent_b == losses_b);
    CHECK(bit_identical(a, serial_a));
    CHECK(bit_identical(b, serial_b));
  }
}

TEST_CASE("threads: one shared parameter differentiated from two threads into separate graphs", "[threads]") {
  tg::Generator gen(12);
  const Tensor w = tg::randn<double>({5, 5}, gen).requires_grad_();
  const Tensor x1 = tg::randn<double>({3, 5}, gen), x2 = tg::randn<double>({3, 5}, gen);
  const Tensor expected1 = shared_parameter_gradient(w, x1), expected2 = shared_parameter_gradient(w, x2);
  CHECK_FALSE(bit_identical(expected1, expected2));

  for (int repeat = 0; repeat < kRepeats; ++repeat) {
    std::vector<Tensor> got1, got2;
    const auto errors = run_concurrently(
        [&] {
          for (int i = 0; i < 20; ++i) got1.push_back(shared_parameter_gradient(w, x1));
        },
        [&] {
          for (int i = 0; i < 20; ++i) got2.push_back(shared_parameter_gradient(w, x2));
        });
    CHECK(errors.first == "");
    CHECK(errors.second == "");
    for (const Tensor& g : got1) CHECK(bit_identical(g, expected1));
    for (const Tensor& g : got2) CHECK(bit_identical(g, expected2));
  }
  CHECK_FALSE(w.grad().defined());  // tg::grad leaves .grad alone
}

TEST_CASE("threads: backward() from two threads accumulates into a shared leaf's .grad", "[threads]") {
  tg::Generator gen(13);
  const Tensor w = tg::randn<double>({4, 4}, gen).requires_grad_();
  const Tensor x1 = tg::randn<double>({2, 4}, gen), x2 = tg::randn<double>({2, 4}, gen);
  const auto loss = [&w](const Tensor& x) { return tg::tanh(tg::matmul(x, w)).sum(); };
  const Tensor g1 = tg::grad(loss(x1), {w})[0], g2 = tg::grad(loss(x2), {w})[0];
  constexpr int kCalls = 25;

  for (int repeat = 0; repeat < kRepeats; ++repeat) {
    Tensor(w).zero_grad(/*set_to_none=*/true);
    const auto errors = run_concurrently(
        [&] {
          for (int i = 0; i < kCalls; ++i) loss(x1).backward();
        },
        [&] {
          for (int i = 0; i < kCalls; ++i) loss(x2).backward();
        });
    CHECK(errors.first == "");
    CHECK(errors.second == "");
    // The order of the additions differs from run to run, so only up to rounding.
    require_values(w.grad(), ((g1 + g2) * static_cast<double>(kCalls)).to_vector(), 1e-12);
  }
}

namespace {

// A gradient penalty of a small conv net on shared parameters: ||d loss / d w||^2, whose
// gradient needs double backward (create_graph) through conv2d; returns d penalty / d w.
Tensor conv_penalty_gradient(const Tensor& w, const Tensor& b, const Tensor& x) {
  const Tensor loss = tg::tanh(tg::conv2d(x, w, b, 1, 1)).square().sum();
  const Tensor g = tg::grad(loss, {w}, {}, std::nullopt, /*create_graph=*/true)[0];
  return tg::grad(g.square().sum(), {w})[0];
}

}  // namespace

TEST_CASE("threads: four threads run double backward of a conv net on shared parameters", "[threads]") {
  // The outside ThreadSanitizer run that found a use after free (a claimed node destroyed
  // by another thread before the pass reset it) and a race on a shared leaf's accumulator:
  // every thread builds its own graphs over the same leaves w and b.
  tg::Generator gen(14);
  const Tensor w = (tg::randn<double>({3, 2, 3, 3}, gen) * 0.3).requires_grad_();
  const Tensor b = tg::zeros<double>({3}, tg::requires_grad());
  std::vector<Tensor> inputs, expected;
  for (int t = 0; t < 4; ++t) {
    inputs.push_back(tg::randn<double>({2, 2, 5, 5}, gen));
    expected.push_back(conv_penalty_gradient(w, b, inputs.back()));
  }
  constexpr int kCalls = 10;
  for (int repeat = 0; repeat < kRepeats; ++repeat) {
    std::vector<std::vector<Tensor>> got(4);
    std::vector<std::string> errors(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        try {
          for (int i = 0; i < kCalls; ++i) got[t].push_back(conv_penalty_gradient(w, b, inputs[t]));
        } catch (const std::exception& e) {
          errors[t] = e.what();
        }
      });
    for (std::thread& th : threads) th.join();
    for (int t = 0; t < 4; ++t) {
      CHECK(errors[t] == "");
      REQUIRE(got[t].size() == static_cast<std::size_t>(kCalls));
      for (const Tensor& g : got[t]) CHECK(bit_identical(g, expected[t]));
    }
  }
  CHECK_FALSE(w.grad().defined());
}

TEST_CASE("threads: grad mode is per thread", "[threads]") {
  const Tensor w = tg::ones<double>({2}, tg::requires_grad());
  std::atomic<int> stage{0};
  bool a_mode = true, a_records = true, b_mode = false, b_records = false;
  std::thread a([&] {
    tg::NoGradGuard no_grad;  // on this thread only
    stage = 1;
    while (stage != 2) std::this_thread::yield();
    a_mode = tg::is_grad_enabled();
    a_records = (w * 2.0).requires_grad();
  });
  std::thread b([&] {
    while (stage != 1) std::this_thread::yield();
    b_mode = tg::is_grad_enabled();  // thread a's NoGradGuard is active right now
    b_records = (w * 2.0).requires_grad();
    stage = 2;
  });
  a.join();
  b.join();
  CHECK_FALSE(a_mode);
  CHECK_FALSE(a_records);
  CHECK(b_mode);
  CHECK(b_records);
  CHECK(tg::is_grad_enabled());  // nor this one's
}

}  // namespace autograd_threads_test

#include "test_util.hpp"

#include <thread>

namespace core_grad_mode_test {

TEST_CASE("NoGradGuard stops recording and nests with EnableGradGuard", "[grad_mode]") {
  auto x = tg::ones<double>({2, 2}, tg::requires_grad());
  REQUIRE(tg::is_grad_enabled());
  {
    tg::NoGradGuard no_grad;
    CHECK_FALSE(tg::is_grad_enabled());
    auto z = x * 2;
    CHECK_FALSE(z.requires_grad());
    CHECK(z.grad_fn() == nullptr);
    {
      tg::EnableGradGuard enable;
      auto w = x * 2;
      CHECK(w.requires_grad());
      CHECK(std::string(w.grad_fn()->name()) == "MulBackward0");
    }
    CHECK_FALSE(tg::is_grad_enabled());
  }
  CHECK(tg::is_grad_enabled());
}

TEST_CASE("grad mode is per thread", "[grad_mode]") {
  tg::NoGradGuard no_grad;
  bool other_thread_enabled = false;
  std::thread t([&] { other_thread_enabled = tg::is_grad_enabled(); });
  t.join();
  CHECK(other_thread_enabled);
  CHECK_FALSE(tg::is_grad_enabled());
}

TEST_CASE("set_grad_enabled and GradModeGuard restore the previous mode", "[grad_mode]") {
  {
    tg::GradModeGuard off(false);
    CHECK_FALSE(tg::is_grad_enabled());
  }
  CHECK(tg::is_grad_enabled());
  tg::set_grad_enabled(false);
  CHECK_FALSE(tg::is_grad_enabled());
  tg::set_grad_enabled(true);
  CHECK(tg::is_grad_enabled());
}

}  // namespace core_grad_mode_test

#include "test_util.hpp"

#include <sstream>

namespace core_print_test {

namespace {
template <typename T>
std::string printed(const tg::Tensor<T>& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}
}  // namespace

TEST_CASE("printing matches PyTorch for the tutorial tensors", "[print]") {
  auto x = tg::ones<double>({2, 2}, tg::requires_grad());
  CHECK(printed(x) == "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)");
  auto y = x + 2;
  CHECK(printed(y) == "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)");
  auto out = (y * y * 3).mean();
  CHECK(printed(out) == "tensor(27., grad_fn=<MeanBackward0>)");
}

TEST_CASE("number formats follow PyTorch's rules", "[print]") {
  CHECK(printed(tg::from_vector<double>({0.1, 1.0, -2.5})) == "tensor([ 0.1000,  1.0000, -2.5000])");
  CHECK(printed(tg::from_vector<double>({1e-5, 1.0})) == "tensor([1.0000e-05, 1.0000e+00])");
  CHECK(printed(tg::from_vector<double>({1, 20000})) == "tensor([1.0000e+00, 2.0000e+04])");
  CHECK(printed(tg::from_vector<double>({-1, 10, 0})) == "tensor([-1., 10.,  0.])");
  CHECK(printed(tg::zeros<double>({3})) == "tensor([0., 0., 0.])");
  CHECK(printed(tg::scalar_tensor<double>(0.5)) == "tensor(0.5000)");
  CHECK(printed(tg::from_vector<double>({1.0, std::nan(""), -INFINITY})) == "tensor([1., nan, -inf])");
  auto idx = tg::ones<double>({2, 3}).max(1).indices;
  CHECK(printed(idx) == "tensor([0, 0])");
}

TEST_CASE("higher dimensions, empty tensors and wrapping", "[print]") {
  CHECK(printed(tg::arange<double>(0, 8).reshape({2, 2, 2})) ==
        "tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])");
  CHECK(printed(tg::zeros<double>({0})) == "tensor([])");
  CHECK(printed(tg::zeros<double>({0, 3})) == "tensor([], size=(0, 3))");
  // 30 values of width 6: 9 per 80-column line, as PyTorch wraps them.
  const std::string wrapped = printed(tg::arange<double>(0, 30) * 0.001);
  CHECK(wrapped.substr(0, 95) ==
        "tensor([0.0000, 0.0010, 0.0020, 0.0030, 0.0040, 0.0050, 0.0060, 0.0070, 0.0080,\n        0.0090,");
}

TEST_CASE("large tensors elide their middle", "[print]") {
  CHECK(printed(tg::arange<double>(1000, 3000)) == "tensor([1000., 1001., 1002.,  ..., 2997., 2998., 2999.])");
  // Magnitudes spanning more than 1000x switch to scientific notation, as in PyTorch.
  CHECK(printed(tg::arange<double>(0, 2000)) ==
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])");
  const std::string m = printed(tg::zeros<double>({40, 40}));
  CHECK(m.find("...,") != std::string::npos);
  CHECK(m.find("\n        ...,\n") != std::string::npos);
}

TEST_CASE("to_string and undefined tensors", "[print]") {
  CHECK(tg::to_string(tg::ones<double>({1})) == "tensor([1.])");
  CHECK(tg::to_string(tg::Tensor<double>()) == "[ Tensor (undefined) ]");
}

}  // namespace core_print_test

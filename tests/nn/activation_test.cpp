// Activation modules: each is its functional op, prints as PyTorch, has no parameters.
#include "nn_test_util.hpp"

#include <sstream>

namespace nn_activation_test {

namespace nn = tg::nn;

template <typename M, typename F>
void check_activation(M module, F op, const std::string& printed) {
  tg::Generator gen(41);
  const Tensor x = tg::randn<double>({3, 5}, gen) * 3.0;
  INFO(printed);
  CHECK(module(x).to_vector() == op(x).to_vector());
  CHECK(module.parameters().empty());
  std::ostringstream os;
  os << module;
  CHECK(os.str() == printed);
}

TEST_CASE("Activation modules equal their ops") {
  check_activation(nn::ReLU<double>(), [](const Tensor& x) { return tg::relu(x); }, "ReLU()");
  check_activation(nn::ReLU6<double>(), [](const Tensor& x) { return tg::relu6(x); }, "ReLU6()");
  check_activation(nn::SELU<double>(), [](const Tensor& x) { return tg::selu(x); }, "SELU()");
  check_activation(nn::SiLU<double>(), [](const Tensor& x) { return tg::silu(x); }, "SiLU()");
  check_activation(nn::Mish<double>(), [](const Tensor& x) { return tg::mish(x); }, "Mish()");
  check_activation(nn::Sigmoid<double>(), [](const Tensor& x) { return tg::sigmoid(x); }, "Sigmoid()");
  check_activation(nn::Tanh<double>(), [](const Tensor& x) { return tg::tanh(x); }, "Tanh()");
  check_activation(nn::Softsign<double>(), [](const Tensor& x) { return tg::softsign(x); }, "Softsign()");
  check_activation(nn::Tanhshrink<double>(), [](const Tensor& x) { return tg::tanhshrink(x); }, "Tanhshrink()");
  check_activation(nn::Hardsigmoid<double>(), [](const Tensor& x) { return tg::hardsigmoid(x); }, "Hardsigmoid()");
  check_activation(nn::Hardswish<double>(), [](const Tensor& x) { return tg::hardswish(x); }, "Hardswish()");
  check_activation(nn::LogSigmoid<double>(), [](const Tensor& x) { return tg::log_sigmoid(x); }, "LogSigmoid()");
  check_activation(nn::LeakyReLU<double>(0.2), [](const Tensor& x) { return tg::leaky_relu(x, 0.2); },
                   "LeakyReLU(negative_slope=0.2)");
  check_activation(nn::ELU<double>(0.5), [](const Tensor& x) { return tg::elu(x, 0.5); }, "ELU(alpha=0.5)");
  check_activation(nn::CELU<double>(), [](const Tensor& x) { return tg::celu(x, 1.0); }, "CELU(alpha=1.0)");
  check_activation(nn::GELU<double>("tanh"), [](const Tensor& x) { return tg::gelu(x, tg::GeluApproximate::tanh); },
                   "GELU(approximate='tanh')");
  check_activation(nn::Softplus<double>(2, 10), [](const Tensor& x) { return tg::softplus(x, 2.0, 10.0); },
                   "Softplus(beta=2.0, threshold=10.0)");
  check_activation(nn::Hardtanh<double>(-2, 2), [](const Tensor& x) { return tg::hardtanh(x, -2.0, 2.0); },
                   "Hardtanh(min_val=-2.0, max_val=2.0)");
  check_activation(nn::Hardshrink<double>(), [](const Tensor& x) { return tg::hardshrink(x, 0.5); }, "Hardshrink(0.5)");
  check_activation(nn::Softshrink<double>(1), [](const Tensor& x) { return tg::softshrink(x, 1.0); }, "Softshrink(1.0)");
  check_activation(nn::Softmax<double>(1), [](const Tensor& x) { return tg::softmax(x, 1); }, "Softmax(dim=1)");
  check_activation(nn::LogSoftmax<double>(-1), [](const Tensor& x) { return tg::log_softmax(x, -1); },
                   "LogSoftmax(dim=-1)");
}

TEST_CASE("Activation modules: gradients flow; bad options are refused at construction") {
  nn::Sequential<double> net(std::make_shared<nn::Linear<double>>(3, 4), std::make_shared<nn::GELU<double>>(),
                             std::make_shared<nn::Linear<double>>(4, 2), std::make_shared<nn::Tanh<double>>());
  Tensor x = tg::randn<double>({2, 3}).requires_grad_();
  check_module_gradients(net, [&] { return net(x); }, {x});
  CHECK_THROWS_WITH(nn::GELU<double>("cubic"), TG_CONTAINS("gelu"));
  CHECK_THROWS_WITH(nn::Hardtanh<double>(1, -1), TG_CONTAINS("Hardtanh: min_val (1) must be less than max_val (-1)"));
  CHECK_THROWS_WITH(nn::Softplus<double>(0), TG_CONTAINS("Softplus: beta must be nonzero"));
}

}  // namespace nn_activation_test

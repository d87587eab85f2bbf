// The same 20 lines with Eigen alone: loss and gradients written by hand.
#include <Eigen/Dense>

#include <iostream>

int main() {
  std::srand(0);
  Eigen::MatrixXd x = Eigen::MatrixXd::Random(8, 4), y = Eigen::MatrixXd::Random(8, 1);
  Eigen::MatrixXd w1 = Eigen::MatrixXd::Random(4, 16), w2 = Eigen::MatrixXd::Random(16, 1);
  Eigen::MatrixXd h = (x * w1).array().tanh().matrix();
  Eigen::MatrixXd err = h * w2 - y;
  const double loss = err.squaredNorm() / static_cast<double>(err.size());
  Eigen::MatrixXd d_err = 2.0 * err / static_cast<double>(err.size());
  Eigen::MatrixXd g_w2 = h.transpose() * d_err;
  Eigen::MatrixXd d_h = (d_err * w2.transpose()).array() * (1 - h.array().square());
  Eigen::MatrixXd g_w1 = x.transpose() * d_h;
  std::cout << loss << " " << g_w1.sum() << " " << g_w2.sum() << "\n";
  return 0;
}

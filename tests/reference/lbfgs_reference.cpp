// Prints the reference trajectories that tests/optim/lbfgs_test.cpp embeds, computed by
// libtorch's torch::optim::LBFGS. Not part of the build; against Debian's libtorch 1.13
// (libtorch-dev), from the repository root:
//
//   g++ -std=c++17 -O1 tests/reference/lbfgs_reference.cpp -I/usr/include/torch/csrc/api/include -o /tmp/lbfgs_reference -ltorch -ltorch_cpu -lc10 && /tmp/lbfgs_reference
//
// Each case prints, after each step(closure), the loss step() returned (the loss at the
// start of the step), the closure evaluations and the iterations so far (the state's
// func_evals and n_iter), and the parameters flattened in order, as C++ initializers:
// {loss, func_evals, n_iter, {p...}}.

#include <torch/torch.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace {

// The 2-d Rosenbrock function, x and y as two parameters of shape [1].
torch::Tensor rosenbrock(const std::vector<torch::Tensor>& p) {
  const auto& x = p[0];
  const auto& y = p[1];
  return ((1 - x).pow(2) + 100 * (y - x * x).pow(2)).sum();
}

// 0.5 x'Ax - c'x on x = [a (3), b (2x1) flattened]; A = diag(100, 30, 10, 3, 1) + 0.3 uu',
// u = (1, -1, 1, -1, 1): condition number about 100.
torch::Tensor quadratic_matrix(torch::Dtype dtype) {
  auto u = torch::tensor({1.0, -1.0, 1.0, -1.0, 1.0}, dtype);
  return torch::diag(torch::tensor({100.0, 30.0, 10.0, 3.0, 1.0}, dtype)) + 0.3 * torch::outer(u, u);
}

torch::Tensor quadratic(const std::vector<torch::Tensor>& p) {
  const auto dtype = p[0].scalar_type();
  auto x = torch::cat({p[0], p[1].flatten()});
  auto c = torch::tensor({1.0, -2.0, 3.0, -1.0, 0.5}, dtype);
  return 0.5 * (x * torch::mv(quadratic_matrix(dtype), x)).sum() - (c * x).sum();
}

// sum(0.05 x^2 + sin(2 x)) + 0.1 (sum x)^2 on x of shape [3]: many local minima, so that
// the line search brackets, zooms and corrects insufficient progress.
torch::Tensor wavy(const std::vector<torch::Tensor>& p) {
  const auto& x = p[0];
  const auto s = x.sum();
  return (0.05 * x * x + (2 * x).sin()).sum() + 0.1 * s * s;
}

// -sum(x^3 + x): unbounded below along every descent direction, without a minimum on the
// line, so that the line search extrapolates (through the cubic's no-minimum branch)
// until its 25 evaluations are spent.
torch::Tensor unbounded(const std::vector<torch::Tensor>& p) {
  const auto& x = p[0];
  return -(x * x * x + x).sum();
}

struct Case {
  std::string name;
  std::function<std::vector<torch::Tensor>(torch::Dtype)> start;
  std::function<torch::Tensor(const std::vector<torch::Tensor>&)> loss;
  torch::optim::LBFGSOptions options;
  int steps;
  bool in_float = true;  // false: float overflows
};

void run(const Case& c, torch::Dtype dtype) {
  if (dtype == torch::kFloat32 && !c.in_float) {
    std::printf("// %s, float: not run\n", c.name.c_str());
    return;
  }
  auto params = c.start(dtype);
  for (auto& p : params) p.requires_grad_();
  torch::optim::LBFGS opt(params, c.options);
  int evals = 0;
  auto closure = [&] {
    opt.zero_grad();
    auto l = c.loss(params);
    l.backward();
    ++evals;
    return l;
  };
  std::printf("// %s, %s\n", c.name.c_str(), dtype == torch::kFloat64 ? "double" : "float");
  for (int s = 0; s < c.steps; ++s) {
    const double loss = opt.step(closure).item<double>();
    // LBFGS keeps its one global state under parameter 0.
    const auto& state = static_cast<const torch::optim::LBFGSParamState&>(*opt.state().begin()->second);
    if (state.func_evals() != evals) std::printf("// func_evals %lld != closure calls %d\n", static_cast<long long>(state.func_evals()), evals);
    std::printf("{%.17g, %d, %lld, {", loss, evals, static_cast<long long>(state.n_iter()));
    std::vector<double> flat;
    for (const auto& p : params) {
      auto v = p.detach().to(torch::kFloat64).flatten();
      for (int64_t i = 0; i < v.numel(); ++i) flat.push_back(v[i].item<double>());
    }
    for (std::size_t i = 0; i < flat.size(); ++i) std::printf("%s%.17g", i ? ", " : "", flat[i]);
    std::printf("}},\n");
  }
}

}  // namespace

int main() {
  auto rosen_start = [](torch::Dtype dtype) {
    return std::vector<torch::Tensor>{torch::tensor({-1.5}, dtype), torch::tensor({2.0}, dtype)};
  };
  auto quad_start = [](torch::Dtype dtype) {
    return std::vector<torch::Tensor>{torch::tensor({1.0, -1.0, 0.5}, dtype),
                                      torch::tensor({2.0, -0.5}, dtype).reshape({2, 1})};
  };
  auto wavy_start = [](torch::Dtype dtype) { return std::vector<torch::Tensor>{torch::tensor({2.5, -1.0, 0.3}, dtype)}; };
  auto unbounded_start = [](torch::Dtype dtype) { return std::vector<torch::Tensor>{torch::tensor({0.5, -0.25}, dtype)}; };
  using Options = torch::optim::LBFGSOptions;
  const std::vector<Case> cases{
      {"rosenbrock, strong_wolfe, max_iter 4", rosen_start, rosenbrock, Options(1).max_iter(4).line_search_fn("strong_wolfe"), 5},
      {"rosenbrock, no line search, lr 0.05, max_iter 4", rosen_start, rosenbrock, Options(0.05).max_iter(4), 5},
      {"rosenbrock, strong_wolfe, max_iter 4, history_size 3", rosen_start, rosenbrock,
       Options(1).max_iter(4).history_size(3).line_search_fn("strong_wolfe"), 5},
      {"rosenbrock, strong_wolfe, the default options", rosen_start, rosenbrock, Options().line_search_fn("strong_wolfe"), 10},
      {"quadratic, strong_wolfe, max_iter 3, history_size 2", quad_start, quadratic,
       Options(1).max_iter(3).history_size(2).line_search_fn("strong_wolfe"), 4},
      {"quadratic, no line search, lr 0.5, max_iter 4, history_size 3", quad_start, quadratic,
       Options(0.5).max_iter(4).history_size(3), 4},
      {"wavy, strong_wolfe, lr 200, max_iter 4, history_size 2", wavy_start, wavy,
       Options(200).max_iter(4).history_size(2).line_search_fn("strong_wolfe"), 5},
      {"unbounded, strong_wolfe, max_iter 4", unbounded_start, unbounded, Options().max_iter(4).line_search_fn("strong_wolfe"), 2,
       false},
  };
  for (const auto& c : cases) run(c, torch::kFloat64);
  for (const auto& c : cases) run(c, torch::kFloat32);
}

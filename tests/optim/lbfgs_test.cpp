// LBFGS against libtorch's torch::optim::LBFGS: trajectories, convergence, the stopping
// rules, the state dict and the errors.
#include "optim_test_util.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace lbfgs_test {

namespace optim = tg::optim;
using optim::LBFGS;
using optim::LBFGSOptions;
using optim::LineSearch;

// After each step(closure): the loss it returned, the closure evaluations and the
// iterations so far, and the parameters flattened in order.
struct Record {
  double loss;
  int evals;
  int n_iter;
  std::vector<double> params;
};

enum class Problem { rosenbrock, quadratic, wavy, unbounded };

// The 2-d Rosenbrock function, x and y two parameters of shape [1], from (-1.5, 2).
template <typename T>
tg::Tensor<T> rosenbrock(const std::vector<tg::Tensor<T>>& p) {
  const auto& x = p[0];
  const auto& y = p[1];
  const auto a = 1 - x, b = y - x * x;
  return (a * a + 100 * (b * b)).sum();
}

// 0.5 x'Ax - c'x with x = [a (shape [3]), b (shape [2, 1]) flattened],
// A = diag(100, 30, 10, 3, 1) + 0.3 uu', u = (1, -1, 1, -1, 1).
inline Eigen::MatrixXd quadratic_matrix() {
  Eigen::VectorXd u(5);
  u << 1, -1, 1, -1, 1;
  Eigen::VectorXd diag(5);
  diag << 100, 30, 10, 3, 1;
  return Eigen::MatrixXd(diag.asDiagonal()) + 0.3 * u * u.transpose();
}
inline const std::vector<double> kQuadraticC{1, -2, 3, -1, 0.5};

template <typename T>
tg::Tensor<T> quadratic(const std::vector<tg::Tensor<T>>& p) {
  const Eigen::MatrixXd a = quadratic_matrix();
  std::vector<T> values;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) values.push_back(static_cast<T>(a(i, j)));
  const auto A = tg::from_vector(values, {5, 5});
  const auto c = tg::from_vector(std::vector<T>(kQuadraticC.begin(), kQuadraticC.end()));
  const auto x = tg::cat(std::vector<tg::Tensor<T>>{p[0], p[1].flatten()});
  return 0.5 * (x * A.matmul(x)).sum() - (c * x).sum();
}

// sum(0.05 x^2 + sin(2 x)) + 0.1 (sum x)^2 on x of shape [3], from (2.5, -1, 0.3): many
// local minima, so that the line search brackets, zooms and corrects insufficient progress.
template <typename T>
tg::Tensor<T> wavy(const std::vector<tg::Tensor<T>>& p) {
  const auto& x = p[0];
  const auto s = x.sum();
  return (0.05 * x * x + (2 * x).sin()).sum() + 0.1 * s * s;
}

// -sum(x^3 + x) from (0.5, -0.25): unbounded below without a minimum along the line, so
// that the line search extrapolates (where the cubic has no minimum, to the middle of
// its bounds) until its 25 evaluations are spent.
template <typename T>
tg::Tensor<T> unbounded(const std::vector<tg::Tensor<T>>& p) {
  const auto& x = p[0];
  return -(x * x * x + x).sum();
}

template <typename T>
std::vector<tg::Tensor<T>> start(Problem problem) {
  if (problem == Problem::wavy) return {tg::from_vector<T>({2.5, -1.0, 0.3}, tg::requires_grad())};
  if (problem == Problem::unbounded) return {tg::from_vector<T>({0.5, -0.25}, tg::requires_grad())};
  if (problem == Problem::rosenbrock)
    return {tg::from_vector<T>({-1.5}, tg::requires_grad()), tg::from_vector<T>({2.0}, tg::requires_grad())};
  return {tg::from_vector<T>({1.0, -1.0, 0.5}, tg::requires_grad()),
          tg::from_vector<T>({2.0, -0.5}, {2, 1}, tg::requires_grad())};
}

template <typename T>
tg::Tensor<T> loss_of(Problem problem, const std::vector<tg::Tensor<T>>& p) {
  switch (problem) {
    case Problem::rosenbrock: return rosenbrock(p);
    case Problem::quadratic: return quadratic(p);
    case Problem::wavy: return wavy(p);
    default: return unbounded(p);
  }
}

template <typename T>
std::vector<double> flatten(const std::vector<tg::Tensor<T>>& params) {
  std::vector<double> out;
  for (const auto& p : params)
    for (T v : p.to_vector()) out.push_back(static_cast<double>(v));
  return out;
}

// Runs `steps` steps of LBFGS on the problem and records each.
template <typename T>
std::vector<Record> run(Problem problem, const LBFGSOptions& options, int steps) {
  auto params = start<T>(problem);
  LBFGS<T> opt(params, options);
  int evals = 0;
  auto closure = [&] {
    opt.zero_grad();
    auto l = loss_of(problem, params);
    l.backward();
    ++evals;
    return l;
  };
  std::vector<Record> out;
  for (int s = 0; s < steps; ++s) {
    const double loss = static_cast<double>(opt.step(closure).item());
    out.push_back({loss, evals, static_cast<int>(opt.n_iter()), flatten(params)});
    CHECK(opt.func_evals() == evals);
  }
  return out;
}

// Compares with a reference; returns the largest difference relative to max(1, |ref|).
inline double compare(const std::vector<Record>& got, const std::vector<Record>& ref, double tol) {
  REQUIRE(got.size() == ref.size());
  double worst = 0;
  for (std::size_t s = 0; s < ref.size(); ++s) {
    INFO("step " << s + 1);
    CHECK(got[s].evals == ref[s].evals);
    CHECK(got[s].n_iter == ref[s].n_iter);
    CHECK(got[s].loss == Approx(ref[s].loss).epsilon(tol).margin(tol));
    worst = std::max(worst, std::abs(got[s].loss - ref[s].loss) / std::max(1.0, std::abs(ref[s].loss)));
    REQUIRE(got[s].params.size() == ref[s].params.size());
    for (std::size_t i = 0; i < ref[s].params.size(); ++i) {
      INFO("parameter element " << i);
      CHECK(got[s].params[i] == Approx(ref[s].params[i]).epsilon(tol).margin(tol));
      worst = std::max(worst, std::abs(got[s].params[i] - ref[s].params[i]) / std::max(1.0, std::abs(ref[s].params[i])));
    }
  }
  return worst;
}

struct Case {
  const char* name;
  Problem problem;
  LBFGSOptions options;
  int steps;
  int float_steps;  // compared in float (see the float test)
};

inline std::vector<Case> reference_cases() {
  return {
      {"rosenbrock, strong_wolfe, max_iter 4", Problem::rosenbrock,
       LBFGSOptions(1).max_iter(4).line_search_fn(LineSearch::strong_wolfe), 5, 4},
      {"rosenbrock, no line search, lr 0.05, max_iter 4", Problem::rosenbrock, LBFGSOptions(0.05).max_iter(4), 5, 5},
      {"rosenbrock, strong_wolfe, max_iter 4, history_size 3", Problem::rosenbrock,
       LBFGSOptions(1).max_iter(4).history_size(3).line_search_fn(LineSearch::strong_wolfe), 5, 3},
      {"rosenbrock, strong_wolfe, the default options", Problem::rosenbrock,
       LBFGSOptions().line_search_fn(LineSearch::strong_wolfe), 10, 0},
      {"quadratic, strong_wolfe, max_iter 3, history_size 2", Problem::quadratic,
       LBFGSOptions(1).max_iter(3).history_size(2).line_search_fn(LineSearch::strong_wolfe), 4, 4},
      {"quadratic, no line search, lr 0.5, max_iter 4, history_size 3", Problem::quadratic,
       LBFGSOptions(0.5).max_iter(4).history_size(3), 4, 4},
      {"wavy, strong_wolfe, lr 200, max_iter 4, history_size 2", Problem::wavy,
       LBFGSOptions(200).max_iter(4).history_size(2).line_search_fn(LineSearch::strong_wolfe), 5, 5},
      {"unbounded, strong_wolfe, max_iter 4", Problem::unbounded,
       LBFGSOptions().max_iter(4).line_search_fn(LineSearch::strong_wolfe), 2, 0},
  };
}

// Printed by tests/reference/lbfgs_reference.cpp (torch::optim::LBFGS, libtorch 1.13.1,
// Debian's libtorch-dev), in the order of reference_cases(): {loss, func_evals, n_iter,
// {params}}.
inline const std::vector<std::vector<Record>> kTorchDouble{
    {
        // rosenbrock, strong_wolfe, max_iter 4, double
        {12.5, 5, 3, {-1.4201365045001701, 2.0237104251447131}},
        {5.8618531246449894, 10, 7, {-1.3536960480482616, 1.7977327472576072}},
        {5.6607125376353338, 15, 11, {-0.9629098925080436, 0.91540875708389713}},
        {3.8669078852383389, 20, 14, {-0.61855321092099069, 0.37140041734609996}},
        {2.6322756550100501, 26, 17, {-0.29264469783426561, 0.041974001734520643}},
    },
    {
        // rosenbrock, no line search, lr 0.05, max_iter 4, double
        {12.5, 4, 4, {-1.4564930729409571, 2.0139338999861027}},
        {7.188654287768891, 8, 8, {-1.4498606445093869, 2.0155772621448973}},
        {6.7503644481044489, 12, 12, {-1.4442279543984742, 2.0164830267330935}},
        {6.454656721368405, 16, 16, {-1.4394038723158882, 2.016729660540407}},
        {6.254885937235926, 20, 20, {-1.4352300569965584, 2.0163943105233497}},
    },
    {
        // rosenbrock, strong_wolfe, max_iter 4, history_size 3, double
        {12.5, 5, 3, {-1.4201365045001701, 2.0237104251447131}},
        {5.8618531246449894, 10, 7, {-1.3479374965818183, 1.7813100097782786}},
        {5.6397280053833976, 16, 11, {-0.82975335509957204, 0.6492160241516256}},
        {3.5022468093012513, 21, 14, {-0.45159295771342972, 0.15833436790974942}},
        {2.3150748189237995, 27, 18, {0.056564218258940986, -0.022174036950023155}},
    },
    {
        // rosenbrock, strong_wolfe, the default options, double
        {12.5, 25, 19, {-0.085118555898643644, -0.028757058413786462}},
        {1.3070983150503086, 50, 38, {0.99958354725312204, 0.99915503195806876}},
        {1.8840481364621566e-07, 53, 41, {0.99999799431964354, 0.99999734389217021}},
        {1.8769270104232009e-10, 54, 42, {0.99999799431964354, 0.99999734389217021}},
        {1.8769270104232009e-10, 55, 43, {0.99999799431964354, 0.99999734389217021}},
        {1.8769270104232009e-10, 56, 44, {0.99999799431964354, 0.99999734389217021}},
        {1.8769270104232009e-10, 57, 45, {0.99999799431964354, 0.99999734389217021}},
        {1.8769270104232009e-10, 58, 46, {0.99999799431964354, 0.99999734389217021}},
        {1.8769270104232009e-10, 59, 47, {0.99999799431964354, 0.99999734389217021}},
        {1.8769270104232009e-10, 60, 48, {0.99999799431964354, 0.99999734389217021}},
    },
    {
        // quadratic, strong_wolfe, max_iter 3, history_size 2, double
        {70.125, 3, 2, {-0.026981115897868835, -0.50275746014667333, 0.46380983199083931, 1.8506295636526156, -0.47512072656472892}},
        {10.160031582410799, 6, 4, {0.0037405922743937239, 0.014006434174021032, 0.39426134142769714, 1.4086986210115784, -0.38403775042631505}},
        {4.5711309100038831, 10, 6, {0.12747891714164161, 0.066537175441606644, 0.29576776828452878, 0.48635773353020501, -0.17547351170832173}},
        {1.3929072686701289, 13, 8, {0.0091333858009108281, -0.04334375782171717, 0.23815372233890506, -0.29274814281237638, 0.014067705563032485}},
    },
    {
        // quadratic, no line search, lr 0.5, max_iter 4, history_size 3, double
        {70.125, 4, 4, {0.041081937106315469, -0.35330573039260899, 0.44702775726324329, 1.748793872941165, -0.45436472495932062}},
        {7.8119243464396151, 8, 8, {0.030323715747801586, 0.069538511514039905, 0.31859953165434912, 0.64896730135553293, -0.20916148365763482}},
        {1.2363953205705376, 12, 12, {0.0030853767649123487, -0.036211075433971285, 0.25770639562945152, -0.26227036231590284, 0.023565600736143482}},
        {-0.61606089309995393, 16, 16, {0.009905510420472767, -0.064166960895841063, 0.27883996827091229, -0.28988948763811795, 0.076558568883582701}},
    },
    {
        // wavy, strong_wolfe, lr 200, max_iter 4, history_size 2, double
        {-0.61257922809378484, 5, 1, {1.9515750051492051, -0.73341233523188287, -0.65059198326555268}},
        {-2.377819394199884, 10, 2, {2.1231450398704177, -0.75415347721577286, -0.87667292307907096}},
        {-2.5582703333953876, 17, 4, {2.2654991345287407, -0.7991186728882127, -0.79831635431986925}},
        {-2.6178332767905048, 20, 6, {2.2656559866831611, -0.79882288085550934, -0.79882479496908576}},
        {-2.6178340392475241, 21, 7, {2.2656559866831611, -0.79882288085550934, -0.79882479496908576}},
    },
    {
        // unbounded, strong_wolfe, max_iter 4, double
        {-0.359375, 27, 1, {396767107892002.12, 269234823212429.41}},
        {-8.197684954887096e+43, 54, 2, {1.1934374003049761e+40, 5.4952921110981448e+39}},
    },
};

inline const std::vector<std::vector<Record>> kTorchFloat{
    {
        // rosenbrock, strong_wolfe, max_iter 4, float
        {12.5, 5, 3, {-1.420136570930481, 2.0237104892730713}},
        {5.8618526458740234, 10, 7, {-1.35370934009552, 1.7977731227874756}},
        {5.6607437133789062, 15, 11, {-0.96292513608932495, 0.91543692350387573}},
        {3.8669707775115967, 20, 14, {-0.6185910701751709, 0.37147995829582214}},
        {2.6323249340057373, 26, 17, {-0.29283952713012695, 0.042129367589950562}},
    },
    {
        // rosenbrock, no line search, lr 0.05, max_iter 4, float
        {12.5, 4, 4, {-1.4564931392669678, 2.0139338970184326}},
        {7.1886577606201172, 8, 8, {-1.449860692024231, 2.0155773162841797}},
        {6.7503662109375, 12, 12, {-1.4442280530929565, 2.0164833068847656}},
        {6.454658031463623, 16, 16, {-1.4394040107727051, 2.0167300701141357}},
        {6.2548866271972656, 20, 20, {-1.4352302551269531, 2.0163948535919189}},
    },
    {
        // rosenbrock, strong_wolfe, max_iter 4, history_size 3, float
        {12.5, 5, 3, {-1.420136570930481, 2.0237104892730713}},
        {5.8618526458740234, 10, 7, {-1.3479498624801636, 1.7813469171524048}},
        {5.6397604942321777, 16, 11, {-0.82976102828979492, 0.64923608303070068}},
        {3.5022172927856445, 21, 14, {-0.45209941267967224, 0.15895001590251923}},
        {2.3151073455810547, 27, 18, {0.049732781946659088, -0.020916236564517021}},
    },
    {
        // rosenbrock, strong_wolfe, the default options, float
        {12.5, 25, 19, {-0.08534376323223114, -0.028848469257354736}},
        {1.3085232973098755, 50, 39, {1.0001225471496582, 1.0002398490905762}},
        {1.7769025362213142e-08, 52, 41, {0.99999803304672241, 0.99999630451202393}},
        {9.553247082294547e-12, 53, 42, {0.99999803304672241, 0.99999630451202393}},
        {9.553247082294547e-12, 54, 43, {0.99999803304672241, 0.99999630451202393}},
        {9.553247082294547e-12, 55, 44, {0.99999803304672241, 0.99999630451202393}},
        {9.553247082294547e-12, 56, 45, {0.99999803304672241, 0.99999630451202393}},
        {9.553247082294547e-12, 57, 46, {0.99999803304672241, 0.99999630451202393}},
        {9.553247082294547e-12, 58, 47, {0.99999803304672241, 0.99999630451202393}},
        {9.553247082294547e-12, 59, 48, {0.99999803304672241, 0.99999630451202393}},
    },
    {
        // quadratic, strong_wolfe, max_iter 3, history_size 2, float
        {70.125, 3, 2, {-0.026981115341186523, -0.50275754928588867, 0.46380981802940369, 1.8506295680999756, -0.47512072324752808}},
        {10.160032272338867, 6, 4, {0.0037406124174594879, 0.014006495475769043, 0.39426130056381226, 1.408698558807373, -0.38403773307800293}},
        {4.5711307525634766, 10, 6, {0.12747889757156372, 0.066537201404571533, 0.29576775431632996, 0.48635786771774292, -0.17547351121902466}},
        {1.3929073810577393, 13, 8, {0.0091333780437707901, -0.043343774974346161, 0.23815371096134186, -0.2927480936050415, 0.014067746698856354}},
    },
    {
        // quadratic, no line search, lr 0.5, max_iter 4, history_size 3, float
        {70.125, 4, 4, {0.041081972420215607, -0.35330575704574585, 0.44702774286270142, 1.7487938404083252, -0.45436474680900574}},
        {7.8119239807128906, 8, 8, {0.030323617160320282, 0.069538451731204987, 0.31859955191612244, 0.64896726608276367, -0.20916152000427246}},
        {1.2363948822021484, 12, 12, {0.0030853454954922199, -0.036211006343364716, 0.25770637392997742, -0.26227051019668579, 0.02356555312871933}},
        {-0.61606073379516602, 16, 16, {0.0099056027829647064, -0.064166925847530365, 0.27883991599082947, -0.28988951444625854, 0.07655828446149826}},
    },
    {
        // wavy, strong_wolfe, lr 200, max_iter 4, history_size 2, float
        {-0.61257922649383545, 5, 1, {1.9515748023986816, -0.73341220617294312, -0.65059220790863037}},
        {-2.3778190612792969, 10, 2, {2.1231470108032227, -0.75415372848510742, -0.87667548656463623}},
        {-2.5582706928253174, 17, 4, {2.2654991149902344, -0.79911881685256958, -0.79831600189208984}},
        {-2.617833137512207, 20, 6, {2.2656559944152832, -0.79882287979125977, -0.79882478713989258}},
        {-2.6178338527679443, 21, 7, {2.2656559944152832, -0.79882287979125977, -0.79882478713989258}},
    },
    {},  // unbounded: overflows float
};

// A closure over `params` that counts its evaluations.
template <typename T, typename Loss>
auto counting_closure(LBFGS<T>& opt, Loss loss, int& evals) {
  return [&opt, loss, &evals] {
    opt.zero_grad();
    auto l = loss();
    l.backward();
    ++evals;
    return l;
  };
}

}  // namespace lbfgs_test

using namespace lbfgs_test;

TEST_CASE("LBFGS: trajectories equal libtorch's, with and without strong_wolfe", "[lbfgs]") {
  const auto cases = reference_cases();
  for (std::size_t c = 0; c < cases.size(); ++c) {
    INFO(cases[c].name << ", double");
    const double worst = compare(run<double>(cases[c].problem, cases[c].options, cases[c].steps), kTorchDouble[c], 1e-10);
    CHECK(worst < 1e-10);
  }
}

// In float, the strong-Wolfe runs on Rosenbrock amplify rounding: libtorch's own float
// run is 4e-5 from its double run after 2 steps, and a one-ulp difference ends as 1e-5
// after a few steps. Most of the difference from libtorch is its add_(other, alpha),
// which this machine's AVX2 kernels fuse into an FMA (with std::fma in place of p += t d
// and the two-loop updates, the max_iter 4 case agrees to 4e-7 at step 5). So each case
// is compared for its first float_steps steps: all of them without line search and on
// the quadratic and wavy; 4 and 3 of the Rosenbrock strong-Wolfe runs; none of the
// 19-iteration steps of the defaults (1.7e-5 after the first; the float run still reaches
// (1, 1) in the convergence test), nor of unbounded (it overflows float).
TEST_CASE("LBFGS: float trajectories equal libtorch's float to 1e-5", "[lbfgs]") {
  const auto cases = reference_cases();
  for (std::size_t c = 0; c < cases.size(); ++c) {
    INFO(cases[c].name << ", float");
    const auto steps = static_cast<std::ptrdiff_t>(cases[c].float_steps);
    if (steps == 0) continue;
    const std::vector<Record> ref(kTorchFloat[c].begin(), kTorchFloat[c].begin() + steps);
    const double worst = compare(run<float>(cases[c].problem, cases[c].options, cases[c].float_steps), ref, 1e-5);
    CHECK(worst < 1e-5);
  }
}

TEST_CASE("LBFGS: strong_wolfe takes Rosenbrock to (1, 1); quadratics reach their minimizer", "[lbfgs]") {
  // With the default tolerance_change (1e-9) Rosenbrock stops at 2e-6 from (1, 1), where
  // g'd > -1e-9 (libtorch stops at the same point: the last steps of kTorchDouble[3]).
  SECTION("Rosenbrock from (-1.5, 2)") {
    auto params = start<double>(Problem::rosenbrock);
    LBFGS<double> opt(params, LBFGSOptions().tolerance_change(1e-12).line_search_fn(LineSearch::strong_wolfe));
    int evals = 0;
    auto closure = counting_closure(opt, [&] { return rosenbrock(params); }, evals);
    for (int s = 0; s < 10; ++s) opt.step(closure);
    CHECK(params[0].item() == Approx(1.0).epsilon(0).margin(1e-6));
    CHECK(params[1].item() == Approx(1.0).epsilon(0).margin(1e-6));
    CHECK(rosenbrock(params).item() < 1e-12);
  }
  SECTION("Rosenbrock in float, the default options") {
    auto params = start<float>(Problem::rosenbrock);
    LBFGS<float> opt(params, LBFGSOptions().line_search_fn(LineSearch::strong_wolfe));
    int evals = 0;
    auto closure = counting_closure(opt, [&] { return rosenbrock(params); }, evals);
    for (int s = 0; s < 10; ++s) opt.step(closure);
    CHECK(params[0].item() == Approx(1.0).epsilon(0).margin(1e-5));
    CHECK(params[1].item() == Approx(1.0).epsilon(0).margin(1e-5));
  }
  SECTION("a 5-d ill-conditioned quadratic, both line-search modes") {
    const Eigen::VectorXd solution = quadratic_matrix().ldlt().solve(Eigen::Map<const Eigen::VectorXd>(kQuadraticC.data(), 5));
    for (const LineSearch ls : {LineSearch::none, LineSearch::strong_wolfe}) {
      INFO("strong_wolfe " << (ls == LineSearch::strong_wolfe));
      auto params = start<double>(Problem::quadratic);
      // tolerance_change 0: the default stops at 6e-8 from the minimizer, where g'd > -1e-9.
      LBFGS<double> opt(params, LBFGSOptions().tolerance_grad(1e-10).tolerance_change(0).line_search_fn(ls));
      int evals = 0;
      auto closure = counting_closure(opt, [&] { return quadratic(params); }, evals);
      for (int s = 0; s < 5; ++s) opt.step(closure);
      const auto x = flatten(params);
      for (int i = 0; i < 5; ++i) CHECK(x[i] == Approx(solution[i]).epsilon(0).margin(1e-8));
    }
  }
  SECTION("a 50-d quadratic with condition number 1e3 in one [50] parameter") {
    constexpr int n = 50;
    Eigen::VectorXd diag(n), c(n);
    for (int i = 0; i < n; ++i) {
      diag[i] = std::pow(1e3, static_cast<double>(i) / (n - 1));
      c[i] = std::sin(1.0 + i);
    }
    auto x = tg::zeros<double>({n}, tg::requires_grad());
    const auto h = tg::from_vector(std::vector<double>(diag.data(), diag.data() + n));
    const auto b = tg::from_vector(std::vector<double>(c.data(), c.data() + n));
    LBFGS<double> opt({x}, LBFGSOptions().max_iter(200).tolerance_change(0).line_search_fn(LineSearch::strong_wolfe));
    int evals = 0;
    auto closure = counting_closure(opt, [&] { return (0.5 * h * x * x - b * x).sum(); }, evals);
    opt.step(closure);
    // The loss's rounding (|f| ~ 2) limits x to about sqrt(2 eps |f|) ~ 3e-8.
    for (int i = 0; i < n; ++i) CHECK(x.at({i}) == Approx(c[i] / diag[i]).epsilon(0).margin(1e-6));
    CHECK(opt.n_iter() < 200);  // stopped by a tolerance, not by max_iter
  }
}

// lr 1e-30: no trial point moves x at all, so every loss equals f. The bracketing phase
// extrapolates twice and then, at its third point (ls_iter > 1), brackets on
// f_new >= f_prev; the bracket is then narrower than tolerance_change / max|d|, and the
// zoom stops before evaluating anything: 1 + 3 evaluations a step. (torch.optim.LBFGS
// tests the bracket at the top of its zoom loop, as here; libtorch 1.13's C++ port tests
// it at the bottom, after one more evaluation, and counts 5.)
TEST_CASE("LBFGS: a line search whose bracket is too small stops zooming before evaluating", "[lbfgs]") {
  auto x = tg::from_vector<double>({1.0, 1.0, 1.0}, tg::requires_grad());
  const auto h = tg::from_vector<double>({1.0, 10.0, 100.0});
  LBFGS<double> opt({x}, LBFGSOptions(1e-30).line_search_fn(LineSearch::strong_wolfe));
  int evals = 0;
  auto closure = counting_closure(opt, [&] { return (0.5 * h * x * x).sum(); }, evals);
  opt.step(closure);
  CHECK(evals == 4);
  CHECK(opt.n_iter() == 1);  // then |t d| <= tolerance_change ends the step
  CHECK(x.to_vector() == std::vector<double>{1, 1, 1});
  opt.step(closure);
  CHECK(evals == 8);
  CHECK(opt.n_iter() == 2);
}

TEST_CASE("LBFGS: the tolerances stop a step early", "[lbfgs]") {
  SECTION("tolerance_grad: at the minimum, one evaluation and no iteration") {
    auto x = tg::from_vector<double>({1.0}, tg::requires_grad());
    auto y = tg::from_vector<double>({1.0}, tg::requires_grad());
    std::vector<tg::Tensor<double>> params{x, y};
    LBFGS<double> opt(params);
    int evals = 0;
    const auto loss = opt.step(counting_closure(opt, [&] { return rosenbrock(params); }, evals));
    CHECK(loss.item() == 0.0);
    CHECK(evals == 1);
    CHECK(opt.n_iter() == 0);
    CHECK(x.item() == 1.0);
    CHECK(opt.state_dict().keys() ==
          std::vector<std::string>{"state.0.func_evals", "state.0.n_iter", "param_groups.0.lr", "param_groups.0.max_iter",
                                   "param_groups.0.max_eval", "param_groups.0.tolerance_grad",
                                   "param_groups.0.tolerance_change", "param_groups.0.history_size",
                                   "param_groups.0.line_search_fn"});
  }
  SECTION("tolerance_change on the directional derivative") {
    // f = 0.005 x^2 from x = 0.1: g = 1e-3, d = -g, g'd = -1e-6 > -1e-5: no move at all.
    auto x = tg::from_vector<double>({0.1}, tg::requires_grad());
    LBFGS<double> opt({x}, LBFGSOptions().tolerance_change(1e-5));
    int evals = 0;
    opt.step(counting_closure(opt, [&] { return (0.005 * x * x).sum(); }, evals));
    CHECK(evals == 1);
    CHECK(opt.n_iter() == 1);
    CHECK(x.item() == 0.1);
  }
  SECTION("tolerance_change on the loss") {
    // f = 0.99 x^2 from x = 0.01: g = 0.0198, the first step is -g (t = 1) to x = -0.0098:
    // g'd = -3.9e-4 and |t d| = 0.0198 pass 1e-4, the loss changes by 3.9e-6 only.
    auto evaluations = [](const LBFGSOptions& options) {
      auto x = tg::from_vector<double>({0.01}, tg::requires_grad());
      LBFGS<double> opt({x}, options);
      int evals = 0;
      opt.step(counting_closure(opt, [&] { return (0.99 * x * x).sum(); }, evals));
      return evals;
    };
    CHECK(evaluations(LBFGSOptions().tolerance_change(1e-4)) == 2);
    // Without it, the second iteration (a secant step, exact in 1-d) reaches x = 0, where
    // tolerance_grad stops.
    CHECK(evaluations(LBFGSOptions().tolerance_change(0)) == 3);
  }
  // f = 50 x^2 from x = 1 with lr 1e-3: g = 100, so the first step is t d = -1e-2 * 1e-3 * 100
  // = -1e-3 (the loss changes by 0.1); later ones are -1e-3 x (d is the Newton step -x).
  auto slow = [](const LBFGSOptions& options, double* x_end = nullptr) {
    auto x = tg::from_vector<double>({1.0}, tg::requires_grad());
    LBFGS<double> opt({x}, options);
    int evals = 0;
    opt.step(counting_closure(opt, [&] { return (50 * x * x).sum(); }, evals));
    CHECK(opt.func_evals() == evals);
    if (x_end) *x_end = x.item();
    return evals;
  };
  SECTION("tolerance_change on the step") {
    double x = 0;
    CHECK(slow(LBFGSOptions(1e-3).tolerance_change(2e-3), &x) == 2);  // |t d| = 1e-3 <= 2e-3
    CHECK(x == Approx(1.0 - 1e-3).epsilon(1e-12));
  }
  SECTION("max_iter and max_eval") {
    CHECK(slow(LBFGSOptions(1e-3)) == 20);               // max_iter 20: 1 + 19 (none after the last iteration)
    CHECK(slow(LBFGSOptions(1e-3).max_eval(5)) == 5);    // 1 + 4
    CHECK(slow(LBFGSOptions(1e-3).max_iter(8)) == 8);    // max_eval 10 is not reached
    CHECK(slow(LBFGSOptions(1e-3).max_iter(1)) == 1);
  }
}

TEST_CASE("LBFGS: a step records nothing; a parameter without a gradient counts as zero gradient", "[lbfgs]") {
  auto w = tg::from_vector<double>({1.0, 2.0}, tg::requires_grad());
  auto unused = tg::from_vector<double>({5.0}, tg::requires_grad());
  LBFGS<double> opt({w, unused}, LBFGSOptions().max_iter(3));
  const auto version = w.version();
  tg::NoGradGuard off;  // the closure still records
  int evals = 0;
  const auto loss = opt.step(counting_closure(opt, [&] { return (w * w).sum(); }, evals));
  CHECK(loss.item() == 5.0);  // the first evaluation's
  CHECK(w.version() == version);
  CHECK(w.is_leaf());
  CHECK(unused.item() == 5.0);
  // First iteration t = 1 / |g|_1 = 1/6: w = (1, 2) - (2, 4)/6 = (2/3, 4/3).
  auto v = tg::from_vector<double>({1.0, 2.0}, tg::requires_grad());
  LBFGS<double> one({v}, LBFGSOptions().max_iter(1));
  one.step([&] {
    one.zero_grad();
    auto l = (v * v).sum();
    l.backward();
    return l;
  });
  CHECK(v.at({0}) == Approx(2.0 / 3).epsilon(1e-15));
  CHECK(v.at({1}) == Approx(4.0 / 3).epsilon(1e-15));
}

TEST_CASE("LBFGS: state_dict round trip resumes bit for bit", "[lbfgs]") {
  auto round_trip = [](auto zero, Problem problem, const LBFGSOptions& options) {
    using T = decltype(zero);
    auto p1 = start<T>(problem);
    LBFGS<T> uninterrupted(p1, options);
    int e1 = 0;
    auto c1 = counting_closure(uninterrupted, [&] { return loss_of(problem, p1); }, e1);
    std::vector<double> losses1;
    for (int s = 0; s < 5; ++s) losses1.push_back(static_cast<double>(uninterrupted.step(c1).item()));

    auto p2 = start<T>(problem);
    LBFGS<T> first(p2, options);
    int e2 = 0;
    auto c2 = counting_closure(first, [&] { return loss_of(problem, p2); }, e2);
    std::vector<double> losses2;
    for (int s = 0; s < 2; ++s) losses2.push_back(static_cast<double>(first.step(c2).item()));
    const auto sd = first.state_dict();

    std::vector<tg::Tensor<T>> p3;
    for (const auto& p : p2) p3.push_back(p.detach().clone().requires_grad_());
    LBFGS<T> resumed(p3, LBFGSOptions(0.25));  // the options come from the state dict
    resumed.load_state_dict(sd);
    const auto reloaded = resumed.state_dict();  // the same entries, bit for bit
    REQUIRE(reloaded.keys() == sd.keys());
    for (const auto& [key, t] : sd) {
      INFO(key);
      CHECK(reloaded.at(key).shape() == t.shape());
      CHECK(reloaded.at(key).to_vector() == t.to_vector());
    }
    CHECK(resumed.lr(0) == options.lr());
    CHECK(resumed.func_evals() == first.func_evals());
    CHECK(resumed.n_iter() == first.n_iter());
    int e3 = 0;
    auto c3 = counting_closure(resumed, [&] { return loss_of(problem, p3); }, e3);
    for (int s = 0; s < 3; ++s) losses2.push_back(static_cast<double>(resumed.step(c3).item()));

    CHECK(losses2 == losses1);
    CHECK(flatten(p3) == flatten(p1));
    CHECK(e2 + e3 == e1);
    const auto end1 = uninterrupted.state_dict(), end3 = resumed.state_dict();
    REQUIRE(end3.keys() == end1.keys());
    for (const auto& [key, t] : end1) {
      INFO(key);
      CHECK(end3.at(key).to_vector() == t.to_vector());
    }
    return sd;
  };
  SECTION("double, strong_wolfe, history shifting") {
    const auto sd = round_trip(0.0, Problem::rosenbrock,
                               LBFGSOptions().max_iter(4).history_size(3).line_search_fn(LineSearch::strong_wolfe));
    // After 2 steps of 4 iterations the history holds 3 pairs.
    CHECK(sd.keys() == std::vector<std::string>{
                           "state.0.func_evals", "state.0.n_iter", "state.0.d", "state.0.t", "state.0.old_dirs.0",
                           "state.0.old_dirs.1", "state.0.old_dirs.2", "state.0.old_stps.0", "state.0.old_stps.1",
                           "state.0.old_stps.2", "state.0.ro.0", "state.0.ro.1", "state.0.ro.2", "state.0.H_diag",
                           "state.0.prev_flat_grad", "state.0.prev_loss", "param_groups.0.lr",
                           "param_groups.0.max_iter", "param_groups.0.max_eval", "param_groups.0.tolerance_grad",
                           "param_groups.0.tolerance_change", "param_groups.0.history_size",
                           "param_groups.0.line_search_fn"});
    CHECK(sd.at("state.0.n_iter").item() == 7);  // libtorch's numbers, in kTorchDouble[2]
    CHECK(sd.at("state.0.func_evals").item() == 10);
    CHECK(sd.at("state.0.d").shape() == tg::Shape{2});
    CHECK(sd.at("state.0.t").dim() == 0);
    CHECK(sd.at("param_groups.0.line_search_fn").item() == 1);
    CHECK(sd.at("param_groups.0.max_eval").item() == 5);
  }
  SECTION("double, no line search, two parameters") {
    round_trip(0.0, Problem::quadratic, LBFGSOptions(0.5).max_iter(4).history_size(3));
  }
  SECTION("float, strong_wolfe") {
    round_trip(0.0f, Problem::quadratic, LBFGSOptions().max_iter(3).history_size(2).line_search_fn(LineSearch::strong_wolfe));
  }
}

TEST_CASE("LBFGS: options default to PyTorch's; max_eval is fixed at construction", "[lbfgs]") {
  const LBFGSOptions o;
  CHECK(o.lr() == 1);
  CHECK(o.max_iter() == 20);
  CHECK(o.max_eval() == 25);
  CHECK(o.tolerance_grad() == 1e-7);
  CHECK(o.tolerance_change() == 1e-9);
  CHECK(o.history_size() == 100);
  CHECK(o.line_search_fn() == LineSearch::none);
  CHECK(LBFGSOptions().max_iter(7).max_eval() == 8);
  CHECK(LBFGSOptions().max_iter(7).max_eval(3).max_eval() == 3);

  auto w = tg::zeros<double>({2}, tg::requires_grad());
  LBFGS<double> opt({w}, LBFGSOptions().max_iter(8));
  opt.options(0).max_iter(40);
  CHECK(opt.options(0).max_eval() == 10);  // as PyTorch: computed once
  CHECK_FALSE(opt.has_momentum(0));
  opt.set_lr(0, 0.5);  // what schedulers call
  CHECK(opt.lr(0) == 0.5);
  CHECK_THROWS_WITH(LBFGS<double>({w}, LBFGSOptions().history_size(0)),
                    TG_CONTAINS("LBFGS: invalid history_size 0 (must be >= 1)"));
  CHECK_THROWS_WITH(LBFGS<double>({w}, LBFGSOptions(-1)), TG_CONTAINS("LBFGS: invalid learning rate -1"));
}

TEST_CASE("LBFGS: errors name the problem", "[lbfgs]") {
  auto a = tg::ones<double>({2}, tg::requires_grad());
  auto b = tg::ones<double>({3}, tg::requires_grad());
  int evals = 0;

  SECTION("parameter groups") {
    CHECK_THROWS_AS(LBFGS<double>({{{a}, LBFGSOptions()}, {{b}, LBFGSOptions()}}), tg::ValueError);
    CHECK_THROWS_WITH(LBFGS<double>({{{a}, LBFGSOptions()}, {{b}, LBFGSOptions(0.1)}}),
                      TG_CONTAINS("LBFGS doesn't support per-parameter options (parameter groups): got 2 groups"));
    LBFGS<double> opt({{{a}, LBFGSOptions()}});  // one group is fine
    CHECK_THROWS_WITH(opt.add_param_group({{b}, LBFGSOptions()}), TG_CONTAINS("parameter groups"));
    CHECK(opt.num_param_groups() == 1);
    CHECK_THROWS_WITH(LBFGS<double>({a, a}), TG_CONTAINS("LBFGS: parameter 1 of group 0 (shape [2]) appears more than once"));
    CHECK_THROWS_WITH(LBFGS<double>(std::vector<tg::Tensor<double>>{}), TG_CONTAINS("LBFGS: got no parameters"));
  }
  SECTION("no closure") {
    LBFGS<double> opt({a});
    a.set_grad(tg::ones<double>({2}));
    CHECK_THROWS_AS(opt.step(), tg::ValueError);
    CHECK_THROWS_WITH(opt.step(), TG_CONTAINS("LBFGS::step: L-BFGS re-evaluates the loss several times per step, so it needs a closure"));
    CHECK_THROWS_WITH(opt.step(std::function<tg::Tensor<double>()>()), TG_CONTAINS("needs a closure"));
    CHECK(a.to_vector() == std::vector<double>{1, 1});
  }
  SECTION("a closure that does not return one value") {
    LBFGS<double> opt({a});
    CHECK_THROWS_WITH(opt.step([&] {
      opt.zero_grad();
      auto l = a * a;
      l.sum().backward();
      return l;
    }),
                      TG_CONTAINS("the closure must return the loss, one value; it returned a tensor of shape [2]"));
    CHECK_THROWS_WITH(opt.step([] { return tg::Tensor<double>(); }), TG_CONTAINS("the closure returned an undefined tensor"));
    CHECK(opt.func_evals() == 0);
    CHECK(a.to_vector() == std::vector<double>{1, 1});
  }
  SECTION("malformed state dicts load nothing") {
    auto source_params = start<double>(Problem::quadratic);
    LBFGS<double> source(source_params, LBFGSOptions().max_iter(3).history_size(2));
    for (int s = 0; s < 2; ++s) source.step(counting_closure(source, [&] { return quadratic(source_params); }, evals));
    const auto sd = source.state_dict();
    REQUIRE(sd.contains("state.0.old_dirs.1"));

    auto target_params = start<double>(Problem::quadratic);
    LBFGS<double> target(target_params, LBFGSOptions(0.5));
    auto refused = [&](const tg::StateDict<double>& bad, const std::string& why) {
      INFO(why);
      CHECK_THROWS_WITH(target.load_state_dict(bad), TG_CONTAINS(why) && TG_CONTAINS("nothing was loaded"));
      CHECK(target.func_evals() == 0);
      CHECK(target.lr(0) == 0.5);
      CHECK(target.options(0).max_iter() == 20);
    };
    auto with = [&](const std::string& key, const tg::Tensor<double>& t) {
      auto bad = sd;
      bad.set(key, t);
      return bad;
    };
    auto without = [&](const std::string& key) {
      tg::StateDict<double> bad;
      for (const auto& [k, t] : sd)
        if (k != key) bad.insert(k, t);
      return bad;
    };
    refused(with("state.0.d", tg::zeros<double>({2})),
            "\"state.0.d\" has shape [2]; LBFGS views the parameters as one vector of 5 elements");
    refused(with("state.0.old_stps.1", tg::zeros<double>({5, 1})), "\"state.0.old_stps.1\" has shape [5, 1]");
    refused(with("state.0.t", tg::zeros<double>({2})), "\"state.0.t\" must hold one value, got shape [2]");
    refused(with("state.0.n_iter", tg::scalar_tensor<double>(2.5)), "\"state.0.n_iter\" must be a count");
    refused(with("param_groups.0.history_size", tg::scalar_tensor<double>(1)), "the history holds 2 pairs, more than history_size 1");
    refused(with("param_groups.0.line_search_fn", tg::scalar_tensor<double>(2)), "must be 0 (none) or 1 (strong_wolfe)");
    refused(with("param_groups.0.max_iter", tg::scalar_tensor<double>(0)), "invalid max_iter 0 (must be >= 1)");
    refused(with("state.0.ro.2", tg::scalar_tensor<double>(1)), "unexpected key \"state.0.ro.2\"");
    refused(with("momentum", tg::scalar_tensor<double>(1)), "unexpected key \"momentum\"");
    refused(without("state.0.old_stps.0"), "missing key \"state.0.old_stps.0\"");
    refused(without("state.0.prev_flat_grad"), "missing key \"state.0.prev_flat_grad\"");
    refused(without("state.0.func_evals"), "missing key \"state.0.func_evals\"");
    refused(without("param_groups.0.tolerance_change"), "missing key \"param_groups.0.tolerance_change\"");
    // Another optimizer's state dict.
    optim::Adam<double> adam(target_params);
    refused(adam.state_dict(), "missing key \"param_groups.0.max_iter\"");
    // The good one loads.
    target.load_state_dict(sd);
    CHECK(target.func_evals() == source.func_evals());
    CHECK(target.options(0).max_iter() == 3);
  }
}

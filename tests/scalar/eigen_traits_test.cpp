// Eigen::NumTraits of Var and Dual: real, signed scalars with their inner type's limits.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <tapegrad/scalar.hpp>

namespace scalar_eigen_traits_test {

namespace tg = tapegrad;

namespace {
template <typename S, typename T>
void check_limits_of_inner_type() {
  using Traits = Eigen::NumTraits<S>;
  static_assert(!Traits::IsComplex && !Traits::IsInteger && Traits::IsSigned && Traits::RequireInitialization);
  static_assert(std::is_same_v<typename Traits::Real, S>);
  CHECK(Traits::epsilon().val() == std::numeric_limits<T>::epsilon());
  CHECK(Traits::highest().val() == std::numeric_limits<T>::max());
  CHECK(Traits::lowest().val() == std::numeric_limits<T>::lowest());
  CHECK(Traits::infinity().val() == std::numeric_limits<T>::infinity());
  CHECK(std::isnan(Traits::quiet_NaN().val()));
  CHECK(Traits::dummy_precision().val() == Eigen::NumTraits<T>::dummy_precision());
  CHECK(Traits::digits() == std::numeric_limits<T>::digits);
  CHECK(Traits::digits10() == std::numeric_limits<T>::digits10);
}
}  // namespace

TEST_CASE("NumTraits of Var and Dual carry the limits of their inner type", "[eigen_traits]") {
  check_limits_of_inner_type<tg::Var<double>, double>();
  check_limits_of_inner_type<tg::Var<float>, float>();
  check_limits_of_inner_type<tg::Dual<double>, double>();
  check_limits_of_inner_type<tg::Dual<float>, float>();
  // The limits are constants: making them records nothing on the tape.
  CHECK(Eigen::NumTraits<tg::Var<double>>::epsilon().is_constant());
}

TEST_CASE("NumTraits costs: a Var or Dual operation costs more than its inner type's", "[eigen_traits]") {
  using D = Eigen::NumTraits<double>;
  STATIC_REQUIRE(Eigen::NumTraits<tg::Var<double>>::MulCost == 4 * D::MulCost);
  STATIC_REQUIRE(Eigen::NumTraits<tg::Dual<double>>::MulCost == 3 * D::MulCost + D::AddCost);
  STATIC_REQUIRE(Eigen::NumTraits<tg::Dual<tg::Dual<double>>>::ReadCost == 4 * D::ReadCost);
}

}  // namespace scalar_eigen_traits_test

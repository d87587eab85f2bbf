#pragma once
// Eigen::NumTraits for the scalar AD types (tg::Var<T>, tg::Dual<T>): each is a real (not
// complex), signed, non-integer scalar whose precision and limits are those of its inner
// type T. Only the cost estimates differ; Eigen uses them to decide how to unroll and
// whether to evaluate nested expressions into temporaries.

#include <Eigen/Core>

namespace tapegrad::detail {

template <typename S, typename T, int ReadCostOfS, int AddCostOfS, int MulCostOfS>
struct RealScalarNumTraits : Eigen::GenericNumTraits<S> {
  using Real = S;
  using NonInteger = S;
  using Nested = S;
  using Literal = S;
  enum {
    IsComplex = 0,
    IsInteger = 0,
    IsSigned = 1,
    RequireInitialization = 1,
    ReadCost = ReadCostOfS,
    AddCost = AddCostOfS,
    MulCost = MulCostOfS
  };
  static S epsilon() { return S(Eigen::NumTraits<T>::epsilon()); }
  static S dummy_precision() { return S(Eigen::NumTraits<T>::dummy_precision()); }
  static S highest() { return S(Eigen::NumTraits<T>::highest()); }
  static S lowest() { return S(Eigen::NumTraits<T>::lowest()); }
  static S infinity() { return S(Eigen::NumTraits<T>::infinity()); }
  static S quiet_NaN() { return S(Eigen::NumTraits<T>::quiet_NaN()); }
  static int digits() { return Eigen::NumTraits<T>::digits(); }
  static int digits10() { return Eigen::NumTraits<T>::digits10(); }
};

}  // namespace tapegrad::detail

#pragma once
// Scalar automatic differentiation: tg::Var<T> (reverse mode on a thread-local arena
// tape), tg::Dual<T> (forward mode), Eigen matrices of both, and gradient/jacobian/
// derivative helpers returning Eigen types.
// Independent of the tensor library: includes only the standard library and Eigen.

#include "scalar/tape.hpp"       // Tape<T>, TapeScope, tg::tape()
#include "scalar/var.hpp"        // Var<T>, arithmetic, comparisons, cmath functions
#include "scalar/eigen.hpp"      // Eigen::NumTraits<Var<T>>, tg::variables / values / grads
#include "scalar/functions.hpp"  // tg::gradient, tg::value_and_gradient, tg::jacobian
#include "scalar/dual.hpp"            // Dual<T> forward mode (nests: Dual<Dual<T>>, Dual<Var<T>>)
#include "scalar/dual_functions.hpp"  // tg::derivative, second_derivative, directional_derivative, forward_jacobian

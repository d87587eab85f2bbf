#pragma once
// tapegrad: header-only reverse-mode automatic differentiation on Eigen.
//
//   #include <tapegrad/tapegrad.hpp>
//   namespace tg = tapegrad;

#include "core.hpp"
#include "autograd/gradcheck.hpp"

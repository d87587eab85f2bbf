#pragma once
// tapegrad: header-only reverse-mode automatic differentiation on Eigen.
//
//   #include <tapegrad/tapegrad.hpp>
//   namespace tg = tapegrad;
//
// core.hpp alone has tensors, the engine and the core ops (the smallest compile
// time); this header adds the rest of the op library and the autograd tools.

#include "core.hpp"
#include "ops/compare.hpp"
#include "ops/indexing.hpp"
#include "ops/activation.hpp"
#include "ops/softmax.hpp"
#include "ops/cumulative.hpp"
#include "ops/decomposition.hpp"
#include "ops/conv.hpp"
#include "ops/pool.hpp"
#include "ops/normalization.hpp"
#include "ops/nn.hpp"
#include "ops/loss.hpp"
#include "autograd/gradcheck.hpp"
#include "autograd/functional.hpp"
#include "autograd/dot.hpp"
#include "autograd/checkpoint.hpp"
#include "autograd/tape.hpp"
#include "autograd/function.hpp"

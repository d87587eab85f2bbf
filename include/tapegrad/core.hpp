#pragma once
// tapegrad core: tensors, the graph, the engine and the core ops. Include this for
// the smallest compile time; tapegrad.hpp adds everything else.
//
// It also brings every op header that defines one of Tensor's methods (comparison,
// indexing, softmax, cumulative, decompositions), so that each method a program can
// call links: x.softmax(0) with core.hpp alone once compiled and then failed to link.

#include "version.hpp"
#include "core/error.hpp"
#include "core/shape.hpp"
#include "core/storage.hpp"
#include "core/grad_mode.hpp"
#include "core/anomaly.hpp"
#include "core/tensor.hpp"
#include "core/node.hpp"
#include "core/kernels.hpp"
#include "core/factory.hpp"
#include "ops/arithmetic.hpp"
#include "ops/unary.hpp"
#include "ops/shape.hpp"
#include "ops/reduction.hpp"
#include "ops/linalg.hpp"
#include "ops/inplace.hpp"
#include "core/hooks.hpp"
#include "core/engine.hpp"
#include "core/tensor_methods.hpp"
#include "core/print.hpp"
// The op headers that define the rest of Tensor's methods (each includes this file
// first; #pragma once makes that a no-op here).
#include "ops/compare.hpp"
#include "ops/indexing.hpp"
#include "ops/softmax.hpp"
#include "ops/cumulative.hpp"
#include "ops/decomposition.hpp"

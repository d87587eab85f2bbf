#pragma once
// tapegrad core: tensors, the graph, the engine and the core ops. Include this for
// the smallest compile time; tapegrad.hpp adds everything else.

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

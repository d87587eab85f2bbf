#pragma once
// tg::nn: modules (layers with a parameter registry), containers, initializers and
// gradient utilities. Needs only Eigen, like the tensor headers; the tensor and autograd
// headers never include this one.
//
//   #include <tapegrad/nn.hpp>
//   #include <tapegrad/optim.hpp>
//   See docs/training.md for a complete training loop.

#include "tapegrad.hpp"
#include "nn/module.hpp"
#include "nn/init.hpp"
#include "nn/utils.hpp"
#include "nn/container.hpp"
#include "nn/linear.hpp"
#include "nn/embedding.hpp"
#include "nn/conv.hpp"
#include "nn/pooling.hpp"
#include "nn/normalization.hpp"
#include "nn/dropout.hpp"
#include "nn/activation.hpp"
#include "nn/transformer.hpp"
#include "nn/rnn.hpp"

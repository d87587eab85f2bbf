#pragma once
// The precompiled header of the test executables: what nearly every test file includes
// (Catch2 and the whole library, 6 s to parse), compiled once per build and reused by
// every test target with the same flags (tests/CMakeLists.txt). Measured on the 2-core
// machine: the clang sanitizer build of the tests in 229 s instead of 261 s; g++ -O2
// gains nothing measurable (it reads back a 225 MB image, and codegen dominates).
#include "test_util.hpp"
#include <tapegrad/nn.hpp>
#include <tapegrad/optim.hpp>

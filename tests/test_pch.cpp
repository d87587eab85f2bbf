// The target that compiles tests/test_pch.hpp once; the test executables reuse it.

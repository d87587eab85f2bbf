// The Catch2 2.x main, compiled once. With Catch2 3.x the library provides it.
#ifndef TAPEGRAD_CATCH3
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#endif

#pragma once
// convmat: convolution layers as explicit sparse matrices. One umbrella per layer of the library,
// in the order of the data flow:
//   core (spec → pattern → W → products, loops) → solve (least squares) and analysis → oracle
#include "convmat/analysis.hpp"
#include "convmat/core.hpp"
#include "convmat/oracle.hpp"
#include "convmat/solve.hpp"

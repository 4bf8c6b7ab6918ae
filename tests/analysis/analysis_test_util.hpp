#pragma once
// Helpers shared by the analysis tests (spectrum, pseudo-inverse, kernel matrix).

#include <random>
#include <vector>

#include "convmat/core/conv_spec.hpp"

namespace convmat::test {

// n standard normal values: real data where exact integer arithmetic is not the point.
inline std::vector<double> random_real(Index n, std::mt19937_64& engine) {
  std::normal_distribution<double> normal;
  std::vector<double> v(static_cast<std::size_t>(n));
  for (double& x : v) x = normal(engine);
  return v;
}

// The circular difference y[i] = x[i] − x[i+1 mod n] (kernel [1, −1], pad_end 1, circular):
// same size, null space = the constants, singular values 2|sin(πf/n)|, f = 0 … n − 1.
inline ConvSpec circular_difference(Index n) {
  ConvParams p;
  p.input_size = {n};
  p.kernel_size = {2};
  p.pad_begin = {0};
  p.pad_end = {1};
  p.padding_mode = PaddingMode::circular;
  return ConvSpec(p);
}

}  // namespace convmat::test

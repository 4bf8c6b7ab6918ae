#pragma once
// What the benchmark programs share (convmat_bench and convmat_mpi_bench): option parsing, the
// layer from PyTorch-style arguments, the integer-valued data formulas of bench/baselines.py,
// checksums, JSON lines, clocks and memory.
//   weight[i] = (37 i mod 7) − 3,  x[j] = (11 j mod 5) − 2  (j over the whole batch)

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "convmat/core/conv_spec.hpp"

namespace convmat::bench {

inline double weight_value(Index i) { return double((37 * i) % 7 - 3); }
inline double input_value(Index j) { return double((11 * j) % 5 - 2); }

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Peak resident memory of this process so far, bytes (Linux reports KiB).
inline double peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) * 1024.0;
}

struct Args {
  std::string command;
  std::map<std::string, std::string> opt;

  std::string get(const std::string& key, const std::string& fallback = "") const {
    auto it = opt.find(key);
    if (it != opt.end()) return it->second;
    if (fallback.empty()) throw std::invalid_argument("missing option --" + key);
    return fallback;
  }
  Index integer(const std::string& key, const std::string& fallback = "") const {
    return std::stoll(get(key, fallback));
  }
};

// argv = PROGRAM COMMAND [--option value]...; `usage` is the message when the command is missing.
inline Args parse(int argc, char** argv, const char* usage) {
  if (argc < 2) throw std::invalid_argument(usage);
  Args a;
  a.command = argv[1];
  for (int i = 2; i < argc; i += 2) {
    const std::string key = argv[i];
    if (key.rfind("--", 0) != 0 || i + 1 >= argc) {
      throw std::invalid_argument("expected --option value, got '" + key + "'");
    }
    a.opt[key.substr(2)] = argv[i + 1];
  }
  return a;
}

inline Dims dims(const std::string& s, char separator = 'x') {  // "56" or "56x56" (or "1,2")
  Dims d;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, separator)) d.push_back(std::stoll(part));
  return d;
}

inline ConvSpec layer(const Args& a) {
  ConvParams p;
  p.kind = a.get("kind") == "transposed" ? ConvKind::transposed : ConvKind::convolution;
  p.in_channels = a.integer("in");
  p.out_channels = a.integer("out");
  p.input_size = dims(a.get("size"));
  p.kernel_size = dims(a.get("kernel"));
  p.stride = dims(a.get("stride", "1"));
  p.pad_begin = dims(a.get("pad", "0"));
  if (p.kind == ConvKind::transposed) p.output_padding = dims(a.get("output-padding", "0"));
  return ConvSpec(p);
}

inline std::string json_list(const std::vector<double>& v) {
  std::ostringstream o;
  o.precision(9);
  o << '[';
  for (std::size_t i = 0; i < v.size(); ++i) o << (i ? "," : "") << v[i];
  return o.str() + ']';
}

// [Σ y[i]·(i mod 3 + 1), Σ |y[i]|] as JSON: the first catches misplaced entries, the second
// cancellations.
template <class Scalar>
std::string checksum(const Scalar* y, Index n) {
  double weighted = 0, l1 = 0;
  for (Index i = 0; i < n; ++i) {
    weighted += static_cast<double>(y[i]) * static_cast<double>(i % 3 + 1);
    l1 += std::abs(static_cast<double>(y[i]));
  }
  return json_list({weighted, l1});
}

// One result line: {"command": ..., key: value, ...}; values are already JSON.
inline void emit(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::ostringstream o;
  o.precision(12);
  o << '{';
  for (std::size_t i = 0; i < fields.size(); ++i) {
    o << (i ? ", " : "") << '"' << fields[i].first << "\": " << fields[i].second;
  }
  std::cout << o.str() << "}" << std::endl;
}

inline std::string quoted(const std::string& s) { return '"' + s + '"'; }

inline std::string num(double v) {
  std::ostringstream o;
  o.precision(12);
  o << v;
  return o.str();
}

template <class Scalar>
std::vector<Scalar> weight_data(Index n) {
  std::vector<Scalar> w(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i)
    w[static_cast<std::size_t>(i)] = static_cast<Scalar>(weight_value(i));
  return w;
}

}  // namespace convmat::bench

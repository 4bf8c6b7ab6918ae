// Measures every least-squares method on the deconvolution problem of issue 3 (not a test):
// a 128×128 input, a 7×7 Gaussian kernel (σ given, default 1), no padding — W is 14884 × 16384 —
// and a consistent right-hand side y = W x for a uniform random image x in [0, 1) (splitmix64,
// seed 3, so that measure_deconvolution_scipy.py can draw the same x for a SciPy baseline).
//
//   build/tests/measure_deconvolution [sigma] [cholesky_damp]
//
// Prints, per method, the wall time (factorization included) and the relative residual
// ‖y − W x̂‖/‖y‖ recomputed from the solution; LSQR and LSMR are run with atol = 0 and btol equal
// to the target relative residual (1e-8, 1e-10). Cholesky uses the minimum-norm form
// x = Wᵀ(W Wᵀ + λ²I)⁻¹y with λ = cholesky_damp (default 0).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <vector>

#include "convmat/deconvolve.hpp"

using namespace convmat;

namespace {

// (splitmix64(state) >> 11)·2⁻⁵³: uniform in [0, 1), easy to reproduce in Python.
double splitmix64_uniform(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return double(z >> 11) * 0x1.0p-53;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void print(const char* name, double seconds, const LsqInfo& info) {
  std::printf("%-28s %9.3f s  %-22s rel. residual %.3e  iterations %6lld  rank %lld\n", name,
              seconds, to_string(info.status).c_str(), info.relative_residual,
              static_cast<long long>(info.iterations), static_cast<long long>(info.rank));
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // one line per method as it finishes
  const double sigma = argc > 1 ? std::atof(argv[1]) : 1.0;
  const double cholesky_damp = argc > 2 ? std::atof(argv[2]) : 0.0;

  // The 7×7 Gaussian, normalized to sum 1.
  std::vector<double> kernel(49);
  double sum = 0;
  for (int i = 0; i < 7; ++i) {
    for (int j = 0; j < 7; ++j) {
      const double d2 = double((i - 3) * (i - 3) + (j - 3) * (j - 3));
      sum += kernel[std::size_t(i * 7 + j)] = std::exp(-d2 / (2 * sigma * sigma));
    }
  }
  for (double& k : kernel) k /= sum;

  const ConvSpec spec = ConvSpec::convolution(1, 1, {128, 128}, {7, 7});
  const ConvMatrix<double> w(spec, kernel.data());
  std::uint64_t state = 3;
  Eigen::VectorXd x(w.cols());
  for (Index i = 0; i < x.size(); ++i) x(i) = splitmix64_uniform(state);
  const Eigen::VectorXd y = w.apply(x);
  std::printf("W: %lld x %lld, %lld nonzeros; 7x7 Gaussian, sigma = %g; consistent y = W x\n",
              static_cast<long long>(w.rows()), static_cast<long long>(w.cols()),
              static_cast<long long>(w.nnz()), sigma);

  {
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = deconvolve(w, y, LsqMethod::qr);
    print("qr (minimum norm)", seconds_since(t0), r.info);
  }
  {
    LsqOptions o;
    o.damp = cholesky_damp;
    o.cholesky_form = CholeskyForm::min_norm;
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = deconvolve(w, y, LsqMethod::cholesky, o);
    char name[64];
    std::snprintf(name, sizeof name, "cholesky (min_norm, λ=%g)", cholesky_damp);
    print(name, seconds_since(t0), r.info);
    if (r.info.status != LsqStatus::success) std::printf("  %s\n", r.info.message.c_str());
  }
  for (double target : {1e-8, 1e-10}) {
    for (LsqMethod method : {LsqMethod::lsqr, LsqMethod::lsmr}) {
      LsqOptions o;
      o.atol = 0;
      o.btol = target;
      o.conlim = 0;
      o.iteration_limit = 200000;
      // The progress hook: a line on stderr every 5000 iterations.
      o.progress = [](const LsqProgress& p) {
        if (p.iteration % 5000 == 0) {
          std::fprintf(stderr, "  %s: iteration %lld, residual estimate %.3e\n",
                       to_string(p.method).c_str(), static_cast<long long>(p.iteration),
                       p.relative_residual);
        }
        return true;
      };
      const auto t0 = std::chrono::steady_clock::now();
      const auto r = deconvolve(w, y, method, o);
      char name[64];
      std::snprintf(name, sizeof name, "%s (btol %g)", to_string(method).c_str(), target);
      print(name, seconds_since(t0), r.info);
      if (r.info.status != LsqStatus::success) std::printf("  %s\n", r.info.message.c_str());
    }
  }
}

// `convmat demo`: the seeds' worked examples, each computed by W and by the direct loops, printed
// small enough to read, with a verdict per example.

#include "demo.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "convmat/analysis/upsampling.hpp"
#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/loops.hpp"

namespace convmat::cli {

namespace {

using Values = std::vector<double>;

void print_matrix(const char* title, const double* v, Index rows, Index cols,
                  const char* indent = "    ") {
  std::printf("  %s (%lldx%lld)\n", title, static_cast<long long>(rows),
              static_cast<long long>(cols));
  for (Index r = 0; r < rows; ++r) {
    std::printf("%s[", indent);
    for (Index c = 0; c < cols; ++c) std::printf("%s%6g", c ? " " : "", v[r * cols + c]);
    std::printf("]\n");
  }
}

struct Tally {
  int passed = 0, failed = 0;
  void verdict(const std::string& name, bool ok) {
    std::printf("  verdict: %s — %s\n\n", ok ? "ok" : "MISMATCH", name.c_str());
    (ok ? passed : failed)++;
  }
};

// One layer on one sample by W and by the loops; prints both and compares with the seed.
bool run_layer(const ConvSpec& spec, const Values& x, const Values& weight,
               const Values& expected) {
  const ConvMatrix<double> w(spec, weight.data());
  Values by_w(static_cast<std::size_t>(spec.output_numel())), by_loops(by_w.size());
  w.apply(x.data(), by_w.data());
  direct_forward(spec, x.data(), 1, weight.data(), static_cast<const double*>(nullptr),
                 by_loops.data());
  const Index cols = spec.output_size().back();
  const Index rows = spec.output_numel() / cols;
  std::printf("  layer: %s\n", spec.to_string().c_str());
  print_matrix("by W", by_w.data(), rows, cols);
  print_matrix("by the loops", by_loops.data(), rows, cols);
  print_matrix("in the seed", expected.data(), rows, cols);
  return by_w == by_loops && by_w == expected;
}

void seed_000(Tally& t) {
  std::printf("== seed 000: transposed convolution, kernel2matrix and 'transposed' ==\n\n");
  const Values x{0, 1, 2, 3}, k{0, 1, 2, 3};
  std::printf("trans_conv(X, K), X = K = [[0, 1], [2, 3]]\n");
  t.verdict("trans_conv 2x2 * 2x2 -> 3x3", run_layer(ConvSpec::transposed(1, 1, {2, 2}, {2, 2}), x,
                                                     k, {0, 0, 1, 0, 4, 6, 4, 12, 9}));
  std::printf("nn.ConvTranspose2d(1, 1, kernel_size=2, padding=1)\n");
  t.verdict("padding crops the output: [[4]]",
            run_layer(ConvSpec::transposed(1, 1, {2, 2}, {2, 2}, {1}, {1}), x, k, {4}));
  std::printf("nn.ConvTranspose2d(1, 1, kernel_size=2, stride=2)\n");
  t.verdict("stride spreads the output: 4x4",
            run_layer(ConvSpec::transposed(1, 1, {2, 2}, {2, 2}, {2}), x, k,
                      {0, 0, 0, 1, 0, 0, 2, 3, 0, 2, 0, 3, 4, 6, 6, 9}));

  std::printf("kernel2matrix(K), K = [[1, 2], [3, 4]], X = arange(9).reshape(3, 3)\n");
  const ConvSpec conv = ConvSpec::convolution(1, 1, {3, 3}, {2, 2});
  const Values k2{1, 2, 3, 4};
  const ConvMatrix<double> w(conv, k2.data());
  const Eigen::MatrixXd dense(w.matrix());
  Values wd(static_cast<std::size_t>(dense.size()));
  for (Index r = 0; r < dense.rows(); ++r)
    for (Index c = 0; c < dense.cols(); ++c)
      wd[static_cast<std::size_t>(r * dense.cols() + c)] = dense(r, c);
  print_matrix("W", wd.data(), dense.rows(), dense.cols());
  const Values seed_w{1, 2, 0, 3, 4, 0, 0, 0, 0, 0, 1, 2, 0, 3, 4, 0, 0, 0,
                      0, 0, 0, 1, 2, 0, 3, 4, 0, 0, 0, 0, 0, 1, 2, 0, 3, 4};
  const Values x9{0, 1, 2, 3, 4, 5, 6, 7, 8};
  const bool w_ok = wd == seed_w;
  const bool y_ok = run_layer(conv, x9, k2, {27, 37, 57, 67});
  t.verdict("W is the seed's 4x9 matrix and W @ vec(X) = [[27, 37], [57, 67]]", w_ok && y_ok);

  std::printf("W^T @ vec(Y) against trans_conv(Y, K)\n");
  const Values y{27, 37, 57, 67};
  Values wty(9), splat(9);
  w.apply_adjoint(y.data(), wty.data());
  direct_forward(ConvSpec::transposed(1, 1, {2, 2}, {2, 2}), y.data(), 1, k2.data(),
                 static_cast<const double*>(nullptr), splat.data());
  print_matrix("W^T @ vec(Y)", wty.data(), 3, 3);
  print_matrix("trans_conv(Y, K) by the loops", splat.data(), 3, 3);
  t.verdict(
      "transposed convolution is multiplication by W^T: that is where 'transposed' comes from",
      wty == splat);

  std::printf(
      "conv = nn.Conv2d(10, 20, kernel_size=5, padding=2, stride=3); tconv = "
      "nn.ConvTranspose2d(20, 10, same)\n");
  const ConvSpec c = ConvSpec::convolution(10, 20, {16, 16}, {5, 5}, {3}, {2});
  const ConvSpec tc = ConvSpec::transposed(20, 10, c.output_size(), {5, 5}, {3}, {2});
  std::printf("  conv:  (1, 10, 16, 16) -> (1, %s)\n", dims_to_string(c.output_shape()).c_str());
  std::printf("  tconv: (1, %s) -> (1, %s)\n", dims_to_string(tc.input_shape()).c_str(),
              dims_to_string(tc.output_shape()).c_str());
  t.verdict("tconv(conv(X)).shape == X.shape", tc.output_shape() == c.input_shape());
}

void seed_001(Tally& t) {
  std::printf("== seed 001: Conv2d and ConvTranspose2d shapes ==\n\n");
  struct Case {
    const char* call;
    bool transposed;
    Index n, k, s, p, expected;
  };
  const Case cases[] = {
      {"nn.Conv2d(1,1,3)", false, 4, 3, 1, 0, 2},
      {"nn.Conv2d(1,1,4,padding=2)", false, 5, 4, 1, 2, 6},
      {"nn.ConvTranspose2d(1,1,3)", true, 2, 3, 1, 0, 4},
      {"nn.ConvTranspose2d(1,1,4,padding=2)", true, 6, 4, 1, 2, 5},
      {"nn.ConvTranspose2d(1,1,3,padding=2)", true, 7, 3, 1, 2, 5},
      {"nn.ConvTranspose2d(1,1,3,stride=2,padding=0)", true, 2, 3, 2, 0, 5},
      {"nn.ConvTranspose2d(1,1,3,stride=2,padding=1)", true, 3, 3, 2, 1, 5},
  };
  for (const Case& c : cases) {
    const ConvSpec spec = c.transposed
                              ? ConvSpec::transposed(1, 1, {c.n, c.n}, {c.k, c.k}, {c.s}, {c.p})
                              : ConvSpec::convolution(1, 1, {c.n, c.n}, {c.k, c.k}, {c.s}, {c.p});
    const Index o = spec.output_size()[0];
    std::printf(
        "  %-44s [%lld,%lld] -> [%lld,%lld]  (seed: [%lld,%lld])  W is %lldx%lld with %lld "
        "nonzeros\n",
        c.call, static_cast<long long>(c.n), static_cast<long long>(c.n), static_cast<long long>(o),
        static_cast<long long>(o), static_cast<long long>(c.expected),
        static_cast<long long>(c.expected), static_cast<long long>(spec.output_numel()),
        static_cast<long long>(spec.input_numel()),
        static_cast<long long>(ConvPattern(spec).nnz()));
    t.verdict(c.call, o == c.expected && spec.output_size()[1] == c.expected);
  }
}

void seed_002(Tally& t) {
  std::printf(
      "== seed 002: ConvTranspose2d as pixel splatting (kernel [[1,2],[3,4]], stride 2) ==\n\n");
  const ConvSpec spec = ConvSpec::transposed(1, 1, {2, 2}, {2, 2}, {2});
  const Values k{1, 2, 3, 4}, x{5, 6, 7, 8};
  const Values steps[] = {
      {5, 10, 0, 0, 15, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
      {5, 10, 6, 12, 15, 20, 18, 24, 0, 0, 0, 0, 0, 0, 0, 0},
      {5, 10, 6, 12, 15, 20, 18, 24, 7, 14, 0, 0, 21, 28, 0, 0},
      {5, 10, 6, 12, 15, 20, 18, 24, 7, 14, 8, 16, 21, 28, 24, 32},
  };
  for (int j = 1; j <= 4; ++j) {
    Values first(x);
    for (int i = j; i < 4; ++i) first[static_cast<std::size_t>(i)] = 0;
    std::printf("step %d: X[%d,%d] = %g splats %g x K at (%d, %d)\n", j + 1, (j - 1) / 2,
                (j - 1) % 2, x[static_cast<std::size_t>(j - 1)], x[static_cast<std::size_t>(j - 1)],
                (j - 1) / 2 * 2, (j - 1) % 2 * 2);
    t.verdict("splat of the first " + std::to_string(j) + " pixel(s)",
              run_layer(spec, first, k, steps[j - 1]));
  }

  // The same input through Upsample(scale_factor=2, mode='nearest'): the matrix U (16x4) of
  // upsampling.hpp, U @ vec(X).
  std::printf(
      "nn.Upsample(scale_factor=2, mode='nearest') on X = [[5, 6], [7, 8]], as a 16x4 matrix U\n");
  UpsamplingParams nearest;
  nearest.input_size = {2, 2};
  nearest.scale_factor = {2.0};
  const auto u = upsampling_matrix<double>(UpsamplingSpec(nearest));
  const Eigen::VectorXd up = u * Eigen::Map<const Eigen::VectorXd>(x.data(), 4);
  const Values seed_nearest{5, 5, 6, 6, 5, 5, 6, 6, 7, 7, 8, 8, 7, 7, 8, 8};
  print_matrix("U @ vec(X)", up.data(), 4, 4);
  print_matrix("in the seed", seed_nearest.data(), 4, 4);
  t.verdict(
      "nearest upsampling is a 0/1 matrix, exactly the seed's 4x4 (not the transposed "
      "convolution's)",
      Values(up.data(), up.data() + up.size()) == seed_nearest);

  // nn.UpsamplingBilinear2d(scale_factor=2) = bilinear with align_corners=True, 3x3 -> 6x6. The
  // exact values are the rationals (5 + 6r + 2c)/5; the seed prints torch's float32 to 4
  // decimals. Compared in float32, as torch computed them: within 4 float32 ulp of the seed.
  std::printf(
      "nn.UpsamplingBilinear2d(scale_factor=2) on torch.arange(1, 10).view(1, 1, 3, 3), as a 36x9 "
      "matrix U\n");
  UpsamplingParams bilinear;
  bilinear.input_size = {3, 3};
  bilinear.scale_factor = {2.0};
  bilinear.mode = Interpolation::linear;
  bilinear.align_corners = true;
  const auto ub = upsampling_matrix<float>(UpsamplingSpec(bilinear));
  const std::vector<float> x9{1, 2, 3, 4, 5, 6, 7, 8, 9};
  const Eigen::VectorXf yb = ub * Eigen::Map<const Eigen::VectorXf>(x9.data(), 9);
  const Values seed_bilinear{1.0, 1.4, 1.8, 2.2, 2.6, 3.0, 2.2, 2.6, 3.0, 3.4, 3.8, 4.2,
                             3.4, 3.8, 4.2, 4.6, 5.0, 5.4, 4.6, 5.0, 5.4, 5.8, 6.2, 6.6,
                             5.8, 6.2, 6.6, 7.0, 7.4, 7.8, 7.0, 7.4, 7.8, 8.2, 8.6, 9.0};
  const Values by_u(yb.data(), yb.data() + yb.size());
  print_matrix("U @ vec(X) (float32)", by_u.data(), 6, 6);
  print_matrix("in the seed", seed_bilinear.data(), 6, 6);
  double worst = 0;
  for (std::size_t i = 0; i < by_u.size(); ++i) {
    worst = std::max(worst, std::abs(by_u[i] - seed_bilinear[i]) / seed_bilinear[i]);
  }
  const double ulp = std::numeric_limits<float>::epsilon();
  std::printf("  largest relative difference %.3g = %.2f float32 ulp\n", worst, worst / ulp);
  t.verdict(
      "UpsamplingBilinear2d = U (align_corners=True), within float32 rounding (4 ulp) of the seed",
      worst <= 4 * ulp);
}

}  // namespace

int run_demo() {
  Tally t;
  seed_000(t);
  seed_001(t);
  seed_002(t);
  std::printf("%d example(s) agree with the seeds, %d disagree\n", t.passed, t.failed);
  return t.failed == 0 ? 0 : 1;
}

}  // namespace convmat::cli

// A program outside the project, built against an installed convmat: seed 000's kernel2matrix.
// W of nn.Conv2d(1, 1, kernel_size=2) on a 3×3 input, applied to 0..8, and its transpose applied
// back: Y = [27, 37, 57, 67] is the note's corr2d, and Wᵀ·Y must equal the note's trans_conv(Y, K),
// worked by hand: [27, 91, 74, 138, 400, 282, 171, 429, 268].
#include <convmat/convmat.hpp>

#include <cstdio>
#include <vector>

int main() {
  using namespace convmat;
  const ConvSpec spec = ConvSpec::convolution(1, 1, {3, 3}, {2, 2});
  const std::vector<double> k{1, 2, 3, 4};
  const ConvMatrix<double> w(spec, k.data());
  const Eigen::VectorXd x = Eigen::VectorXd::LinSpaced(9, 0, 8);
  const Eigen::VectorXd y = w.apply(x);
  const Eigen::VectorXd z = w.apply_adjoint(y);
  const std::vector<double> y_seed{27, 37, 57, 67};
  const std::vector<double> z_seed{27, 91, 74, 138, 400, 282, 171, 429, 268};
  bool same = y.size() == 4 && z.size() == 9;
  for (int i = 0; same && i < 4; ++i) same = y[i] == y_seed[i];
  for (int i = 0; same && i < 9; ++i) same = z[i] == z_seed[i];
  std::printf("convmat %s: W is %lld x %lld, W x = [%g, %g, %g, %g] %s\n", CONVMAT_DOWNSTREAM_HOW,
              static_cast<long long>(w.matrix().rows()), static_cast<long long>(w.matrix().cols()),
              y[0], y[1], y[2], y[3], same ? "as in seed 000" : "DIFFERS from seed 000");
  return same ? 0 : 1;
}

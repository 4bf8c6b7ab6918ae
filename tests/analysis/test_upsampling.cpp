// Upsampling matrices against PyTorch itself (a float64 table written by torch, see
// data/upsampling_torch.py), seed 002's two examples, and the bilinear ×2 = transposed
// convolution identity (exact on the interior, and exact everywhere after replicate padding).
#define BOOST_TEST_MODULE upsampling
#include <boost/test/unit_test.hpp>

#include <Eigen/Dense>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "convmat/analysis/upsampling.hpp"
#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/loops.hpp"
#include "test_util.hpp"

using namespace convmat;

namespace {

using Matrix = CsrMatrix<double>::RowMajorEigen;

Eigen::VectorXd times(const Matrix& u, const std::vector<double>& x) {
  return u * Eigen::Map<const Eigen::VectorXd>(x.data(), static_cast<Index>(x.size()));
}

// The table's input: x[c, flat] = ((7·flat + 3·c) mod 11) − 5.
std::vector<double> table_input(Index channels, Index numel) {
  std::vector<double> x;
  for (Index c = 0; c < channels; ++c) {
    for (Index f = 0; f < numel; ++f) x.push_back(static_cast<double>((7 * f + 3 * c) % 11 - 5));
  }
  return x;
}

void expect_rejected(const UpsamplingParams& p, const std::string& part) {
  try {
    UpsamplingSpec spec(p);
    BOOST_ERROR("accepted " << spec.to_string());
  } catch (const std::invalid_argument& e) {
    BOOST_TEST_CONTEXT("message: " << e.what()) {
      BOOST_TEST(std::string(e.what()).find(part) != std::string::npos);
    }
  }
}

}  // namespace

// Every case of the table: U·x in double against torch's float64 F.interpolate. Tolerance:
// 8ε·max|x| (two weights per axis, up to three axes; the summation order differs from torch's).
BOOST_AUTO_TEST_CASE(matches_pytorch_interpolate) {
  std::ifstream in(CONVMAT_TEST_DATA "/upsampling_torch.txt");
  BOOST_REQUIRE(in.good());
  std::string line;
  int cases = 0, by_mode[3] = {0, 0, 0}, scaled = 0, aligned = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream s(line);
    std::string mode, align, recompute, what;
    int rank = 0;
    UpsamplingParams p;
    s >> mode >> align >> recompute >> rank >> p.channels;
    p.input_size.resize(static_cast<std::size_t>(rank));
    for (auto& n : p.input_size) s >> n;
    s >> what;
    for (int a = 0; a < rank; ++a) {
      if (what == "size") {
        Index o;
        s >> o;
        p.output_size.push_back(o);
      } else {
        double f;
        s >> f;
        p.scale_factor.push_back(f);
      }
    }
    std::string colon;
    s >> colon;
    std::vector<double> expected;
    for (double v; s >> v;) expected.push_back(v);
    p.mode = mode == "linear" ? interpolation_from_string(rank == 1   ? "linear"
                                                          : rank == 2 ? "bilinear"
                                                                      : "trilinear",
                                                          rank)
                              : interpolation_from_string(mode, rank);
    p.align_corners = align == "1";
    p.recompute_scale_factor = recompute == "1";
    BOOST_TEST_CONTEXT(line.substr(0, line.find(':'))) {
      const UpsamplingSpec spec(p);
      BOOST_REQUIRE(spec.output_numel() == static_cast<Index>(expected.size()));
      Index in_numel = 1;
      for (Index n : p.input_size) in_numel *= n;
      const Eigen::VectorXd y =
          times(upsampling_matrix<double>(spec), table_input(p.channels, in_numel));
      double err = 0;
      for (std::size_t i = 0; i < expected.size(); ++i) {
        err = std::max(err, std::abs(y(static_cast<Index>(i)) - expected[i]));
      }
      BOOST_TEST(err <= 8 * std::numeric_limits<double>::epsilon() * 5);
      // The float matrix: torch's float32 within float32 rounding of the float64 result.
      const auto uf = upsampling_matrix<float>(spec);
      std::vector<float> x32;
      for (double v : table_input(p.channels, in_numel)) x32.push_back(static_cast<float>(v));
      const Eigen::VectorXf yf =
          uf * Eigen::Map<const Eigen::VectorXf>(x32.data(), in_numel * p.channels);
      double err32 = 0;
      for (std::size_t i = 0; i < expected.size(); ++i) {
        err32 = std::max(err32, std::abs(double(yf(static_cast<Index>(i))) - expected[i]));
      }
      BOOST_TEST(err32 <= 8 * std::numeric_limits<float>::epsilon() * 5);
    }
    ++cases;
    ++by_mode[static_cast<int>(p.mode)];
    scaled += !p.scale_factor.empty();
    aligned += p.align_corners;
  }
  BOOST_TEST(cases > 300);
  for (int c : by_mode) BOOST_TEST(c > 60);
  BOOST_TEST(scaled > 100);
  BOOST_TEST(aligned > 50);
}

// Seed 002: Upsample(scale_factor=2, mode='nearest') on [[5, 6], [7, 8]], exactly.
BOOST_AUTO_TEST_CASE(seed_002_nearest) {
  for (bool by_size : {false, true}) {
    UpsamplingParams p;
    p.input_size = {2, 2};
    if (by_size) {
      p.output_size = {4};
    } else {
      p.scale_factor = {2.0};
    }
    const Eigen::VectorXd y = times(upsampling_matrix<double>(UpsamplingSpec(p)), {5, 6, 7, 8});
    const std::vector<double> seed{5, 5, 6, 6, 5, 5, 6, 6, 7, 7, 8, 8, 7, 7, 8, 8};
    BOOST_TEST(std::vector<double>(y.data(), y.data() + y.size()) == seed,
               boost::test_tools::per_element());
  }
}

// Seed 002: nn.UpsamplingBilinear2d(scale_factor=2) (align_corners=True) on arange(1, 10) 3×3.
// The exact values are rationals: bilinear interpolation reproduces the affine x[i, j] =
// 1 + 3i + j exactly, at source coordinates (2r/5, 2c/5), so y[r, c] = (5 + 6r + 2c)/5.
// 1. The seed's 4-decimal table is exactly these rationals (checked in integers: 10⁴·printed =
//    2000·(5 + 6r + 2c)).
// 2. convmat's double matrix gives them within 4 ulp, its float matrix within 4 float32 ulp
//    (torch's own dtype there): "within rounding", since k/5 has no finite binary expansion.
BOOST_AUTO_TEST_CASE(seed_002_upsampling_bilinear2d) {
  const double seed[6][6] = {{1.0000, 1.4000, 1.8000, 2.2000, 2.6000, 3.0000},
                             {2.2000, 2.6000, 3.0000, 3.4000, 3.8000, 4.2000},
                             {3.4000, 3.8000, 4.2000, 4.6000, 5.0000, 5.4000},
                             {4.6000, 5.0000, 5.4000, 5.8000, 6.2000, 6.6000},
                             {5.8000, 6.2000, 6.6000, 7.0000, 7.4000, 7.8000},
                             {7.0000, 7.4000, 7.8000, 8.2000, 8.6000, 9.0000}};
  UpsamplingParams p;
  p.input_size = {3, 3};
  p.scale_factor = {2.0};
  p.mode = interpolation_from_string("bilinear", 2);
  p.align_corners = true;
  const UpsamplingSpec spec(p);
  BOOST_TEST(spec.output_size() == (Dims{6, 6}), boost::test_tools::per_element());
  const std::vector<double> x{1, 2, 3, 4, 5, 6, 7, 8, 9};
  const Eigen::VectorXd y = times(upsampling_matrix<double>(spec), x);
  const auto uf = upsampling_matrix<float>(spec);
  const std::vector<float> xf(x.begin(), x.end());
  const Eigen::VectorXf yf = uf * Eigen::Map<const Eigen::VectorXf>(xf.data(), 9);
  for (int r = 0; r < 6; ++r) {
    for (int c = 0; c < 6; ++c) {
      BOOST_TEST_CONTEXT("y[" << r << ", " << c << "]") {
        const long numerator = 5 + 6 * r + 2 * c;  // y = numerator / 5
        BOOST_TEST(std::lround(seed[r][c] * 10000) == 2000 * numerator);
        const double exact = static_cast<double>(numerator) / 5;
        BOOST_TEST(std::abs(y(r * 6 + c) - exact) <=
                   4 * std::numeric_limits<double>::epsilon() * exact);
        BOOST_TEST(std::abs(double(yf(r * 6 + c)) - exact) <=
                   4 * std::numeric_limits<float>::epsilon() * exact);
      }
    }
  }
}

// Bilinear ×2 (align_corners=False) against the transposed convolution with the bilinear kernel
// (per channel: groups = channels, kernel 4, stride 2, padding 1, [1, 3, 3, 1]/4 per axis).
// Per axis, output 2m takes ¼x[m−1] + ¾x[m] and 2m + 1 takes ¾x[m] + ¼x[m+1] in both; at the
// first and last output position the upsampling clamps (all weight on the edge value) while the
// transposed convolution misses the out-of-range neighbour (¾ of the edge value). So they agree
// exactly where no coordinate is 0 or 2n − 1, and differ (for nonzero edge values) on that
// border. With the input replicate-padded by one first (kernel-1 convolution, replicate mode)
// and padding 3, the transposed convolution equals the upsampling everywhere, exactly.
BOOST_AUTO_TEST_CASE(bilinear_x2_is_a_transposed_convolution_away_from_the_border) {
  int checked = 0, border_differences = 0;
  for (int rank = 1; rank <= 3; ++rank) {
    for (int trial = 0; trial < 20; ++trial) {
      const Index channels = test::uniform(1, 3);
      Dims n;
      for (int a = 0; a < rank; ++a) n.push_back(test::uniform(1, rank == 3 ? 4 : 7));
      UpsamplingParams p;
      p.channels = channels;
      p.input_size = n;
      p.scale_factor = {2.0};
      p.mode = Interpolation::linear;
      const UpsamplingSpec up(p);
      const std::vector<double> k = bilinear_kernel<double>(channels, rank);
      const ConvSpec t = ConvSpec::transposed(channels, channels, n, {4}, {2}, {1}, {}, channels);
      BOOST_REQUIRE(t.output_size() == up.output_size());
      const auto x = test::integer_tensor<double>(up.input_numel());
      const Eigen::VectorXd by_upsampling = times(upsampling_matrix<double>(up), x);
      const Eigen::VectorXd by_tconv =
          ConvMatrix<double>(t, k.data())
              .apply(Eigen::Map<const Eigen::VectorXd>(x.data(), static_cast<Index>(x.size())));
      // Walk the output (channel, *position) in C order.
      const Dims& o = up.output_size();
      Index positions = 1;
      for (Index v : o) positions *= v;
      bool interior_equal = true, differences_on_border_only = true;
      for (Index i = 0; i < by_upsampling.size(); ++i) {
        bool border = false;
        for (Index rest = i % positions, a = rank - 1; a >= 0; --a) {
          const Index q = rest % o[static_cast<std::size_t>(a)];
          rest /= o[static_cast<std::size_t>(a)];
          border = border || q == 0 || q == o[static_cast<std::size_t>(a)] - 1;
        }
        const bool equal = by_upsampling(i) == by_tconv(i);
        if (!border) interior_equal = interior_equal && equal;
        if (!equal) {
          differences_on_border_only = differences_on_border_only && border;
          ++border_differences;
        }
      }
      BOOST_TEST_CONTEXT(up.to_string()) {
        BOOST_TEST(interior_equal);
        BOOST_TEST(differences_on_border_only);
        // Replicate padding by one, then padding 3: equal everywhere.
        ConvParams rp;
        rp.in_channels = rp.out_channels = rp.groups = channels;
        rp.input_size = n;
        rp.kernel_size = {1};
        rp.pad_begin = {1};
        rp.padding_mode = PaddingMode::replicate;
        const ConvSpec replicate(rp);
        const std::vector<double> ones(static_cast<std::size_t>(channels), 1.0);
        const ConvMatrix<double> r(replicate, ones.data());
        const ConvSpec t3 = ConvSpec::transposed(channels, channels, replicate.output_size(), {4},
                                                 {2}, {3}, {}, channels);
        const Eigen::VectorXd padded =
            r.apply(Eigen::Map<const Eigen::VectorXd>(x.data(), static_cast<Index>(x.size())));
        const Eigen::VectorXd everywhere = ConvMatrix<double>(t3, k.data()).apply(padded);
        BOOST_TEST((everywhere == by_upsampling));
      }
      ++checked;
    }
  }
  BOOST_TEST(checked == 60);
  BOOST_TEST(border_differences > 0);  // the border really differs
}

// Structure: one 1 per row for nearest; linear rows sum to 1 and reproduce the source coordinate
// (Σ w·i = s(j), the clamped PyTorch coordinate) for align_corners=True, computed here in exact
// rational arithmetic: s(j) = j(n − 1)/(o − 1).
BOOST_AUTO_TEST_CASE(linear_rows_are_convex_and_exact_for_align_corners) {
  for (Index n = 1; n <= 9; ++n) {
    for (Index o = 1; o <= 17; ++o) {
      UpsamplingParams p;
      p.input_size = {n};
      p.output_size = {o};
      p.mode = Interpolation::linear;
      p.align_corners = true;
      const Matrix u = upsampling_matrix<double>(UpsamplingSpec(p));
      for (Index j = 0; j < o; ++j) {
        double sum = 0, first_moment = 0;
        for (Matrix::InnerIterator it(u, j); it; ++it) {
          sum += it.value();
          first_moment += it.value() * static_cast<double>(it.col());
          BOOST_TEST(it.value() > 0);
        }
        const double s = o > 1 && o != n
                             ? static_cast<double>(j * (n - 1)) / static_cast<double>(o - 1)
                             : (o == n ? static_cast<double>(j) : 0.0);
        BOOST_TEST(std::abs(sum - 1) <= 2 * std::numeric_limits<double>::epsilon());
        BOOST_TEST(std::abs(first_moment - s) <=
                   4 * std::numeric_limits<double>::epsilon() * static_cast<double>(n));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(invalid_arguments_are_rejected_with_the_rule) {
  UpsamplingParams p;
  p.input_size = {3, 3};
  expect_rejected(p, "either size or scale_factor should be defined");
  p.output_size = {6};
  p.scale_factor = {2.0};
  expect_rejected(p, "only one of size or scale_factor");
  p.scale_factor.clear();
  p.recompute_scale_factor = true;
  expect_rejected(p, "recompute_scale_factor is not meaningful with an explicit size");
  p.recompute_scale_factor = false;
  p.align_corners = true;
  expect_rejected(p, "align_corners can only be set with the interpolating modes");
  p.align_corners = false;
  p.output_size = {6, 0};
  expect_rejected(p, "size must be >= 1 in every dimension, got size[1] = 0");
  p.output_size = {1, 2, 3};
  expect_rejected(p, "size must have one entry");
  p.output_size.clear();
  p.scale_factor = {-2.0};
  expect_rejected(p, "scale_factor must be finite and > 0");
  p.scale_factor = {0.2};
  expect_rejected(p, "floor(3 * 0.200000) = 0.000000");
  p.scale_factor = {2.0};
  p.channels = 0;
  expect_rejected(p, "channels must be >= 1, got 0");
  p.channels = 1;
  p.input_size = {};
  expect_rejected(p, "the spatial rank must be 1, 2 or 3");
  BOOST_CHECK_THROW(interpolation_from_string("bilinear", 1), std::invalid_argument);
  BOOST_CHECK_THROW(interpolation_from_string("bicubic", 2), std::invalid_argument);
  BOOST_TEST(to_string(interpolation_from_string("trilinear", 3), 3) == "trilinear");
  BOOST_TEST(to_string(interpolation_from_string("nearest-exact", 2), 2) == "nearest-exact");
}

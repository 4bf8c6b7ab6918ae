// Which spectrum method, the memory each needs, and what the Lanczos values say about the rank —
// checked at the boundaries and against the dense SVD of small layers.
#define BOOST_TEST_MODULE spectrum_method
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "convmat/analysis/dense_limit.hpp"
#include "convmat/analysis/spectrum.hpp"
#include "convmat/analysis/spectrum_method.hpp"
#include "convmat/core/memory_limit.hpp"

using namespace convmat;

BOOST_AUTO_TEST_CASE(dense_up_to_the_entry_limit_and_the_memory) {
  // 2048 × 2048 is the limit exactly; one row more is past it.
  BOOST_TEST((dense_feasibility(2048, 2048) == DenseFeasibility::fits));
  BOOST_TEST((dense_feasibility(2049, 2048) == DenseFeasibility::too_many_entries));
  BOOST_TEST((automatic_spectrum_method(2048, 2048) == SpectrumMethod::dense));
  BOOST_TEST((automatic_spectrum_method(16385, 256) == SpectrumMethod::lanczos));
  // Memory: m·n·64 bytes must be available.
  const long double need = 300.0L * 200 * 64;
  BOOST_TEST(dense_analysis_bytes(300, 200) == need);
  BOOST_TEST((dense_feasibility(300, 200, need) == DenseFeasibility::fits));
  BOOST_TEST((dense_feasibility(300, 200, need - 1) == DenseFeasibility::over_memory));
  BOOST_TEST((automatic_spectrum_method(300, 200, need - 1) == SpectrumMethod::lanczos));
  BOOST_TEST((dense_feasibility(300, 200, -5.0L) == DenseFeasibility::over_memory));
  BOOST_TEST(to_string(SpectrumMethod::dense) == "dense");
  BOOST_TEST(to_string(SpectrumMethod::lanczos) == "lanczos");
}

BOOST_AUTO_TEST_CASE(lanczos_works_on_the_smaller_gram_matrix) {
  BOOST_TEST(gram_of_rows(3, 5));
  BOOST_TEST(gram_of_rows(4, 4));
  BOOST_TEST(!gram_of_rows(5, 3));
  // A layer's G has the size largest_singular_values reports.
  const ConvSpec s = ConvSpec::convolution(1, 1, {9, 9}, {3, 3}, {2});  // 16 × 81
  const std::vector<double> w(9, 1.0);
  const PartialSingularValues p = largest_singular_values(ConvMatrix<double>(s, w.data()), {2});
  BOOST_TEST(p.gram_size == (gram_of_rows(16, 81) ? 16 : 81));
  // A copied to CHOLMOD and the factor, factor_fill_estimate times G, 16 bytes per nonzero.
  BOOST_TEST(shift_invert_bytes(500, 1000) == 16.0L * 500 + 16.0L * factor_fill_estimate * 1000);
}

BOOST_AUTO_TEST_CASE(rank_verdict_against_the_dense_svd) {
  const double eps = std::numeric_limits<double>::epsilon();
  BOOST_TEST(gram_rounding_level(30, 50, 2.0) == std::sqrt(50 * eps) * 2.0);
  // Full rank: a 2-d convolution with a random kernel (W wide, 100 × 144).
  std::vector<double> w{0.3, -1.2, 0.8, 2.1, 0.4, -0.7, 1.5, 0.9, -0.2};
  const ConvSpec full = ConvSpec::convolution(1, 1, {12, 12}, {3, 3});
  const ConvMatrix<double> m(full, w.data());
  const SingularValues d = singular_values(m);
  PartialSpectrumOptions o;
  o.count = 1;
  const double smax = largest_singular_values(m, o).values(0);
  const double smin = smallest_singular_values(m, o).values(0);
  const LanczosRankVerdict v = lanczos_rank_verdict(m.rows(), m.cols(), smax, smin);
  BOOST_TEST(d.rank == 100);  // the dense SVD: full row rank
  BOOST_TEST(v.full_rank);
  BOOST_TEST(std::abs(v.condition_number - d.condition_number) <= 1e-6 * d.condition_number);
  BOOST_TEST(v.condition_at_least == v.condition_number);
  // Rank deficient: two equal output channels (W has repeated rows).
  const ConvSpec twice = ConvSpec::convolution(1, 2, {12, 12}, {3, 3});
  std::vector<double> w2 = w;
  w2.insert(w2.end(), w.begin(), w.end());
  const ConvMatrix<double> m2(twice, w2.data());
  const double smax2 = largest_singular_values(m2, o).values(0);
  const double smin2 = smallest_singular_values(m2, o).values(0);
  const LanczosRankVerdict v2 = lanczos_rank_verdict(m2.rows(), m2.cols(), smax2, smin2);
  BOOST_TEST(singular_values(m2).rank < std::min(m2.rows(), m2.cols()));
  BOOST_TEST(!v2.full_rank);
  BOOST_TEST(std::isnan(v2.condition_number));
  BOOST_TEST(v2.condition_at_least == smax2 / v2.rounding_level);
}

// ConvPattern restricted to a slab of W's rows (RowSlab): the slabs of any split of the row
// positions, put together, are W's own structure and values, entry by entry, on random layers of
// every kind; the nonzero count of a slab is counted without building it.
#define BOOST_TEST_MODULE conv_pattern
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <vector>

#include "convmat/core/conv_pattern.hpp"
#include "test_util.hpp"

using namespace convmat;
using convmat::test::integer_tensor;
using convmat::test::random_spec;
using convmat::test::uniform;

namespace {

// Cut points 0 = c_0 <= c_1 <= … <= c_k = n, drawn at random (empty slabs included).
std::vector<Index> random_cuts(Index n) {
  const Index pieces = uniform(1, 4);
  std::vector<Index> cuts{0, n};
  for (Index i = 1; i < pieces; ++i) cuts.push_back(uniform(0, n));
  std::sort(cuts.begin(), cuts.end());
  return cuts;
}

// Every row of every slab equals W's row global_row(r): columns and values (from the same
// weight), and the taps for_each_tap reports.
void check_slabs(const ConvSpec& spec, const std::vector<Index>& cuts) {
  const ConvPattern whole(spec);
  const auto weight = integer_tensor<double>(spec.weight_numel());
  std::vector<double> whole_values(static_cast<std::size_t>(whole.nnz()));
  whole.fill(weight.data(), whole_values.data());
  const SparsityPattern& w = *whole.sparsity();

  Index rows_seen = 0, nnz_seen = 0;
  std::vector<char> seen(static_cast<std::size_t>(whole.rows()), 0);
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    const RowSlab slab{cuts[i], cuts[i + 1]};
    const ConvPattern part(spec, slab);
    BOOST_TEST_CONTEXT(spec.to_string() << "\nslab [" << slab.begin << ", " << slab.end << ")") {
      BOOST_TEST(part.slab().begin == slab.begin);
      BOOST_TEST(part.slab().end == slab.end);
      BOOST_TEST(part.cols() == whole.cols());
      BOOST_TEST(part.nnz() == conv_matrix_nnz(spec, slab));
      std::vector<double> values(static_cast<std::size_t>(part.nnz()));
      part.fill(weight.data(), values.data());
      const SparsityPattern& p = *part.sparsity();
      for (Index r = 0; r < part.rows(); ++r) {
        const Index g = part.global_row(r);
        BOOST_TEST_REQUIRE((g >= 0 && g < whole.rows()));
        BOOST_TEST_REQUIRE(!seen[static_cast<std::size_t>(g)]);
        seen[static_cast<std::size_t>(g)] = 1;
        const auto pb = p.row_ptr[static_cast<std::size_t>(r)];
        const auto pe = p.row_ptr[static_cast<std::size_t>(r + 1)];
        const auto wb = w.row_ptr[static_cast<std::size_t>(g)];
        const auto we = w.row_ptr[static_cast<std::size_t>(g + 1)];
        BOOST_TEST_REQUIRE(pe - pb == we - wb);
        for (RowPointer k = 0; k < pe - pb; ++k) {
          BOOST_TEST(p.col[static_cast<std::size_t>(pb + k)] ==
                     w.col[static_cast<std::size_t>(wb + k)]);
          BOOST_TEST(values[static_cast<std::size_t>(pb + k)] ==
                     whole_values[static_cast<std::size_t>(wb + k)]);
        }
        std::vector<Index> part_taps, whole_taps;
        part.for_each_tap(r, [&](Index nz, Index col, Index tap) {
          part_taps.insert(part_taps.end(), {nz - static_cast<Index>(pb), col, tap});
        });
        whole.for_each_tap(g, [&](Index nz, Index col, Index tap) {
          whole_taps.insert(whole_taps.end(), {nz - static_cast<Index>(wb), col, tap});
        });
        BOOST_TEST(part_taps == whole_taps);
      }
      rows_seen += part.rows();
      nnz_seen += part.nnz();
    }
  }
  BOOST_TEST(rows_seen == whole.rows());
  BOOST_TEST(nnz_seen == whole.nnz());
}

}  // namespace

BOOST_AUTO_TEST_CASE(slabs_of_random_layers_are_the_rows_of_w) {
  for (int i = 0; i < 400; ++i) {
    const ConvSpec spec = random_spec();
    check_slabs(spec, random_cuts(slab_positions(spec)));
  }
}

BOOST_AUTO_TEST_CASE(one_slab_per_position_and_the_default_slab) {
  // A transposed 3-d layer with groups and reflect-free folding, cut at every position.
  const ConvSpec t = ConvSpec::transposed(4, 2, {3, 4, 2}, {2, 3, 2}, {2, 1, 2}, {1, 0, 0},
                                          {1, 0, 1}, 2, {1, 2, 1});
  std::vector<Index> every(static_cast<std::size_t>(slab_positions(t)) + 1);
  for (std::size_t i = 0; i < every.size(); ++i) every[i] = static_cast<Index>(i);
  check_slabs(t, every);
  // Circular padding wraps across the slab boundaries.
  const ConvSpec c =
      ConvSpec::convolution(2, 3, {6, 5}, {3, 3}, {1}, {2}, {1}, 1, PaddingMode::circular);
  check_slabs(c, {0, 1, 1, 4, 8});  // 8 output rows
  const ConvPattern whole(c), slab(c, RowSlab{0, -1});
  BOOST_TEST(slab.rows() == whole.rows());
  BOOST_TEST(slab.slab().end == slab_positions(c));
  BOOST_TEST(conv_matrix_nnz(c) == conv_matrix_nnz(c, RowSlab{0, 8}));
}

BOOST_AUTO_TEST_CASE(empty_slab_has_no_rows) {
  const ConvSpec spec = ConvSpec::convolution(3, 2, {5, 5}, {3, 3});
  const ConvPattern empty(spec, RowSlab{2, 2});
  BOOST_TEST(empty.rows() == 0);
  BOOST_TEST(empty.nnz() == 0);
  BOOST_TEST(empty.cols() == spec.input_numel());
  BOOST_TEST(conv_matrix_nnz(spec, RowSlab{2, 2}) == 0);
}

BOOST_AUTO_TEST_CASE(invalid_slab_names_the_rule) {
  const ConvSpec spec = ConvSpec::convolution(1, 1, {5, 5}, {3, 3});  // 3 output rows
  for (const RowSlab bad : {RowSlab{-1, 2}, RowSlab{2, 1}, RowSlab{0, 4}, RowSlab{4, -1}}) {
    BOOST_CHECK_EXCEPTION(
        ConvPattern(spec, bad), std::invalid_argument, [](const std::invalid_argument& e) {
          return std::string(e.what()).find("0 <= begin <= end <= 3") != std::string::npos;
        });
    BOOST_CHECK_THROW(conv_matrix_nnz(spec, bad), std::invalid_argument);
  }
}

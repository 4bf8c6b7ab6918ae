// The memory guard and the estimates behind it: W's nonzero bound, the Gram matrices' nonzeros
// (against the products formed by Eigen), and the refusal with the estimate and the limit.
#define BOOST_TEST_MODULE memory_limit
#include <boost/test/unit_test.hpp>

#include <vector>

#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/conv_pattern.hpp"
#include "convmat/core/memory_limit.hpp"
#include "test_util.hpp"

using namespace convmat;

namespace {

// nnz of M Mᵀ (rows) or MᵀM formed by Eigen from the layer's map M with a positive weight, so that
// no product cancels and the numeric count is the structural one.
long double formed_gram_nnz(const ConvSpec& spec, bool rows_gram) {
  const std::vector<double> ones(static_cast<std::size_t>(spec.weight_numel()), 1.0);
  const ConvMatrix<double> m(spec, ones.data());
  const Eigen::SparseMatrix<double> a = m.matrix();
  const Eigen::SparseMatrix<double> at = a.transpose();
  const Eigen::SparseMatrix<double> g =
      rows_gram ? Eigen::SparseMatrix<double>(a * at) : Eigen::SparseMatrix<double>(at * a);
  return static_cast<long double>(g.nonZeros());
}

bool covers_all_rows(const ConvSpec& s) {
  // A transposed layer with output_padding >= stride is the first rows of its W only.
  for (int a = 0; a < s.rank(); ++a) {
    const auto u = static_cast<std::size_t>(a);
    if (s.is_transposed() && s.output_padding()[u] >= s.stride()[u]) return false;
  }
  return true;
}

}  // namespace

BOOST_AUTO_TEST_CASE(gram_nnz_counts_the_products_nonzeros) {
  // Random layers of every kind: groups, strides, dilations, negative padding, padding modes.
  for (int i = 0; i < 300; ++i) {
    const ConvSpec s = test::random_spec(6);
    for (bool rows_gram : {true, false}) {
      BOOST_TEST_CONTEXT(s.to_string() << (rows_gram ? ", M Mᵀ" : ", MᵀM")) {
        const long double formed = formed_gram_nnz(s, rows_gram);
        if (covers_all_rows(s)) {
          BOOST_TEST(gram_nnz(s, rows_gram) == formed);
        } else {
          BOOST_TEST(gram_nnz(s, rows_gram) >= formed);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(nnz_bound_is_a_bound) {
  for (int i = 0; i < 300; ++i) {
    const ConvSpec s = test::random_spec();
    BOOST_TEST_CONTEXT(s.to_string()) {
      BOOST_TEST(conv_matrix_nnz_bound(s) >= static_cast<long double>(conv_matrix_nnz(s)));
    }
  }
  // Exact when no window is cut: a valid convolution, every row reads C_in/g · Π k entries.
  const ConvSpec valid = ConvSpec::convolution(4, 6, {9, 8}, {3, 2}, {1}, {0}, {1}, 2);
  BOOST_TEST(conv_matrix_nnz_bound(valid) == static_cast<long double>(conv_matrix_nnz(valid)));
}

BOOST_AUTO_TEST_CASE(refusal_names_the_estimate_and_the_limit) {
  const ConvSpec s = ConvSpec::convolution(2, 3, {16, 16}, {3, 3});
  const std::size_t w = conv_matrix_bytes(s, sizeof(double));
  MemoryLimit limit;
  limit.source = "a test";
  limit.raise = "raise it";
  limit.bytes = w + 100;
  require_memory(limit, s, 100);  // fits exactly
  try {
    require_memory(limit, s, 101);
    BOOST_ERROR("accepted a layer above the limit");
  } catch (const MemoryLimitExceeded& e) {
    const std::string m = e.what();
    BOOST_TEST_CONTEXT(m) {
      BOOST_TEST(m.find(std::to_string(conv_matrix_nnz(s)) + " nonzeros") != std::string::npos);
      BOOST_TEST(m.find("more than the limit of " + human_bytes(double(limit.bytes)) +
                        " (a test); raise it") != std::string::npos);
    }
  }
}

// The guard counts the storage asked for: a channel-blocked W (64 → 64 channels: blocks of 8)
// fits under a limit that its CSR form exceeds, and the limit between the two is exact.
BOOST_AUTO_TEST_CASE(refusal_counts_the_storage) {
  const ConvSpec s = ConvSpec::convolution(64, 64, {12, 12}, {3, 3}, {1}, {1});
  const std::size_t csr = conv_matrix_bytes(s, sizeof(float), ConvStorage::csr);
  const std::size_t blocked = conv_matrix_bytes(s, sizeof(float), ConvStorage::channel_blocked);
  BOOST_TEST(blocked < csr);
  BOOST_TEST(conv_matrix_bytes(s, sizeof(float), ConvStorage::automatic) == blocked);
  MemoryLimit limit;
  limit.source = "a test";
  limit.bytes = blocked;
  require_memory(limit, s, 0, sizeof(float), ConvStorage::channel_blocked);  // fits exactly
  require_memory(limit, s, 0, sizeof(float), ConvStorage::automatic);
  BOOST_CHECK_EXCEPTION(require_memory(limit, s, 1, sizeof(float), ConvStorage::channel_blocked),
                        MemoryLimitExceeded, [](const MemoryLimitExceeded& e) {
                          return std::string(e.what()).find("channel-blocked") != std::string::npos;
                        });
  BOOST_CHECK_THROW(require_memory(limit, s, 0, sizeof(float), ConvStorage::csr),
                    MemoryLimitExceeded);
  // The estimate is what the built W holds.
  const std::vector<float> ones(static_cast<std::size_t>(s.weight_numel()), 1.0f);
  BOOST_TEST(ConvMatrix<float>(s, ones.data(), ConvStorage::channel_blocked).memory_bytes() ==
             blocked);
}

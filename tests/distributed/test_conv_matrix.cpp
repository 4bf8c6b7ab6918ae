// The distributed W (convmat/distributed/conv_matrix.hpp), run by CTest under mpirun with 1, 2
// and 3 ranks: on random layers of every kind, W on the ranks equals the serial W entry by entry,
// W·x and Wᵀ·y equal the serial products exactly on integer data (through rank 0 and through each
// rank's own slab), a refill equals a fresh build, and the halo the layout counts is the one
// PETSc exchanges — in ghost columns and in the bytes each rank sends per product.
#define BOOST_TEST_MODULE distributed_conv_matrix
#include <boost/test/unit_test.hpp>

#include <petsclog.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "convmat/core/conv_matrix.hpp"
#include "convmat/distributed/conv_matrix.hpp"
#include "convmat/distributed/environment.hpp"
#include "convmat/distributed/memory_guard.hpp"
#include "mpi_fixture.hpp"
#include "test_util.hpp"

using namespace convmat;
using namespace convmat::distributed;
using convmat::test::integer_tensor;
using convmat::test::random_spec;
using Side = DistributedConvMatrix::Side;

BOOST_TEST_GLOBAL_FIXTURE(MpiSession);

namespace {

MPI_Comm world() { return PETSC_COMM_WORLD; }

// Each local row of the distributed W, read back with MatGetRow (PETSc's global numbering), is
// the serial W's row, columns mapped through the layout.
void check_entries(const DistributedConvMatrix& d, const ConvMatrix<double>& serial) {
  const CsrMatrix<double>& w = serial.stored();
  const SlabLayout& l = d.layout();
  PetscInt first = 0, last = 0;
  BOOST_TEST_REQUIRE(MatGetOwnershipRange(d.stored(), &first, &last) == 0);
  BOOST_TEST(first == l.rows().offset(d.rank()));
  BOOST_TEST(last - first == l.rows().local_size(d.rank()));
  Index entries = 0;
  for (PetscInt row = first; row < last; ++row) {
    PetscInt n = 0;
    const PetscInt* cols = nullptr;
    const PetscScalar* values = nullptr;
    BOOST_TEST_REQUIRE(MatGetRow(d.stored(), row, &n, &cols, &values) == 0);
    const Index g = l.rows().natural_index(row);
    std::vector<std::pair<Index, double>> expected;
    for (RowPointer k = w.row_ptr()[g]; k < w.row_ptr()[g + 1]; ++k) {
      expected.emplace_back(l.cols().petsc_index(w.col_index()[k]), w.values()[k]);
    }
    std::sort(expected.begin(), expected.end());
    std::vector<std::pair<Index, double>> got;
    for (PetscInt k = 0; k < n; ++k) got.emplace_back(cols[k], values[k]);
    BOOST_TEST_CONTEXT("PETSc row " << row << " = W's row " << g) { BOOST_TEST((got == expected)); }
    entries += n;
    BOOST_TEST_REQUIRE(MatRestoreRow(d.stored(), row, &n, &cols, &values) == 0);
  }
  BOOST_TEST(entries == d.local_nnz());
  BOOST_TEST(d.nnz() == serial.nnz());
}

// y = M x and x' = Mᵀ y through rank 0 (scatter / gather) and through each rank's slab; both
// equal the serial products exactly (integer data: every sum is exact in any order).
void check_products(const DistributedConvMatrix& d, const ConvMatrix<double>& serial) {
  const ConvSpec& spec = serial.spec();
  const auto x = integer_tensor<double>(spec.input_numel());
  const auto y = integer_tensor<double>(spec.output_numel());
  std::vector<double> mx(static_cast<std::size_t>(spec.output_numel()));
  std::vector<double> mty(static_cast<std::size_t>(spec.input_numel()));
  serial.apply(x.data(), mx.data());
  serial.apply_adjoint(y.data(), mty.data());

  Owned<Vec> xv = d.create_input(), yv = d.create_output();
  Owned<Vec> out = d.create_output(), back = d.create_input();
  d.scatter(Side::input, d.rank() == 0 ? x.data() : nullptr, xv);
  d.scatter(Side::output, d.rank() == 0 ? y.data() : nullptr, yv);
  d.apply(xv, out);
  d.apply_adjoint(yv, back);
  std::vector<double> got_mx(mx.size()), got_mty(mty.size());
  d.gather(Side::output, out, got_mx.data());
  d.gather(Side::input, back, got_mty.data());
  if (d.rank() == 0) {
    BOOST_TEST(got_mx == mx, boost::test_tools::per_element());
    BOOST_TEST(got_mty == mty, boost::test_tools::per_element());
  }

  // Each rank's own slab of x, set locally, gives its own slab of M x.
  auto slab_of = [&](const VectorLayout& l, const std::vector<double>& full) {
    std::vector<double> s;
    const RowSlab r = l.slab(d.rank());
    const Index plane = l.positions() * l.inner();
    for (Index c = 0; c < l.channels(); ++c) {
      s.insert(s.end(), full.begin() + c * plane + r.begin * l.inner(),
               full.begin() + c * plane + r.end * l.inner());
    }
    return s;
  };
  const std::vector<double> x_slab = slab_of(d.layout_of(Side::input), x);
  DistributedConvMatrix::set_local(xv, x_slab.data());
  d.apply(xv, out);
  std::vector<double> out_slab(
      static_cast<std::size_t>(d.layout_of(Side::output).local_size(d.rank())));
  DistributedConvMatrix::get_local(out, out_slab.data());
  BOOST_TEST(out_slab == slab_of(d.layout_of(Side::output), mx), boost::test_tools::per_element());
}

}  // namespace

BOOST_AUTO_TEST_CASE(layout_numbering_is_a_permutation) {
  for (int i = 0; i < 200; ++i) {
    const ConvSpec spec = random_spec();
    for (int ranks : {1, 2, 3, 5}) {
      const SlabLayout l(spec, ranks);
      for (const VectorLayout* v : {&l.rows(), &l.cols()}) {
        std::vector<char> hit(static_cast<std::size_t>(v->size()), 0);
        for (Index k = 0; k < v->size(); ++k) {
          const Index p = v->petsc_index(k);
          BOOST_TEST_REQUIRE((p >= 0 && p < v->size()));
          BOOST_TEST_REQUIRE(!hit[static_cast<std::size_t>(p)]);
          hit[static_cast<std::size_t>(p)] = 1;
          BOOST_TEST_REQUIRE(v->natural_index(p) == k);
        }
        BOOST_TEST(v->offset(ranks) == v->size());
        for (int p = 0; p < ranks; ++p) BOOST_TEST(v->begin(p) <= v->begin(p + 1));
      }
      // A convolution's input is W's columns, a transposed layer's input W's rows.
      BOOST_TEST(l.input().size() == spec.input_numel());
      BOOST_TEST(l.output().size() == spec.output_numel());
    }
  }
}

BOOST_AUTO_TEST_CASE(interface_halo_formula_for_an_interior_rank) {
  // 3×3 (dilation 2 along axis 0, stride 1) on 8 channels of 30×20, 5 ranks: the middle rank
  // receives ((k−1)·d + 1 − s) = 4 positions of 8·20 values, split 2 below and 2 above.
  const ConvSpec spec = ConvSpec::convolution(8, 4, {30, 20}, {3, 3}, {1, 1}, {2, 1}, {2, 1});
  const SlabLayout l(spec, 5);
  BOOST_TEST(l.interface_halo() == 4 * 8 * 20);
  const HaloCount h = l.halo(2);
  BOOST_TEST(h.positions_below == 2);
  BOOST_TEST(h.positions_above == 2);
  BOOST_TEST(h.received == l.interface_halo());
  BOOST_TEST(h.sent == l.interface_halo());
  BOOST_TEST(h.neighbours == 2);
  // Stride 2, kernel 3: (k−1)·d + 1 − s = 1 position per interface, all on one face.
  const SlabLayout s2(ConvSpec::convolution(2, 2, {40}, {3}, {2}, {1}), 4);
  BOOST_TEST(s2.halo(1).received == 2);
  BOOST_TEST(s2.halo(1).positions_below + s2.halo(1).positions_above == 1);
}

BOOST_AUTO_TEST_CASE(rank_memory_estimates_add_up_to_the_serial_estimate_of_w) {
  // The guard's estimate per rank is the serial estimate of a W of its rows plus PETSc's bytes
  // per row (24) and per halo value (12): summed over the ranks, conv_matrix_bytes plus those,
  // plus one more row pointer per rank (each rank's CSR has its own end pointer). 11 ranks: more
  // than the 8 output rows along axis 0, so some ranks hold no rows.
  const ConvSpec spec = ConvSpec::convolution(3, 4, {10, 7}, {3, 3});
  for (int ranks : {1, 2, 3, 11}) {
    const SlabLayout l(spec, ranks);
    std::uint64_t sum = 0, halo = 0;
    for (int p = 0; p < ranks; ++p) {
      sum += rank_matrix_bytes(l, p);
      halo += static_cast<std::uint64_t>(l.halo(p).received);
    }
    const auto rows = static_cast<std::uint64_t>(spec.output_numel());
    BOOST_TEST(sum == conv_matrix_bytes(spec, sizeof(double)) +
                          8 * static_cast<std::uint64_t>(ranks - 1) + 24 * rows + 12 * halo);
  }
}

BOOST_AUTO_TEST_CASE(distributed_w_equals_serial_w_on_random_layers) {
  for (int i = 0; i < 300; ++i) {
    const ConvSpec spec = random_spec();
    const auto weight = integer_tensor<double>(spec.weight_numel());
    BOOST_TEST_CONTEXT(spec.to_string()) {
      const ConvMatrix<double> serial(spec, weight.data());
      DistributedConvMatrix d(world(), spec, weight.data());
      check_entries(d, serial);
      check_products(d, serial);
      // New weights, the same structure: equal to the serial layer with those weights.
      const auto other = integer_tensor<double>(spec.weight_numel());
      d.refill(other.data());
      const ConvMatrix<double> serial_other(spec, other.data());
      check_entries(d, serial_other);
      check_products(d, serial_other);
    }
  }
}

BOOST_AUTO_TEST_CASE(more_ranks_than_rows_and_sizes_the_ranks_do_not_divide) {
  // 1, 2 and 7 row positions along axis 0; a 3-d transposed layer with output_padding; circular
  // padding that wraps from the first rank to the last.
  const std::vector<ConvSpec> specs{
      ConvSpec::convolution(3, 2, {3, 9}, {3, 3}),                  // 1 output row
      ConvSpec::convolution(2, 4, {4, 5}, {3, 2}, {2, 1}, {1, 0}),  // 2 output rows
      ConvSpec::transposed(4, 2, {7, 3, 2}, {3, 2, 2}, {2, 1, 2}, {1, 0, 1}, {1, 0, 1}, 2),
      ConvSpec::convolution(2, 3, {7, 4}, {3, 3}, {1}, {1}, {1}, 1, PaddingMode::circular),
  };
  for (const ConvSpec& spec : specs) {
    const auto weight = integer_tensor<double>(spec.weight_numel());
    BOOST_TEST_CONTEXT(spec.to_string()) {
      const ConvMatrix<double> serial(spec, weight.data());
      const DistributedConvMatrix d(world(), spec, weight.data());
      check_entries(d, serial);
      check_products(d, serial);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_halo_is_what_petsc_exchanges) {
  const ConvSpec spec = ConvSpec::convolution(4, 4, {24, 10}, {3, 3}, {1}, {1});
  const auto weight = integer_tensor<double>(spec.weight_numel());
  const DistributedConvMatrix d(world(), spec, weight.data());
  const HaloCount h = d.layout().halo(d.rank());
  // PETSc's block of other ranks' columns has one column per ghost value.
  Mat diagonal = nullptr, off = nullptr;
  BOOST_TEST_REQUIRE(MatMPIAIJGetSeqAIJ(d.stored(), &diagonal, &off, nullptr) == 0);
  PetscInt rows = 0, ghosts = 0;
  BOOST_TEST_REQUIRE(MatGetSize(off, &rows, &ghosts) == 0);
  if (size_of(world()) > 1) BOOST_TEST(ghosts == h.received);
  // The bytes this rank sends in one W·x: its sent values, 8 bytes each.
  Owned<Vec> x = d.create_input(), y = d.create_output();
  BOOST_TEST_REQUIRE(VecSet(x, 1.0) == 0);
  d.apply(x, y);  // the first product sets up PETSc's persistent requests
  const PetscLogDouble before = petsc_isend_len + petsc_send_len;
  d.apply(x, y);
  const PetscLogDouble sent = petsc_isend_len + petsc_send_len - before;
  BOOST_TEST(sent == 8.0 * static_cast<double>(h.sent));
}

BOOST_AUTO_TEST_CASE(bad_input_on_one_rank_ends_every_rank_with_its_message) {
  const int last = size_of(world()) - 1;
  try {
    collectively(world(), [&] {
      if (rank_of(world()) == last) throw std::invalid_argument("the file x.npy does not exist");
    });
    BOOST_ERROR("no rank threw");
  } catch (const std::invalid_argument& e) {
    const std::string expected =
        (last > 0 ? "rank " + std::to_string(last) + ": " : std::string()) +
        "the file x.npy does not exist";
    BOOST_TEST(e.what() == expected);
  }
  // The memory guard refuses a layer over any rank's limit on every rank, before building it.
  const ConvSpec spec = ConvSpec::convolution(16, 16, {64, 64}, {3, 3});
  const auto weight = integer_tensor<double>(spec.weight_numel());
  MemoryLimit tiny;
  tiny.bytes = 1000;
  tiny.source = "a test";
  BOOST_CHECK_EXCEPTION(DistributedConvMatrix(world(), spec, weight.data(), tiny),
                        MemoryLimitExceeded, [](const MemoryLimitExceeded& e) {
                          return std::string(e.what()).find("more than the limit of 1000 bytes") !=
                                 std::string::npos;
                        });
  // A vector of the wrong layout on every rank: the same message everywhere.
  const ConvSpec small = ConvSpec::convolution(1, 1, {6, 6}, {3, 3});
  const auto w = integer_tensor<double>(small.weight_numel());
  const DistributedConvMatrix d(world(), small, w.data());
  Owned<Vec> wrong = d.create_input();  // 36 entries, not the output's 16
  std::vector<double> sample(16);
  BOOST_CHECK_EXCEPTION(d.gather(Side::output, wrong, sample.data()), std::invalid_argument,
                        [](const std::invalid_argument& e) {
                          return std::string(e.what()).find("16 entries") != std::string::npos;
                        });
}

// Breaks one internal invariant of the library, named by argv[1], in a program built with the
// assertions on (CONVMAT_ASSERTIONS): CTest expects CONVMAT_ASSERT's message for that invariant.
// SIGABRT is turned into exit status 3 so that CTest reads the output of a normal exit.

#include <unistd.h>
#include <Eigen/SparseCore>
#include <csignal>
#include <cstdio>
#include <string_view>

#include "convmat/core/buffer.hpp"
#include "convmat/core/conv_pattern.hpp"
#include "convmat/solve/sparse_ref.hpp"

using namespace convmat;

int main(int argc, char** argv) {
  std::signal(SIGABRT, [](int) { _exit(3); });
  if (argc != 2) return 2;
  const std::string_view which = argv[1];
  const ConvPattern pattern(ConvSpec::convolution(1, 2, {4, 5}, {3, 2}));
  if (which == "buffer_index") {
    Buffer<int> b(3);
    b[3] = 1;
  } else if (which == "for_each_tap_row") {
    pattern.for_each_tap(pattern.rows(), [](Index, Index, Index) {});
  } else if (which == "axis_map_entries") {
    const detail::AxisMap& a = pattern.axis(2);
    std::printf("%lld\n", static_cast<long long>(a.entries(a.rows)));
  } else if (which == "sparse_ref_inner") {
    Eigen::SparseMatrix<double, Eigen::ColMajor, int> m(3, 3);
    m.insert(1, 2) = 1.0;
    m.makeCompressed();
    const SparseRef<double> a(m);
    std::printf("%lld\n", static_cast<long long>(a.inner(a.nnz())));
  } else {
    return 2;
  }
  std::puts("the invariant was broken without an assertion");
  return 0;
}

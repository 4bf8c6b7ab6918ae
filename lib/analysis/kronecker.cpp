#include "convmat/analysis/detail/kronecker.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "convmat/core/detail/assert.hpp"

namespace convmat::detail {

Dims per_axis(const Dims& v, std::size_t rank, Index fill, const char* function, const char* name) {
  if (v.empty()) return Dims(rank, fill);
  if (v.size() == 1) return Dims(rank, v[0]);
  if (v.size() != rank) {
    throw std::invalid_argument(std::string(function) + ": " + name +
                                " must have one entry (for every dimension) or one per spatial "
                                "dimension (" +
                                std::to_string(rank) + "), got " + std::to_string(v.size()) +
                                " entries");
  }
  return v;
}

template <class Scalar>
void KroneckerFactor<Scalar>::add(Index c, Scalar w) {
  CONVMAT_ASSERT(c >= 0 && c < cols, "KroneckerFactor::add: column out of range");
  const Index begin = ptr.back();
  for (Index e = begin; e < static_cast<Index>(col.size()); ++e) {
    if (col[static_cast<std::size_t>(e)] == c) {
      weight[static_cast<std::size_t>(e)] += w;
      return;
    }
  }
  col.push_back(c);
  weight.push_back(w);
}

template <class Scalar>
void KroneckerFactor<Scalar>::end_row() {
  const std::size_t begin = static_cast<std::size_t>(ptr.back());
  // Sort the row's entries by column, dropping exact zeros.
  std::vector<std::pair<Index, Scalar>> row;
  for (std::size_t e = begin; e < col.size(); ++e) {
    if (weight[e] != Scalar(0)) row.emplace_back(col[e], weight[e]);
  }
  std::sort(row.begin(), row.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  col.resize(begin);
  weight.resize(begin);
  for (const auto& [c, w] : row) {
    col.push_back(c);
    weight.push_back(w);
  }
  ptr.push_back(static_cast<Index>(col.size()));
  ++rows;
}

template <class Scalar>
Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int> kronecker(
    Index channels, const std::vector<KroneckerFactor<Scalar>>& axes) {
  // Right-align into three axes; missing leading axes are the 1×1 identity.
  KroneckerFactor<Scalar> one(1);
  one.add(0, Scalar(1));
  one.end_row();
  const KroneckerFactor<Scalar>* a[3] = {&one, &one, &one};
  CONVMAT_ASSERT(!axes.empty() && axes.size() <= 3, "kronecker: one factor per axis, 1 to 3");
  const std::size_t offset = 3 - axes.size();
  for (std::size_t i = 0; i < axes.size(); ++i) a[offset + i] = &axes[i];

  const Index rows = channels * a[0]->rows * a[1]->rows * a[2]->rows;
  const Index cols = channels * a[0]->cols * a[1]->cols * a[2]->cols;
  const Index nnz =
      channels * static_cast<Index>(a[0]->col.size() * a[1]->col.size() * a[2]->col.size());
  constexpr Index int_max = std::numeric_limits<int>::max();
  if (rows > int_max || cols > int_max || nnz > int_max) {
    throw std::length_error("kronecker: " + std::to_string(rows) + "x" + std::to_string(cols) +
                            " with " + std::to_string(nnz) +
                            " nonzeros does not fit Eigen's 32-bit indices");
  }
  std::vector<int> outer;
  std::vector<int> inner;
  std::vector<Scalar> values;
  outer.reserve(static_cast<std::size_t>(rows + 1));
  inner.reserve(static_cast<std::size_t>(nnz));
  values.reserve(static_cast<std::size_t>(nnz));
  outer.push_back(0);
  for (Index c = 0; c < channels; ++c) {
    for (Index o0 = 0; o0 < a[0]->rows; ++o0) {
      for (Index o1 = 0; o1 < a[1]->rows; ++o1) {
        for (Index o2 = 0; o2 < a[2]->rows; ++o2) {
          for (Index e0 = a[0]->ptr[o0]; e0 < a[0]->ptr[o0 + 1]; ++e0) {
            const Index c0 = c * a[0]->cols + a[0]->col[e0];
            const Scalar w0 = a[0]->weight[e0];
            for (Index e1 = a[1]->ptr[o1]; e1 < a[1]->ptr[o1 + 1]; ++e1) {
              const Index c1 = c0 * a[1]->cols + a[1]->col[e1];
              const Scalar w1 = w0 * a[1]->weight[e1];
              for (Index e2 = a[2]->ptr[o2]; e2 < a[2]->ptr[o2 + 1]; ++e2) {
                inner.push_back(static_cast<int>(c1 * a[2]->cols + a[2]->col[e2]));
                values.push_back(w1 * a[2]->weight[e2]);
              }
            }
          }
          outer.push_back(static_cast<int>(inner.size()));
        }
      }
    }
  }
  using Matrix = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int>;
  return Matrix(Eigen::Map<const Matrix>(rows, cols, static_cast<Index>(inner.size()), outer.data(),
                                         inner.data(), values.data()));
}

template struct KroneckerFactor<float>;
template struct KroneckerFactor<double>;
template Eigen::SparseMatrix<float, Eigen::RowMajor, int> kronecker(
    Index, const std::vector<KroneckerFactor<float>>&);
template Eigen::SparseMatrix<double, Eigen::RowMajor, int> kronecker(
    Index, const std::vector<KroneckerFactor<double>>&);

}  // namespace convmat::detail

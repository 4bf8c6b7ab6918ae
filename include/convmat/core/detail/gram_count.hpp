#pragma once
// The structural nonzero count of a Gram matrix, shared by the layer estimate (memory_limit.hpp:
// gram_nnz of a ConvSpec) and the estimate for any sparse matrix (solver_memory.hpp).

#include <cstddef>
#include <vector>

#include "convmat/core/index.hpp"

namespace convmat::detail {

// nnz(B Bᵀ) (rows_gram) or nnz(BᵀB) of the rows × cols matrix B whose CSR structure is
// row_start(r), r = 0 … rows, and column(k): two rows of B meet in B Bᵀ when they share a column,
// two columns in BᵀB when they share a row. Counted by marking, in O(Σ_c nnz(column c)² +
// Σ_r nnz(row r)²) time at most and O(nnz + rows + cols) memory. Structural: a product whose
// terms cancel still counts (what a symbolic factorization allocates).
template <class RowStart, class Column>
long double gram_nnz(Index rows, Index cols, RowStart row_start, Column column, bool rows_gram) {
  const auto at = [](Index i) { return static_cast<std::size_t>(i); };
  const Index nnz = row_start(rows);
  // Bᵀ in CSR: the rows of B reading each column.
  std::vector<Index> cptr(at(cols + 1), 0), cidx(at(nnz));
  for (Index k = 0; k < nnz; ++k) ++cptr[at(column(k) + 1)];
  for (Index c = 0; c < cols; ++c) cptr[at(c + 1)] += cptr[at(c)];
  std::vector<Index> next(cptr.begin(), cptr.end() - 1);
  for (Index r = 0; r < rows; ++r) {
    for (Index k = row_start(r); k < row_start(r + 1); ++k) cidx[at(next[at(column(k))]++)] = r;
  }
  // "Lines" are the rows of B (for B Bᵀ) or its columns (for BᵀB); two lines meet through an
  // "other" (a column, or a row) they share.
  const Index lines = rows_gram ? rows : cols;
  const auto line_start = [&](Index l) { return rows_gram ? row_start(l) : cptr[at(l)]; };
  const auto line_entry = [&](Index k) { return rows_gram ? Index(column(k)) : cidx[at(k)]; };
  const auto other_start = [&](Index o) { return rows_gram ? cptr[at(o)] : row_start(o); };
  const auto other_entry = [&](Index k) { return rows_gram ? cidx[at(k)] : Index(column(k)); };
  std::vector<Index> mark(at(lines), -1);
  long double count = 0;
  for (Index l = 0; l < lines; ++l) {
    for (Index k = line_start(l); k < line_start(l + 1); ++k) {
      const Index o = line_entry(k);
      for (Index q = other_start(o); q < other_start(o + 1); ++q) {
        const Index l2 = other_entry(q);
        if (mark[at(l2)] != l) {
          mark[at(l2)] = l;
          count += 1;
        }
      }
    }
  }
  return count;
}

// An upper bound on the same count without the marking, O(nnz): Σ over the shared dimension of
// (entries)², capped at lines².
template <class RowStart, class Column>
long double gram_nnz_bound(Index rows, Index cols, RowStart row_start, Column column,
                           bool rows_gram) {
  long double bound = 0;
  if (rows_gram) {
    std::vector<Index> per_column(static_cast<std::size_t>(cols), 0);
    for (Index k = 0; k < row_start(rows); ++k) ++per_column[static_cast<std::size_t>(column(k))];
    for (Index c : per_column) bound += static_cast<long double>(c) * static_cast<long double>(c);
  } else {
    for (Index r = 0; r < rows; ++r) {
      const auto e = static_cast<long double>(row_start(r + 1) - row_start(r));
      bound += e * e;
    }
  }
  const auto lines = static_cast<long double>(rows_gram ? rows : cols);
  return bound < lines * lines ? bound : lines * lines;
}

}  // namespace convmat::detail

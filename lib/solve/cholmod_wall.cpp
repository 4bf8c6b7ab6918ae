#include "cholmod_wall.hpp"

#include <cstring>
#include <string>

namespace convmat::detail {

namespace {

thread_local std::string cholmod_message;

// CHOLMOD's error hook has no user pointer: the message goes to a thread-local string.
void record(int status, const char* file, int line, const char* message) {
  cholmod_message = std::string(message ? message : "") + " (CHOLMOD status " +
                    std::to_string(status) + " at " + (file ? file : "?") + ":" +
                    std::to_string(line) + ")";
}

}  // namespace

CholmodCommon::CholmodCommon() {
  cholmod_l_start(&cc_);
  cc_.print = 0;  // no printing from the library; messages go to last_message()
  cc_.error_handler = record;
  cc_.final_ll = 1;  // simplicial factorizations LLᵀ too, so a non-positive pivot is reported
}

CholmodCommon::~CholmodCommon() { cholmod_l_finish(&cc_); }

std::string CholmodCommon::last_message() { return cholmod_message; }
void CholmodCommon::clear_message() { cholmod_message.clear(); }

template <class Scalar>
SparsePtr to_cholmod(const SparseRef<Scalar>& a, bool transpose, CholmodCommon& c) {
  // The arrays of `a` are the CSC of A (col-major) or of Aᵀ (row-major).
  const bool csc_of_transpose = a.row_major();
  const Index csc_rows = csc_of_transpose ? a.cols() : a.rows();
  const Index csc_cols = a.outer_size();
  const Index nnz = a.nnz();
  SparsePtr m = own(cholmod_l_allocate_sparse(static_cast<std::size_t>(csc_rows),
                                              static_cast<std::size_t>(csc_cols),
                                              static_cast<std::size_t>(nnz), /*sorted*/ 1,
                                              /*packed*/ 1, /*stype*/ 0, CHOLMOD_REAL, c.get()),
                    c);
  if (!m) cholmod_failure("cholmod_l_allocate_sparse", c);
  auto* p = static_cast<SuiteSparse_long*>(m->p);
  auto* i = static_cast<SuiteSparse_long*>(m->i);
  auto* x = static_cast<double*>(m->x);
  for (Index j = 0; j <= csc_cols; ++j) p[j] = a.outer(j);
  for (Index k = 0; k < nnz; ++k) {
    i[k] = a.inner(k);
    x[k] = static_cast<double>(a.value(k));
  }
  if (transpose == csc_of_transpose) return m;
  SparsePtr t = own(cholmod_l_transpose(m.get(), /*values*/ 1, c.get()), c);
  if (!t) cholmod_failure("cholmod_l_transpose", c);
  return t;
}

template SparsePtr to_cholmod<float>(const SparseRef<float>&, bool, CholmodCommon&);
template SparsePtr to_cholmod<double>(const SparseRef<double>&, bool, CholmodCommon&);

cholmod_dense view(double* data, Index rows, Index cols) {
  // CHOLMOD refuses a dense matrix whose value pointer is null ("invalid xtype"), even with no
  // entries, and an empty Eigen block (no right-hand sides: a batch of 0) has a null data():
  // such a block points at a placeholder that is never read or written.
  static double no_entries = 0;
  cholmod_dense d;
  std::memset(&d, 0, sizeof d);
  d.nrow = static_cast<std::size_t>(rows);
  d.ncol = static_cast<std::size_t>(cols);
  d.nzmax = d.nrow * d.ncol;
  d.d = d.nrow;
  d.x = data != nullptr || d.nzmax > 0 ? data : &no_entries;
  d.xtype = CHOLMOD_REAL;
  d.dtype = CHOLMOD_DOUBLE;
  return d;
}

void multiply(cholmod_sparse* a, bool transpose, const double* x, double* y, Index k,
              CholmodCommon& c) {
  const auto m = static_cast<Index>(a->nrow), n = static_cast<Index>(a->ncol);
  // sdmult reads X only; the header needs a non-const pointer.
  cholmod_dense xv = view(const_cast<double*>(x), transpose ? m : n, k);
  cholmod_dense yv = view(y, transpose ? n : m, k);
  double one[2] = {1, 0}, zero[2] = {0, 0};
  if (!cholmod_l_sdmult(a, transpose ? 1 : 0, one, zero, &xv, &yv, c.get())) {
    cholmod_failure("cholmod_l_sdmult", c);
  }
}

Eigen::MatrixXd to_eigen(const cholmod_dense& d) {
  Eigen::MatrixXd m(static_cast<Index>(d.nrow), static_cast<Index>(d.ncol));
  const auto* x = static_cast<const double*>(d.x);
  for (Index j = 0; j < m.cols(); ++j) {
    for (Index i = 0; i < m.rows(); ++i) m(i, j) = x[i + j * static_cast<Index>(d.d)];
  }
  return m;
}

void cholmod_failure(const char* what, CholmodCommon& c) {
  std::string message = std::string(what) + " failed";
  const std::string detail = CholmodCommon::last_message();
  if (!detail.empty()) message += ": " + detail;
  if (c.get()->status == CHOLMOD_OUT_OF_MEMORY) message += " (out of memory)";
  throw CholmodError(message);
}

}  // namespace convmat::detail

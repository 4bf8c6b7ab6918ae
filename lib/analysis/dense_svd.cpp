#include "convmat/analysis/detail/dense_svd.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <vector>

// LAPACK, Fortran calling convention: everything by pointer, the hidden lengths of the two
// CHARACTER arguments last (gfortran's ABI; ignored by C translations of LAPACK).
extern "C" void dgesvd_(const char* jobu, const char* jobvt, const int* m, const int* n, double* a,
                        const int* lda, double* s, double* u, const int* ldu, double* vt,
                        const int* ldvt, double* work, const int* lwork, int* info,
                        std::size_t jobu_length, std::size_t jobvt_length);

// Divide and conquer: several times faster than dgesvd when singular vectors are wanted (NumPy's
// svd and pinv use it too). Its convergence failures are rare; dgesvd is the fallback.
extern "C" void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda,
                        double* s, double* u, const int* ldu, double* vt, const int* ldvt,
                        double* work, const int* lwork, int* iwork, int* info,
                        std::size_t jobz_length);

namespace convmat::detail {

namespace {

// dgesdd on a copy of `a`; false when it did not converge (a is then left for dgesvd).
bool divide_and_conquer(const Eigen::MatrixXd& a, char job, DenseSvd& r, double* u, int ldu,
                        double* vt, int ldvt) {
  Eigen::MatrixXd work_a = a;
  const int m = static_cast<int>(a.rows()), n = static_cast<int>(a.cols());
  const int k = std::min(m, n);
  std::vector<int> iwork(static_cast<std::size_t>(8) * static_cast<std::size_t>(k));
  int info = 0, lwork = -1;
  double query = 0;
  dgesdd_(&job, &m, &n, work_a.data(), &m, r.values.data(), u, &ldu, vt, &ldvt, &query, &lwork,
          iwork.data(), &info, 1);
  lwork = static_cast<int>(query);
  std::vector<double> work(static_cast<std::size_t>(std::max(lwork, 1)));
  dgesdd_(&job, &m, &n, work_a.data(), &m, r.values.data(), u, &ldu, vt, &ldvt, work.data(), &lwork,
          iwork.data(), &info, 1);
  if (info < 0) throw std::logic_error("dgesdd: invalid argument " + std::to_string(-info));
  return info == 0;
}

}  // namespace

DenseSvd dense_svd(Eigen::MatrixXd a, bool vectors) {
  DenseSvd r;
  const Eigen::Index k = std::min(a.rows(), a.cols());
  r.values.resize(k);
  if (k == 0) return r;
  if (a.rows() > std::numeric_limits<int>::max() || a.cols() > std::numeric_limits<int>::max()) {
    throw std::invalid_argument("dense_svd: the matrix is too large for LAPACK's 32-bit sizes");
  }
  const int m = static_cast<int>(a.rows()), n = static_cast<int>(a.cols()),
            kk = static_cast<int>(k);
  const char job = vectors ? 'S' : 'N';  // 'S': the min(m, n) leading singular vectors
  if (vectors) {
    r.u.resize(m, k);
    r.vt.resize(k, n);
  }
  double* u = vectors ? r.u.data() : nullptr;
  double* vt = vectors ? r.vt.data() : nullptr;
  const int ldu = vectors ? m : 1, ldvt = vectors ? kk : 1;
  if (divide_and_conquer(a, job, r, u, ldu, vt, ldvt)) {
    r.converged = true;
    return r;
  }
  int info = 0, lwork = -1;
  double query = 0;
  dgesvd_(&job, &job, &m, &n, a.data(), &m, r.values.data(), u, &ldu, vt, &ldvt, &query, &lwork,
          &info, 1, 1);
  lwork = static_cast<int>(query);
  std::vector<double> work(static_cast<std::size_t>(std::max(lwork, 1)));
  dgesvd_(&job, &job, &m, &n, a.data(), &m, r.values.data(), u, &ldu, vt, &ldvt, work.data(),
          &lwork, &info, 1, 1);
  if (info < 0) throw std::logic_error("dgesvd: invalid argument " + std::to_string(-info));
  r.converged = info == 0;
  return r;
}

}  // namespace convmat::detail

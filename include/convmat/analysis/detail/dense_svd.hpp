#pragma once
// The dense SVD behind singular_values and pseudo_inverse: LAPACK's dgesdd (divide and conquer),
// and dgesvd (QR iteration on the bidiagonal form) when dgesdd does not converge; OpenBLAS's
// LAPACK on Debian. Not Eigen 3.4.0's BDCSVD, which reads out of
// bounds in BDCSVD::perturbCol0 on structured matrices with many equal singular values — exactly
// what convolution matrices with integer kernels are (the same assertion as in
// tensorflow/tensorflow#9234); JacobiSVD is correct but takes minutes at 1024 × 1024.

#include <Eigen/Core>

namespace convmat::detail {

struct DenseSvd {
  Eigen::VectorXd values;  // min(m, n), descending
  Eigen::MatrixXd u;       // m × min(m, n) when vectors were asked for
  Eigen::MatrixXd vt;      // min(m, n) × n
  bool converged = true;   // INFO == 0 from dgesdd or, failing that, dgesvd
};

// a is taken by value: LAPACK overwrites it.
DenseSvd dense_svd(Eigen::MatrixXd a, bool vectors);

}  // namespace convmat::detail

#pragma once
// The dense SVD behind singular_values and pseudo_inverse: LAPACK's dgesvd (QR iteration on the
// bidiagonal form; OpenBLAS's LAPACK on Debian). Not Eigen 3.4.0's BDCSVD, which reads out of
// bounds in BDCSVD::perturbCol0 on structured matrices with many equal singular values — exactly
// what convolution matrices with integer kernels are (the same assertion as in
// tensorflow/tensorflow#9234); JacobiSVD is correct but takes minutes at 1024 × 1024.

#include <Eigen/Core>

namespace convmat::detail {

struct DenseSvd {
  Eigen::VectorXd values;  // min(m, n), descending
  Eigen::MatrixXd u;       // m × min(m, n) when vectors were asked for
  Eigen::MatrixXd vt;      // min(m, n) × n
  bool converged = true;   // dgesvd's INFO == 0 (INFO > 0: the bidiagonal QR did not converge)
};

// a is taken by value: dgesvd overwrites it.
DenseSvd dense_svd(Eigen::MatrixXd a, bool vectors);

}  // namespace convmat::detail

#include "convmat/solve/lsq_types.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

#include "lsq_common.hpp"

namespace convmat {

std::string to_string(LsqMethod method) {
  switch (method) {
    case LsqMethod::qr: return "qr";
    case LsqMethod::cholesky: return "cholesky";
    case LsqMethod::lsqr: return "lsqr";
    case LsqMethod::lsmr: return "lsmr";
  }
  return "?";
}

LsqMethod lsq_method_from_string(std::string_view name) {
  for (LsqMethod m : {LsqMethod::qr, LsqMethod::cholesky, LsqMethod::lsqr, LsqMethod::lsmr}) {
    if (name == to_string(m)) return m;
  }
  throw std::invalid_argument("unknown least-squares method '" + std::string(name) +
                              "': expected qr, cholesky, lsqr or lsmr");
}

std::string to_string(LsqStatus status) {
  switch (status) {
    case LsqStatus::success: return "success";
    case LsqStatus::condition_limit: return "condition_limit";
    case LsqStatus::iteration_limit: return "iteration_limit";
    case LsqStatus::not_positive_definite: return "not_positive_definite";
    case LsqStatus::cancelled: return "cancelled";
    case LsqStatus::numerical_issue: return "numerical_issue";
  }
  return "?";
}

std::string to_string(CholeskyForm form) {
  switch (form) {
    case CholeskyForm::automatic: return "automatic";
    case CholeskyForm::normal_equations: return "normal_equations";
    case CholeskyForm::min_norm: return "min_norm";
  }
  return "?";
}

CholeskyForm cholesky_form_from_string(std::string_view name) {
  for (CholeskyForm f :
       {CholeskyForm::automatic, CholeskyForm::normal_equations, CholeskyForm::min_norm}) {
    if (name == to_string(f)) return f;
  }
  throw std::invalid_argument("unknown Cholesky form '" + std::string(name) +
                              "': expected automatic, normal_equations or min_norm");
}

namespace {

void require_nonnegative(const char* name, double v, const char* extra = "") {
  if (!(std::isfinite(v) && v >= 0)) {
    throw std::invalid_argument(std::string(name) + " must be finite and >= 0" + extra + ", got " +
                                name + " = " + detail::number(v));
  }
}

}  // namespace

void validate(const LsqOptions& o) {
  require_nonnegative("damp", o.damp);
  if (!std::isfinite(o.damp * o.damp)) {  // every method adds λ²: it must not overflow
    throw std::invalid_argument("damp² must be finite (damp <= 1.34e154), got damp = " +
                                detail::number(o.damp));
  }
  require_nonnegative("atol", o.atol);
  require_nonnegative("btol", o.btol);
  require_nonnegative("conlim", o.conlim, " (0: no limit)");
  if (o.iteration_limit < 0) {
    throw std::invalid_argument("iteration_limit must be >= 0 (0: 2·cols), got iteration_limit = " +
                                std::to_string(o.iteration_limit));
  }
  if (std::isnan(o.qr_tolerance)) {
    throw std::invalid_argument(
        "qr_tolerance must be a number (negative: SPQR's default), got qr_tolerance = nan");
  }
}

Index iteration_limit(const LsqOptions& options, Index cols) {
  return options.iteration_limit > 0 ? options.iteration_limit : 2 * cols;
}

namespace detail {

std::string number(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

template <class Scalar>
void check_rhs(const char* who, Index rows, const Eigen::Ref<const DenseMatrix<Scalar>>& b) {
  if (b.rows() != rows) {
    throw std::invalid_argument(std::string(who) +
                                ": b must have A.rows() = " + std::to_string(rows) + " rows, got " +
                                std::to_string(b.rows()) + " (b is " + std::to_string(b.rows()) +
                                "x" + std::to_string(b.cols()) + ")");
  }
  for (Index j = 0; j < b.cols(); ++j) {
    for (Index i = 0; i < b.rows(); ++i) {
      if (!std::isfinite(b(i, j))) {
        throw std::invalid_argument(std::string(who) + ": b must be finite, got b(" +
                                    std::to_string(i) + ", " + std::to_string(j) +
                                    ") = " + number(static_cast<double>(b(i, j))));
      }
    }
  }
}

template <class Scalar>
void check_matrix(const char* who, const SparseRef<Scalar>& a) {
  if (a.rows() < 1 || a.cols() < 1) {
    throw std::invalid_argument(std::string(who) +
                                ": A must have at least one row and column, got " +
                                std::to_string(a.rows()) + "x" + std::to_string(a.cols()));
  }
  check_finite(who, a);
}

template <class Scalar>
void check_finite(const char* who, const SparseRef<Scalar>& a) {
  for (Index j = 0; j < a.outer_size(); ++j) {
    for (Index k = a.outer(j); k < a.outer(j + 1); ++k) {
      if (!std::isfinite(a.value(k))) {
        const Index r = a.row_major() ? j : a.inner(k), c = a.row_major() ? a.inner(k) : j;
        throw std::invalid_argument(std::string(who) + ": A must be finite, got A(" +
                                    std::to_string(r) + ", " + std::to_string(c) +
                                    ") = " + number(static_cast<double>(a.value(k))));
      }
    }
  }
}

template void check_rhs<float>(const char*, Index, const Eigen::Ref<const DenseMatrix<float>>&);
template void check_rhs<double>(const char*, Index, const Eigen::Ref<const DenseMatrix<double>>&);
template void check_matrix<float>(const char*, const SparseRef<float>&);
template void check_matrix<double>(const char*, const SparseRef<double>&);
template void check_finite<float>(const char*, const SparseRef<float>&);
template void check_finite<double>(const char*, const SparseRef<double>&);

}  // namespace detail

}  // namespace convmat

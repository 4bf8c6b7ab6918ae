#include "convmat/solve/solver_memory.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>

#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/detail/gram_count.hpp"

namespace convmat {

namespace {

bool factorizes(LsqMethod method) {
  return method == LsqMethod::qr || method == LsqMethod::cholesky;
}

// limit.method_format with the method's name for "{}".
std::string method_phrase(const MemoryLimit& limit, LsqMethod method) {
  std::string s = limit.method_format;
  const std::size_t at = s.find("{}");
  return at == std::string::npos ? s + " " + to_string(method)
                                 : s.replace(at, 2, to_string(method));
}

std::string bytes(long double b) { return human_bytes(static_cast<double>(b)); }

// Saturating: the estimates may pass 2⁶⁴ for impossible problems.
std::uint64_t to_bytes(long double b) {
  return b >= 1.8e19L ? UINT64_MAX : static_cast<std::uint64_t>(std::max(b, 0.0L));
}

// Throws unless matrix + arrays + solver fit; `subject` is what the solve is on ("layer",
// "matrix", "operator"), `matrix_name` how the message names its matrix ("W", "A"; empty: none).
void require_total(const MemoryLimit& limit, LsqMethod method, std::string_view subject,
                   std::string_view matrix_name, long double matrix_bytes, long double array_bytes,
                   long double solver) {
  const long double total = matrix_bytes + array_bytes + solver;
  if (total <= static_cast<long double>(limit.bytes)) return;
  char fill[32];
  std::snprintf(fill, sizeof fill, "%g", factor_fill_estimate);
  const bool factor = factorizes(method);
  std::string parts;
  if (!matrix_name.empty()) parts = std::string(matrix_name) + " " + bytes(matrix_bytes) + ", ";
  parts += "the solver " + bytes(solver);
  if (factor)
    parts += std::string(", its factor estimated as ") + fill + " x nnz of the Gram matrix";
  throw MemoryLimitExceeded(
      method_phrase(limit, method) + " on this " + std::string(subject) + " needs about " +
      bytes(total) + " (" + parts + "), more than the limit of " +
      bytes(static_cast<long double>(limit.bytes)) + " (" + limit.source + ")" +
      (factor ? "; " + method_phrase(limit, LsqMethod::lsmr) + " needs only a few vectors" : "") +
      (limit.raise.empty() ? "" : "; " + limit.raise));
}

// gram_nnz / its bound on a SparseRef: CSR of A, or (CSC) CSR of Aᵀ with the roles swapped.
template <class Scalar, class Count>
long double on_structure(const SparseRef<Scalar>& a, bool rows_gram, Count count) {
  const auto outer = [&](Index j) { return a.outer(j); };
  const auto inner = [&](Index k) { return a.inner(k); };
  return a.row_major() ? count(a.rows(), a.cols(), outer, inner, rows_gram)
                       : count(a.cols(), a.rows(), outer, inner, !rows_gram);
}

}  // namespace

bool factors_row_gram(LsqMethod method, Index rows, Index cols, const LsqOptions& options) {
  const bool wide = rows < cols;
  switch (method) {
    case LsqMethod::qr: return wide && options.damp == 0;
    case LsqMethod::cholesky:
      return options.cholesky_form == CholeskyForm::automatic
                 ? wide
                 : options.cholesky_form == CholeskyForm::min_norm;
    case LsqMethod::lsqr:
    case LsqMethod::lsmr: return false;
  }
  return false;
}

template <class Scalar>
long double gram_nnz(SparseRef<Scalar> a, bool rows_gram) {
  return on_structure(a, rows_gram, [](Index r, Index c, auto outer, auto inner, bool g) {
    return detail::gram_nnz(r, c, outer, inner, g);
  });
}

long double solver_bytes(LsqMethod method, Index rows, Index cols, Index nnz, long double gram_nnz,
                         const LsqOptions& options, Index samples) {
  const long double copy = 16.0L * static_cast<long double>(nnz);
  const long double factor = 16 * factor_fill_estimate * gram_nnz;
  switch (method) {
    case LsqMethod::qr: return copy + 2 * factor;
    case LsqMethod::cholesky: return copy + factor;
    case LsqMethod::lsqr:
    case LsqMethod::lsmr:
      return static_cast<long double>(samples) * 8.0L *
             (8 * static_cast<long double>(std::max(rows, cols)) +
              static_cast<long double>(iteration_limit(options, cols) + 1));
  }
  return 0;
}

void require_solver_memory(const MemoryLimit& limit, const ConvSpec& spec, std::size_t value_bytes,
                           LsqMethod method, const LsqOptions& options, Index samples,
                           long double array_bytes) {
  require_memory(limit, spec, to_bytes(array_bytes), value_bytes);
  const Index rows = spec.output_numel(), cols = spec.input_numel();
  const long double gram =
      factorizes(method) ? gram_nnz(spec, factors_row_gram(method, rows, cols, options)) : 0;
  const long double solver =
      solver_bytes(method, rows, cols, conv_matrix_nnz(spec), gram, options, samples);
  require_total(limit, method, "layer", "W",
                static_cast<long double>(conv_matrix_bytes(spec, value_bytes)), array_bytes,
                solver);
}

template <class Scalar>
void require_solver_memory(const MemoryLimit& limit, SparseRef<Scalar> a, long double matrix_bytes,
                           LsqMethod method, const LsqOptions& options, Index samples,
                           long double array_bytes) {
  const bool rows_gram = factors_row_gram(method, a.rows(), a.cols(), options);
  const auto solver = [&](long double gram) {
    return solver_bytes(method, a.rows(), a.cols(), a.nnz(), gram, options, samples);
  };
  long double gram = 0;
  if (factorizes(method)) {
    // The O(nnz) bound first; the count (O(Σ entries²)) only when the bound does not fit.
    gram = on_structure(a, rows_gram, [](Index r, Index c, auto outer, auto inner, bool g) {
      return detail::gram_nnz_bound(r, c, outer, inner, g);
    });
    if (matrix_bytes + array_bytes + solver(gram) > static_cast<long double>(limit.bytes))
      gram = gram_nnz(a, rows_gram);
  }
  require_total(limit, method, "matrix", "A", matrix_bytes, array_bytes, solver(gram));
}

void require_solver_memory(const MemoryLimit& limit, Index rows, Index cols, LsqMethod method,
                           const LsqOptions& options, Index samples, long double array_bytes) {
  require_total(limit, method, "operator", "", 0, array_bytes,
                solver_bytes(method, rows, cols, 0, 0, options, samples));
}

template long double gram_nnz<float>(SparseRef<float>, bool);
template long double gram_nnz<double>(SparseRef<double>, bool);
template void require_solver_memory<float>(const MemoryLimit&, SparseRef<float>, long double,
                                           LsqMethod, const LsqOptions&, Index, long double);
template void require_solver_memory<double>(const MemoryLimit&, SparseRef<double>, long double,
                                            LsqMethod, const LsqOptions&, Index, long double);

}  // namespace convmat

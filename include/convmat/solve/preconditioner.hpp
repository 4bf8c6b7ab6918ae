#pragma once
// Preconditioners for LSQR and LSMR that keep the answer: the limit is still the minimum-norm
// least-squares solution x̂ = A⁺b (damped: the Tikhonov solution), only reached in far fewer
// iterations.
//
// A square, invertible S is applied on one side of A (m × n):
//   left   min ‖S (A x − b)‖   — the iterates stay in range(Aᵀ) (Sᵀ is invertible), so the limit
//          is the minimum-norm solution whenever A x = b is consistent: always when A has full
//          row rank (a wide layer: more inputs than outputs). With S Sᵀ ≈ (A Aᵀ)⁻¹ this is
//          preconditioned CG on A Aᵀ z = b with x = Aᵀ z (Craig's method), in LSQR's stable form.
//   right  min ‖A S y − b‖, x = S y — the residual is A's own, so the limit is a least-squares
//          solution, and the minimum-norm one whenever A has full column rank (a tall layer).
//          With Sᵀ S ≈ (AᵀA)⁻¹ this is preconditioned CG on the normal equations.
// (A plain right preconditioner on a wide A converges to the x of least ‖S⁻¹x‖ instead: for the
// 128², 7×7 Gaussian deconvolution problem 46–246 % away from A⁺b.) With damp λ > 0 the solvers
// precondition the augmented systems instead, [A, λI] on the left (consistent, full row rank) or
// [A; λI] on the right (full column rank), so the damped answer is exact for every A.
//
// LayerPreconditioner builds S from a layer's spec and weight, never from W: the layer's Gram
// matrix on the preconditioned side (A Aᵀ on the left, AᵀA on the right) is block Toeplitz — in
// the interior, row (c, p) and row (c', p') meet through the kernel's autocorrelation
//   G[(c, p), (c', p')] = Γ(p' − p)[c, c']      (a C × C matrix for every offset),
// exactly so for a valid convolution — and a fast transform Q nearly diagonalizes it:
//   circulant  periodic boundary, Q = the DFT: G ≈ Q Λ Q*, Λ(k) = Σ_Δ Γ(Δ) e^{2πi k·Δ/M} (Strang's
//              circulant when the grid M is wider than the autocorrelation; exact for circular
//              padding, stride 1);
//   dct        reflective (Neumann) boundary, Q = the DCT-II: Λ(j) = Σ_Δ Γ(Δ) Π_a cos(π j_a Δ_a /
//              M_a) — for a mirror-symmetric kernel exactly the Toeplitz-plus-Hankel matrix of
//              reflective boundary conditions (Ng, Chan & Tang 1999), otherwise its symmetrized
//              approximation.
// For C channels Λ is a C × C block per frequency — the per-frequency matrices P(ω)P(ω)* of
// Sedghi, Gupta & Long's singular values (spectrum.hpp) — and S = Q (Λ + δ²I)^(−1/2) Q* per
// block (eigenvalues below 10⁻¹⁴·max Λ are raised to it). A stride-s layer is the stride-1 layer
// on s^d polyphase channels (input position s·q + φ is channel φ at q): its output-side Gram is
// Toeplitz on the output grid, its input-side Gram on the polyphase grid. Groups are independent
// blocks. A transposed layer is Wᵀ of its stored convolution W, so its sides swap. Padding other
// than zeros enters only through the boundary, which the transform approximates anyway.
// Building costs O(frequencies · Γ's offsets · C²) plus one eigendecomposition per frequency;
// applying, two FFTs (or DCTs) per channel and one C × C product per frequency (FFTW, double).
//
// Hansen, Nagy & O'Leary, "Deblurring Images" (SIAM 2006), ch. 4–6; Hanke, Nagy & Plemmons,
// "Preconditioned iterative regularization for ill-posed problems" (1993) for δ.

#include <Eigen/Core>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/conv_spec.hpp"
#include "convmat/core/linear_operator.hpp"
#include "convmat/solve/lsq_types.hpp"

namespace convmat {

enum class PreconditionerSide { left, right };
std::string to_string(PreconditionerSide side);
inline std::ostream& operator<<(std::ostream& os, PreconditionerSide s) {
  return os << to_string(s);
}

// The side that keeps the answer for an m × n operator: left when m <= n, right otherwise.
inline PreconditionerSide preconditioner_side(Index rows, Index cols) {
  return rows <= cols ? PreconditionerSide::left : PreconditionerSide::right;
}

// S for LSQR/LSMR: a square operator (size: rows of A on the left, columns on the right) with
// its adjoint, and the side it goes on.
template <class Scalar>
class Preconditioner : public LinearOperator<Scalar> {
 public:
  virtual PreconditionerSide side() const = 0;
  // "dct", "circulant", "custom": what the solver reports.
  virtual std::string name() const { return "custom"; }
  // Its regularization δ, when it has one (reported).
  virtual double delta() const { return 0; }
};

// A user-supplied S (any square LinearOperator, e.g. an incomplete factorization's inverse) on
// the given side. Holds a reference: `s` must outlive it.
template <class Scalar>
class OperatorPreconditioner final : public Preconditioner<Scalar> {
 public:
  OperatorPreconditioner(const LinearOperator<Scalar>& s, PreconditionerSide side);
  Index rows() const override { return s_.rows(); }
  Index cols() const override { return s_.cols(); }
  void apply(const Scalar* x, Scalar* y) const override { s_.apply(x, y); }
  void apply_adjoint(const Scalar* y, Scalar* x) const override { s_.apply_adjoint(y, x); }
  PreconditionerSide side() const override { return side_; }

 private:
  const LinearOperator<Scalar>& s_;
  PreconditionerSide side_;
};

namespace detail {
class SpectralGram;  // lib/solve/spectral_gram.hpp: Λ and the transforms (FFTW stays in lib/)
}

// What `automatic` means for a layer: circulant for circular padding, and for a kernel whose
// Gram generator Γ is not symmetric under reflecting each axis (Γ(Δ) ≠ Γ(σ∘Δ) beyond rounding:
// the DCT's symmetrized Λ would miss it); dct otherwise (symmetric kernels: blur, box, Laplacian).
template <class Scalar>
PreconditionerKind automatic_preconditioner(const ConvSpec& spec, const Scalar* weight,
                                            PreconditionerSide side);

struct LayerPreconditionerOptions {
  PreconditionerKind kind = PreconditionerKind::automatic;  // dct, circulant or automatic
  double delta = 0;                                         // δ >= 0: S inverts G + δ²I
  // λ >= 0 of a damped solve: S then inverts G + (λ² + δ²)I, the Gram matrix of the augmented
  // system the solvers precondition (see above).
  double damp = 0;
  std::optional<PreconditionerSide> side;  // default: preconditioner_side of the operator
  bool adjoint = false;                    // precondition Mᵀ instead of M (deconvolve_adjoint)
};

// The FFT- or DCT-diagonalized preconditioner of a layer's map M (W, or Wᵀ when transposed).
template <class Scalar>
class LayerPreconditioner final : public Preconditioner<Scalar> {
 public:
  // weight: spec.weight_numel() values, PyTorch's layout. Throws std::invalid_argument for a
  // null weight, kind none, or a negative or non-finite δ or λ.
  LayerPreconditioner(const ConvSpec& spec, const Scalar* weight,
                      const LayerPreconditionerOptions& options = {});
  ~LayerPreconditioner() override;
  LayerPreconditioner(LayerPreconditioner&&) noexcept;
  LayerPreconditioner& operator=(LayerPreconditioner&&) noexcept;

  Index rows() const override { return size_; }
  Index cols() const override { return size_; }
  void apply(const Scalar* x, Scalar* y) const override;          // y = S x
  void apply_adjoint(const Scalar* y, Scalar* x) const override;  // S is symmetric: the same
  PreconditionerSide side() const override { return side_; }
  std::string name() const override { return to_string(kind_); }

  PreconditionerKind kind() const { return kind_; }  // dct or circulant (automatic resolved)
  double delta() const override { return delta_; }
  double damp() const { return damp_; }
  // The same Λ with another δ (cheap: no new transform or Γ).
  void set_delta(double delta);

  // The diagonalized Gram matrix G ≈ Q Λ Q* on the preconditioned side (size() × size(), on the
  // polyphase grid for a strided layer's input side).
  const detail::SpectralGram& gram() const { return *gram_; }

 private:
  std::shared_ptr<const detail::SpectralGram> gram_;
  PreconditionerKind kind_;
  PreconditionerSide side_;
  double delta_ = 0, damp_ = 0;
  Index size_ = 0;
  std::vector<double> blocks_;  // (Λ + (λ² + δ²)I)^(−1/2) per frequency: see spectral_gram.hpp
  void rebuild();
};

// The smallest and largest singular value of the FFT-diagonalized approximation of M:
// √min Λ and √max Λ on the smaller side. For a stride-1 layer an O(n log n) estimate of σ_min(M)
// — exact for circular padding, within O(1/n) of it for symmetric kernels, and no bound in
// general (a banded Toeplitz matrix can be far more ill-conditioned than its symbol).
struct SpectralEstimate {
  double sigma_min = 0, sigma_max = 0;
  PreconditionerKind kind = PreconditionerKind::dct;
};
template <class Scalar>
SpectralEstimate spectral_singular_value_estimate(
    const ConvSpec& spec, const Scalar* weight,
    PreconditionerKind kind = PreconditionerKind::automatic);

extern template class OperatorPreconditioner<float>;
extern template class OperatorPreconditioner<double>;
extern template class LayerPreconditioner<float>;
extern template class LayerPreconditioner<double>;

}  // namespace convmat

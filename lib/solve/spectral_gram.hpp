#pragma once
// The Gram matrix of a layer's stored W on one side, as a fast transform diagonalizes it
// (preconditioner.hpp explains the approximation). Internal to lib/: FFTW stays behind it.
//
// Sides of the stored convolution W (conv_pattern.hpp: rows (c_out, output position), columns
// (c_in, input position)):
//   rows  G = W Wᵀ on W's output grid, C_out channels;
//   cols  G = WᵀW on W's input grid, as the polyphase grid of a stride-s layer: input position
//         x = s·q + φ (per axis) is channel (c_in, φ) at q, q < ⌈n/s⌉; positions beyond the
//         input are padding of the transform, never of the operator (restriction and extension
//         by zeros keep S symmetric positive definite).
// In polyphase terms a tap t of axis a reads x = s·p + u with u = t·d − pad_begin, i.e. phase
// φ = u mod s at offset τ = ⌊u/s⌋ from p, so W is the stride-1 map y[o, p] = Σ K[o, c', τ]
// x'[c', p + τ] and, with G[p, p'] = Γ(p' − p):
//   rows  Γ(Δ)[o, o'] = Σ_{c', τ} K[o, c', τ] K[o', c', τ − Δ]
//   cols  Γ(Δ)[c, c'] = Σ_{o, τ} K[o, c, τ] K[o, c', τ + Δ]
// Groups do not meet: Γ is one block per group.

#include <complex>
#include <memory>
#include <vector>

#include "convmat/core/conv_spec.hpp"
#include "convmat/solve/lsq_types.hpp"

namespace convmat::detail {

// Γ on a box of offsets Δ_a ∈ [−span_a, span_a] (axes right-aligned into three), one
// block × block matrix per group and offset.
struct GramGenerator {
  bool rows_side = true;
  std::array<Index, 3> grid{1, 1, 1};    // the transform grid M_a (polyphase for cols)
  std::array<Index, 3> actual{1, 1, 1};  // the side's own grid (cols: the input size)
  std::array<Index, 3> stride{1, 1, 1};  // polyphase factors (cols side; 1 on the rows side)
  std::array<Index, 3> span{0, 0, 0};
  Index groups = 1;
  Index channels_per_group = 1;  // of the side itself (C_out/g or C_in/g)
  Index block = 1;               // channels_per_group · Π stride: the block of Λ per frequency
  std::vector<double> gamma;     // [group][Δ0][Δ1][Δ2][block][block]

  Index box(int a) const { return 2 * span[static_cast<std::size_t>(a)] + 1; }
  Index box_size() const { return box(0) * box(1) * box(2); }
  Index size() const;  // the side's dimension: channels · Π actual
  // Γ(Δ) = Γ(Δ with axis a reflected) for every Δ and a, to 10⁻⁹·max|Γ|.
  bool mirror_symmetric() const;
};

template <class Scalar>
GramGenerator gram_generator(const ConvSpec& spec, const Scalar* weight, bool rows_side);

// Λ per frequency and its eigendecomposition; applies Q f(Λ) Q* in O(n log n).
class SpectralGram {
 public:
  SpectralGram(GramGenerator generator, PreconditionerKind kind);  // kind: dct or circulant
  ~SpectralGram();
  SpectralGram(const SpectralGram&) = delete;
  SpectralGram& operator=(const SpectralGram&) = delete;

  PreconditionerKind kind() const { return kind_; }
  const GramGenerator& generator() const { return g_; }
  Index size() const { return g_.size(); }
  // Stored frequencies: circulant M0·M1·(⌊M2/2⌋ + 1) (FFTW's half spectrum), dct M0·M1·M2.
  Index frequencies() const { return frequencies_; }
  // Eigenvalues of Λ: [frequency][group][i], ascending within a block.
  const std::vector<double>& eigenvalues() const { return eigenvalues_; }
  // How many frequencies each stored one stands for (the half spectrum's mirror images): 1 or 2.
  const std::vector<double>& multiplicity() const { return multiplicity_; }
  double max_eigenvalue() const { return max_eigenvalue_; }
  double min_eigenvalue() const { return min_eigenvalue_; }  // over the transform grid

  // The blocks of Q f(Λ) Q* for a real function f of the eigenvalues, in the layout
  // apply_blocks takes (one real per frequency and group when block = 1; else block² reals
  // (dct) or complex numbers (circulant) per frequency and group).
  template <class F>
  std::vector<double> function_blocks(F&& f) const;
  // y = Q F Q* x (x, y: size() entries in the side's layout, channel-major C order).
  void apply_blocks(const std::vector<double>& blocks, const double* x, double* y) const;
  // e[frequency][group][i] = the energy of x along eigenvector i of that block, with the
  // multiplicity folded in: Σ e = ‖E x‖² where E embeds x in the transform grid.
  std::vector<double> eigen_energies(const double* x) const;

 private:
  struct Transform;  // FFTW plans and buffers
  void to_grid(const double* x, double* buffer) const;
  void from_grid(const double* buffer, double* y) const;
  template <class Visit>
  void for_each_grid_position(Visit&& visit) const;

  GramGenerator g_;
  PreconditionerKind kind_;
  Index frequencies_ = 0;
  std::vector<double> eigenvalues_, multiplicity_;
  std::vector<std::complex<double>> vectors_;  // [frequency][group][block][block], when block > 1
  double max_eigenvalue_ = 0, min_eigenvalue_ = 0;
  std::unique_ptr<Transform> transform_;
};

template <class F>
std::vector<double> SpectralGram::function_blocks(F&& f) const {
  const Index b = g_.block, groups = g_.groups;
  const Index count = frequencies_ * groups;
  const bool complex_blocks = kind_ == PreconditionerKind::circulant;
  std::vector<double> out;
  if (b == 1) {
    out.resize(static_cast<std::size_t>(count));
    for (Index i = 0; i < count; ++i) out[i] = f(eigenvalues_[static_cast<std::size_t>(i)]);
    return out;
  }
  const Index per = complex_blocks ? 2 * b * b : b * b;
  out.assign(static_cast<std::size_t>(count * per), 0.0);
#pragma omp parallel for schedule(static) if (count * b * b * b > (1 << 20))
  for (Index fg = 0; fg < count; ++fg) {
    const std::complex<double>* v = vectors_.data() + fg * b * b;  // column-major: v[i + j·b]
    const double* ev = eigenvalues_.data() + fg * b;
    std::vector<double> fe(static_cast<std::size_t>(b));
    for (Index j = 0; j < b; ++j) fe[j] = f(ev[j]);
    double* o = out.data() + fg * per;
    for (Index r = 0; r < b; ++r) {
      for (Index c = 0; c < b; ++c) {
        std::complex<double> s = 0;
        for (Index j = 0; j < b; ++j) s += v[r + j * b] * fe[j] * std::conj(v[c + j * b]);
        if (complex_blocks) {
          o[2 * (r * b + c)] = s.real();
          o[2 * (r * b + c) + 1] = s.imag();
        } else {
          o[r * b + c] = s.real();
        }
      }
    }
  }
  return out;
}

}  // namespace convmat::detail

#include "spectral_gram.hpp"

#include <fftw3.h>
#include <omp.h>

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <mutex>
#include <numbers>
#include <stdexcept>

namespace convmat::detail {

namespace {

// FFTW's planner is not thread-safe (executing a plan is): every plan is made and destroyed
// under this lock.
std::mutex& fftw_planner_lock() {
  static std::mutex lock;
  return lock;
}

// Memory from fftw_malloc (aligned for FFTW's SIMD code), freed on scope exit.
template <class T>
class FftwBuffer {
 public:
  explicit FftwBuffer(Index n)
      : p_(static_cast<T*>(fftw_malloc(sizeof(T) * std::max<Index>(n, 1)))) {
    if (!p_) throw std::bad_alloc();
  }
  ~FftwBuffer() { fftw_free(p_); }
  FftwBuffer(const FftwBuffer&) = delete;
  FftwBuffer& operator=(const FftwBuffer&) = delete;
  T* get() const { return p_; }

 private:
  T* p_;
};

// Per-frequency work above this many flops runs on all threads.
constexpr Index parallel_work = 1 << 16;

}  // namespace

Index GramGenerator::size() const {
  return groups * channels_per_group * actual[0] * actual[1] * actual[2];
}

bool GramGenerator::mirror_symmetric() const {
  double largest = 0;
  for (double v : gamma) largest = std::max(largest, std::abs(v));
  const double tol = 1e-9 * largest;
  const Index bb = block * block;
  const Index b0 = box(0), b1 = box(1), b2 = box(2);
  for (Index g = 0; g < groups; ++g) {
    const double* gg = gamma.data() + g * box_size() * bb;
    for (Index i0 = 0; i0 < b0; ++i0) {
      for (Index i1 = 0; i1 < b1; ++i1) {
        for (Index i2 = 0; i2 < b2; ++i2) {
          const Index here = (i0 * b1 + i1) * b2 + i2;
          const Index mirrors[3] = {((b0 - 1 - i0) * b1 + i1) * b2 + i2,
                                    (i0 * b1 + (b1 - 1 - i1)) * b2 + i2,
                                    (i0 * b1 + i1) * b2 + (b2 - 1 - i2)};
          for (Index m : mirrors) {
            for (Index e = 0; e < bb; ++e) {
              if (std::abs(gg[here * bb + e] - gg[m * bb + e]) > tol) return false;
            }
          }
        }
      }
    }
  }
  return true;
}

template <class Scalar>
GramGenerator gram_generator(const ConvSpec& spec, const Scalar* weight, bool rows_side) {
  if (spec.has_input_dilation()) {
    // The polyphase model below reads the input at stride spacing; the inserted zeros of an input
    // dilation break its shift invariance.
    throw std::invalid_argument(
        "the FFT and DCT models of a layer (preconditioners, the GCV damp of the diagonalized "
        "problem) do not take an input dilation (XLA's lhs_dilation with a window stride), got " +
        spec.to_string());
  }
  // The stored convolution (conv_pattern.cpp): a transposed layer's rows run over its input.
  const bool t = spec.is_transposed();
  const Dims& row_size = t ? spec.input_size() : spec.output_size();
  const Dims& col_size = t ? spec.output_size() : spec.input_size();
  const Index row_channels = t ? spec.in_channels() : spec.out_channels();
  const Index col_channels = t ? spec.out_channels() : spec.in_channels();
  GramGenerator g;
  g.rows_side = rows_side;
  g.groups = spec.groups();
  const Index rpg = row_channels / g.groups, cpg = col_channels / g.groups;

  std::array<Index, 3> k{1, 1, 1}, s{1, 1, 1}, rows{1, 1, 1}, cols{1, 1, 1};
  std::array<std::vector<Index>, 3> phase, tau;
  const int offset = 3 - spec.rank();
  for (std::size_t a = 0; a < 3; ++a) {
    phase[a].assign(1, 0);
    tau[a].assign(1, 0);
  }
  for (int a = 0; a < spec.rank(); ++a) {
    const auto x = static_cast<std::size_t>(offset + a);
    k[x] = spec.kernel_size()[a];
    s[x] = spec.stride()[a];
    rows[x] = row_size[a];
    cols[x] = col_size[a];
    phase[x].resize(static_cast<std::size_t>(k[x]));
    tau[x].resize(static_cast<std::size_t>(k[x]));
    for (Index tap = 0; tap < k[x]; ++tap) {
      const Index u = tap * spec.dilation()[a] - spec.pad_begin()[a];
      const Index ph = ((u % s[x]) + s[x]) % s[x];
      phase[x][tap] = ph;
      tau[x][tap] = (u - ph) / s[x];
    }
  }
  for (std::size_t a = 0; a < 3; ++a) {
    const auto [lo, hi] = std::minmax_element(tau[a].begin(), tau[a].end());
    g.span[a] = *hi - *lo;
  }
  if (rows_side) {
    g.grid = g.actual = rows;
    g.channels_per_group = g.block = rpg;
  } else {
    g.actual = cols;
    g.stride = s;
    for (std::size_t a = 0; a < 3; ++a) g.grid[a] = (cols[a] + s[a] - 1) / s[a];
    g.channels_per_group = cpg;
    g.block = cpg * s[0] * s[1] * s[2];
  }
  const Index bb = g.block * g.block, box = g.box_size();
  g.gamma.assign(static_cast<std::size_t>(g.groups * box * bb), 0.0);

  // Every tap: its phase channel (flattened) and its Δ-box coordinates relative to the others.
  const Index taps = k[0] * k[1] * k[2];
  std::vector<Index> tap_phase(static_cast<std::size_t>(taps));
  std::vector<std::array<Index, 3>> tap_tau(static_cast<std::size_t>(taps));
  for (Index i = 0; i < taps; ++i) {
    const Index t0 = i / (k[1] * k[2]), t1 = i / k[2] % k[1], t2 = i % k[2];
    tap_phase[i] = (phase[0][t0] * s[1] + phase[1][t1]) * s[2] + phase[2][t2];
    tap_tau[i] = {tau[0][t0], tau[1][t1], tau[2][t2]};
  }
  const auto delta_index = [&](const std::array<Index, 3>& from, const std::array<Index, 3>& to) {
    Index idx = 0;  // Δ = to − from, shifted into the box
    for (std::size_t a = 0; a < 3; ++a)
      idx = idx * g.box(static_cast<int>(a)) + (to[a] - from[a] + g.span[a]);
    return idx;
  };
  const Index phases = s[0] * s[1] * s[2];
  const auto w = [&](Index group, Index o, Index c, Index tap) {
    return static_cast<double>(weight[((group * rpg + o) * cpg + c) * taps + tap]);
  };
  for (Index gr = 0; gr < g.groups; ++gr) {
    double* gamma = g.gamma.data() + gr * box * bb;
    if (rows_side) {
      // Γ(Δ)[o, o'] = Σ K[o, c', τ] K[o', c', τ − Δ]: same column channel and phase, Δ = τ − τ'.
      for (Index c = 0; c < cpg; ++c) {
        for (Index i = 0; i < taps; ++i) {
          for (Index j = 0; j < taps; ++j) {
            if (tap_phase[i] != tap_phase[j]) continue;
            double* out = gamma + delta_index(tap_tau[j], tap_tau[i]) * bb;
            for (Index o = 0; o < rpg; ++o) {
              const double wo = w(gr, o, c, i);
              if (wo == 0) continue;
              for (Index o2 = 0; o2 < rpg; ++o2) out[o * rpg + o2] += wo * w(gr, o2, c, j);
            }
          }
        }
      }
    } else {
      // Γ(Δ)[c, c'] = Σ K[o, c, τ] K[o, c', τ + Δ]: Δ = τ' − τ, channels (c, phase).
      const Index b = g.block;
      for (Index o = 0; o < rpg; ++o) {
        for (Index i = 0; i < taps; ++i) {
          for (Index j = 0; j < taps; ++j) {
            double* out = gamma + delta_index(tap_tau[i], tap_tau[j]) * bb;
            for (Index c = 0; c < cpg; ++c) {
              const double wc = w(gr, o, c, i);
              if (wc == 0) continue;
              const Index row = c * phases + tap_phase[i];
              for (Index c2 = 0; c2 < cpg; ++c2) {
                out[row * b + c2 * phases + tap_phase[j]] += wc * w(gr, o, c2, j);
              }
            }
          }
        }
      }
    }
  }
  return g;
}

template GramGenerator gram_generator<float>(const ConvSpec&, const float*, bool);
template GramGenerator gram_generator<double>(const ConvSpec&, const double*, bool);

// ---- the transform ----------------------------------------------------------------------------

struct SpectralGram::Transform {
  fftw_plan forward = nullptr, backward = nullptr;
  Index grid_size = 0;      // reals per channel on the grid
  Index spectrum_size = 0;  // per channel: complex numbers (circulant) or reals (dct)
  double scale = 1;         // backward(forward(x)) = x / scale... see the constructor
  ~Transform() {
    std::lock_guard<std::mutex> lock(fftw_planner_lock());
    if (forward) fftw_destroy_plan(forward);
    if (backward) fftw_destroy_plan(backward);
  }
};

SpectralGram::~SpectralGram() = default;

SpectralGram::SpectralGram(GramGenerator generator, PreconditionerKind kind)
    : g_(std::move(generator)), kind_(kind) {
  if (kind_ != PreconditionerKind::dct && kind_ != PreconditionerKind::circulant) {
    throw std::invalid_argument("SpectralGram: the transform must be dct or circulant, got " +
                                to_string(kind_));
  }
  const bool circulant = kind_ == PreconditionerKind::circulant;
  const auto& M = g_.grid;
  const Index last = circulant ? M[2] / 2 + 1 : M[2];
  frequencies_ = M[0] * M[1] * last;
  const Index b = g_.block, bb = b * b, groups = g_.groups, box = g_.box_size();

  // Per axis, the factor of Γ(Δ_a) at frequency k_a: e^{2πi kΔ/M} or cos(π jΔ/M).
  std::array<std::vector<std::complex<double>>, 3> factor;
  for (std::size_t a = 0; a < 3; ++a) {
    const Index n = a == 2 ? last : M[a], width = g_.box(static_cast<int>(a));
    factor[a].resize(static_cast<std::size_t>(n * width));
    for (Index f = 0; f < n; ++f) {
      for (Index i = 0; i < width; ++i) {
        const double delta = static_cast<double>(i - g_.span[a]);
        const double angle = (circulant ? 2.0 : 1.0) * std::numbers::pi * static_cast<double>(f) *
                             delta / static_cast<double>(M[a]);
        factor[a][f * width + i] =
            circulant ? std::polar(1.0, angle) : std::complex<double>(std::cos(angle), 0.0);
      }
    }
  }
  // The offsets where some group's Γ is nonzero (dilation leaves gaps).
  std::vector<Index> offsets;
  for (Index d = 0; d < box; ++d) {
    bool nonzero = false;
    for (Index gr = 0; gr < groups && !nonzero; ++gr) {
      const double* p = g_.gamma.data() + (gr * box + d) * bb;
      nonzero = std::any_of(p, p + bb, [](double v) { return v != 0; });
    }
    if (nonzero) offsets.push_back(d);
  }

  eigenvalues_.assign(static_cast<std::size_t>(frequencies_ * groups * b), 0.0);
  if (b > 1) vectors_.assign(static_cast<std::size_t>(frequencies_ * groups * bb), 0.0);
  multiplicity_.assign(static_cast<std::size_t>(frequencies_), 1.0);
  const Index b1 = g_.box(1), b2 = g_.box(2);
  const Index work = frequencies_ * groups * (static_cast<Index>(offsets.size()) * bb + bb * b);
#pragma omp parallel for schedule(dynamic, 16) if (work > parallel_work)
  for (Index f = 0; f < frequencies_; ++f) {
    const Index k2 = f % last, k1 = f / last % M[1], k0 = f / (last * M[1]);
    if (circulant && k2 != 0 && !(M[2] % 2 == 0 && k2 == M[2] / 2)) multiplicity_[f] = 2;
    Eigen::MatrixXcd lambda(b, b);
    for (Index gr = 0; gr < groups; ++gr) {
      lambda.setZero();
      for (Index d : offsets) {
        const Index i0 = d / (b1 * b2), i1 = d / b2 % b1, i2 = d % b2;
        const std::complex<double> phase =
            factor[0][k0 * g_.box(0) + i0] * factor[1][k1 * b1 + i1] * factor[2][k2 * b2 + i2];
        const double* gam = g_.gamma.data() + (gr * box + d) * bb;
        for (Index r = 0; r < b; ++r) {
          for (Index c = 0; c < b; ++c) lambda(r, c) += phase * gam[r * b + c];
        }
      }
      double* ev = eigenvalues_.data() + (f * groups + gr) * b;
      if (b == 1) {
        ev[0] = lambda(0, 0).real();
        continue;
      }
      // Λ is Hermitian (Γ(−Δ) = Γ(Δ)ᵀ); symmetrize away rounding before the eigensolver.
      const Eigen::MatrixXcd h = 0.5 * (lambda + lambda.adjoint());
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXcd> eig(h);
      for (Index i = 0; i < b; ++i) ev[i] = eig.eigenvalues()(i);
      std::copy(eig.eigenvectors().data(), eig.eigenvectors().data() + bb,
                vectors_.data() + (f * groups + gr) * bb);
    }
  }
  max_eigenvalue_ =
      eigenvalues_.empty() ? 0 : *std::max_element(eigenvalues_.begin(), eigenvalues_.end());
  min_eigenvalue_ =
      eigenvalues_.empty() ? 0 : *std::min_element(eigenvalues_.begin(), eigenvalues_.end());

  // One plan per channel (executed on every channel's slice, hence FFTW_UNALIGNED).
  transform_ = std::make_unique<Transform>();
  transform_->grid_size = M[0] * M[1] * M[2];
  transform_->spectrum_size = frequencies_;
  const int n[3] = {static_cast<int>(M[0]), static_cast<int>(M[1]), static_cast<int>(M[2])};
  const unsigned flags = FFTW_ESTIMATE | FFTW_UNALIGNED;
  FftwBuffer<double> real(transform_->grid_size);
  std::lock_guard<std::mutex> lock(fftw_planner_lock());
  if (circulant) {
    FftwBuffer<fftw_complex> spectrum(transform_->spectrum_size);
    transform_->forward = fftw_plan_dft_r2c(3, n, real.get(), spectrum.get(), flags);
    transform_->backward = fftw_plan_dft_c2r(3, n, spectrum.get(), real.get(), flags);
    transform_->scale = static_cast<double>(transform_->grid_size);
  } else {
    FftwBuffer<double> spectrum(transform_->spectrum_size);
    const fftw_r2r_kind dct2[3] = {FFTW_REDFT10, FFTW_REDFT10, FFTW_REDFT10};
    const fftw_r2r_kind dct3[3] = {FFTW_REDFT01, FFTW_REDFT01, FFTW_REDFT01};
    transform_->forward = fftw_plan_r2r(3, n, real.get(), spectrum.get(), dct2, flags);
    transform_->backward = fftw_plan_r2r(3, n, spectrum.get(), real.get(), dct3, flags);
    transform_->scale = 8.0 * static_cast<double>(transform_->grid_size);  // Π 2·M_a
  }
  if (!transform_->forward || !transform_->backward) {
    throw std::runtime_error("FFTW could not plan a transform of the grid " + std::to_string(M[0]) +
                             "x" + std::to_string(M[1]) + "x" + std::to_string(M[2]));
  }
}

// The polyphase permutation between the side's layout (channel-major C order over the actual
// positions) and the transform grid: position p of channel c goes to the grid's block of its
// phase (p mod stride per axis) at q = p / stride. visit(layout index, grid index) for each entry.
template <class Visit>
void SpectralGram::for_each_grid_position(Visit&& visit) const {
  const auto& M = g_.grid;
  const auto& N = g_.actual;
  const auto& s = g_.stride;
  const Index channels = g_.groups * g_.channels_per_group;
  const Index actual_size = N[0] * N[1] * N[2], grid_size = M[0] * M[1] * M[2];
  const Index phases = s[0] * s[1] * s[2];
#pragma omp parallel for schedule(static) if (channels * actual_size > parallel_work)
  for (Index c = 0; c < channels; ++c) {
    const Index gr = c / g_.channels_per_group, cl = c % g_.channels_per_group;
    for (Index p = 0; p < actual_size; ++p) {
      const Index x0 = p / (N[1] * N[2]), x1 = p / N[2] % N[1], x2 = p % N[2];
      const Index phase = ((x0 % s[0]) * s[1] + x1 % s[1]) * s[2] + x2 % s[2];
      const Index q = ((x0 / s[0]) * M[1] + x1 / s[1]) * M[2] + x2 / s[2];
      visit(c * actual_size + p, (gr * g_.block + cl * phases + phase) * grid_size + q);
    }
  }
}

void SpectralGram::to_grid(const double* x, double* buffer) const {
  const auto& s = g_.stride;
  const auto& N = g_.actual;
  const auto& M = g_.grid;
  if (s[0] * s[1] * s[2] == 1) {  // the identity: the grid is the actual positions
    std::copy(x, x + g_.groups * g_.channels_per_group * N[0] * N[1] * N[2], buffer);
    return;
  }
  std::fill(buffer, buffer + g_.groups * g_.block * M[0] * M[1] * M[2], 0.0);
  for_each_grid_position([&](Index i, Index j) { buffer[j] = x[i]; });
}

void SpectralGram::from_grid(const double* buffer, double* y) const {
  const auto& s = g_.stride;
  const auto& N = g_.actual;
  if (s[0] * s[1] * s[2] == 1) {
    std::copy(buffer, buffer + g_.groups * g_.channels_per_group * N[0] * N[1] * N[2], y);
    return;
  }
  for_each_grid_position([&](Index i, Index j) { y[i] = buffer[j]; });
}

void SpectralGram::apply_blocks(const std::vector<double>& blocks, const double* x,
                                double* y) const {
  const Transform& t = *transform_;
  const Index channels = g_.groups * g_.block, b = g_.block, groups = g_.groups;
  const bool circulant = kind_ == PreconditionerKind::circulant;
  FftwBuffer<double> grid(channels * t.grid_size);
  to_grid(x, grid.get());
  const bool parallel_channels = channels > 1 && channels * t.grid_size > parallel_work;
  const Index F = frequencies_;
  if (circulant) {
    FftwBuffer<fftw_complex> spectrum(channels * F), product(b > 1 ? channels * F : 1);
#pragma omp parallel for schedule(static) if (parallel_channels)
    for (Index c = 0; c < channels; ++c) {
      fftw_execute_dft_r2c(t.forward, grid.get() + c * t.grid_size, spectrum.get() + c * F);
    }
    fftw_complex* out = spectrum.get();
    if (b == 1) {
#pragma omp parallel for schedule(static) if (channels * F > parallel_work)
      for (Index i = 0; i < channels * F; ++i) {
        const Index gr = i / F, f = i % F;
        const double s = blocks[static_cast<std::size_t>(f * groups + gr)];
        out[i][0] *= s;
        out[i][1] *= s;
      }
    } else {
      out = product.get();
#pragma omp parallel for schedule(static) if (F * groups * b * b > parallel_work)
      for (Index f = 0; f < F; ++f) {
        for (Index gr = 0; gr < groups; ++gr) {
          const double* m = blocks.data() + (f * groups + gr) * 2 * b * b;
          for (Index r = 0; r < b; ++r) {
            double re = 0, im = 0;
            for (Index c = 0; c < b; ++c) {
              const fftw_complex& v = spectrum.get()[(gr * b + c) * F + f];
              const double mr = m[2 * (r * b + c)], mi = m[2 * (r * b + c) + 1];
              re += mr * v[0] - mi * v[1];
              im += mr * v[1] + mi * v[0];
            }
            out[(gr * b + r) * F + f][0] = re;
            out[(gr * b + r) * F + f][1] = im;
          }
        }
      }
    }
#pragma omp parallel for schedule(static) if (parallel_channels)
    for (Index c = 0; c < channels; ++c) {
      fftw_execute_dft_c2r(t.backward, out + c * F, grid.get() + c * t.grid_size);
    }
  } else {
    FftwBuffer<double> spectrum(channels * F), product(b > 1 ? channels * F : 1);
#pragma omp parallel for schedule(static) if (parallel_channels)
    for (Index c = 0; c < channels; ++c) {
      fftw_execute_r2r(t.forward, grid.get() + c * t.grid_size, spectrum.get() + c * F);
    }
    double* out = spectrum.get();
    if (b == 1) {
#pragma omp parallel for schedule(static) if (channels * F > parallel_work)
      for (Index i = 0; i < channels * F; ++i) {
        out[i] *= blocks[static_cast<std::size_t>((i % F) * groups + i / F)];
      }
    } else {
      out = product.get();
#pragma omp parallel for schedule(static) if (F * groups * b * b > parallel_work)
      for (Index f = 0; f < F; ++f) {
        for (Index gr = 0; gr < groups; ++gr) {
          const double* m = blocks.data() + (f * groups + gr) * b * b;
          for (Index r = 0; r < b; ++r) {
            double s = 0;
            for (Index c = 0; c < b; ++c) s += m[r * b + c] * spectrum.get()[(gr * b + c) * F + f];
            out[(gr * b + r) * F + f] = s;
          }
        }
      }
    }
#pragma omp parallel for schedule(static) if (parallel_channels)
    for (Index c = 0; c < channels; ++c) {
      fftw_execute_r2r(t.backward, out + c * F, grid.get() + c * t.grid_size);
    }
  }
  const double inverse = 1.0 / t.scale;
  const Index total = channels * t.grid_size;
#pragma omp parallel for schedule(static) if (total > parallel_work)
  for (Index i = 0; i < total; ++i) grid.get()[i] *= inverse;
  from_grid(grid.get(), y);
}

std::vector<double> SpectralGram::eigen_energies(const double* x) const {
  const Transform& t = *transform_;
  const Index channels = g_.groups * g_.block, b = g_.block, groups = g_.groups;
  const Index F = frequencies_;
  const auto& M = g_.grid;
  FftwBuffer<double> grid(channels * t.grid_size);
  to_grid(x, grid.get());
  std::vector<double> e(static_cast<std::size_t>(F * groups * b));
  // The energy of one stored coefficient: circulant ‖x‖² = Σ_all |X|² / N; dct the squared
  // orthonormal coefficient, X·Π_a √((2 − [j_a = 0]) / M_a) / 2.
  const auto weight = [&](Index f) {
    if (kind_ == PreconditionerKind::circulant) {
      return multiplicity_[static_cast<std::size_t>(f)] / static_cast<double>(t.grid_size);
    }
    const Index j[3] = {f / (M[1] * M[2]), f / M[2] % M[1], f % M[2]};
    double w = 1;
    for (int a = 0; a < 3; ++a) w *= (j[a] == 0 ? 1.0 : 2.0) / (4.0 * static_cast<double>(M[a]));
    return w;
  };
  if (kind_ == PreconditionerKind::circulant) {
    FftwBuffer<fftw_complex> spectrum(channels * F);
    for (Index c = 0; c < channels; ++c) {
      fftw_execute_dft_r2c(t.forward, grid.get() + c * t.grid_size, spectrum.get() + c * F);
    }
    for (Index f = 0; f < F; ++f) {
      const double w = weight(f);
      for (Index gr = 0; gr < groups; ++gr) {
        for (Index i = 0; i < b; ++i) {
          std::complex<double> s = 0;
          for (Index c = 0; c < b; ++c) {
            const fftw_complex& v = spectrum.get()[(gr * b + c) * F + f];
            const std::complex<double> vc(v[0], v[1]);
            s += b == 1 ? vc
                        : std::conj(vectors_[static_cast<std::size_t>((f * groups + gr) * b * b +
                                                                      c + i * b)]) *
                              vc;
          }
          e[static_cast<std::size_t>((f * groups + gr) * b + i)] = std::norm(s) * w;
        }
      }
    }
  } else {
    FftwBuffer<double> spectrum(channels * F);
    for (Index c = 0; c < channels; ++c) {
      fftw_execute_r2r(t.forward, grid.get() + c * t.grid_size, spectrum.get() + c * F);
    }
    for (Index f = 0; f < F; ++f) {
      const double w = weight(f);
      for (Index gr = 0; gr < groups; ++gr) {
        for (Index i = 0; i < b; ++i) {
          // (the eigenvectors of a real block may still carry a complex phase)
          std::complex<double> s = 0;
          for (Index c = 0; c < b; ++c) {
            const double v = spectrum.get()[(gr * b + c) * F + f];
            s += b == 1 ? v
                        : std::conj(vectors_[static_cast<std::size_t>((f * groups + gr) * b * b +
                                                                      c + i * b)]) *
                              v;
          }
          e[static_cast<std::size_t>((f * groups + gr) * b + i)] = std::norm(s) * w;
        }
      }
    }
  }
  return e;
}

}  // namespace convmat::detail

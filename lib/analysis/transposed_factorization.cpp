#include "convmat/analysis/transposed_factorization.hpp"

#include <stdexcept>
#include <string>

#include "convmat/analysis/detail/kronecker.hpp"
#include "convmat/core/conv_matrix.hpp"

namespace convmat {

namespace {

void require_channels(const char* function, Index channels) {
  if (channels < 1) {
    throw std::invalid_argument(std::string(function) + ": channels must be >= 1, got " +
                                std::to_string(channels));
  }
}

std::size_t checked_rank(const char* function, const Dims& size) {
  if (size.empty() || size.size() > 3) {
    throw std::invalid_argument(std::string(function) +
                                ": the spatial rank must be 1, 2 or 3, got size with " +
                                std::to_string(size.size()) + " entries");
  }
  for (std::size_t a = 0; a < size.size(); ++a) {
    if (size[a] < 1) {
      throw std::invalid_argument(std::string(function) +
                                  ": size must be >= 1 in every dimension, got size[" +
                                  std::to_string(a) + "] = " + std::to_string(size[a]));
    }
  }
  return size.size();
}

}  // namespace

template <class Scalar>
typename CsrMatrix<Scalar>::RowMajorEigen zero_insertion_matrix(Index channels, const Dims& size,
                                                                const Dims& stride) {
  const char* fn = "zero_insertion_matrix";
  require_channels(fn, channels);
  const std::size_t rank = checked_rank(fn, size);
  const Dims s = detail::per_axis(stride, rank, 1, fn, "stride");
  std::vector<detail::KroneckerFactor<Scalar>> axes;
  for (std::size_t a = 0; a < rank; ++a) {
    if (s[a] < 1) {
      throw std::invalid_argument(std::string(fn) +
                                  ": stride must be >= 1 in every dimension, got stride[" +
                                  std::to_string(a) + "] = " + std::to_string(s[a]));
    }
    detail::KroneckerFactor<Scalar> z(size[a]);
    for (Index r = 0; r < (size[a] - 1) * s[a] + 1; ++r) {
      if (r % s[a] == 0) z.add(r / s[a], Scalar(1));
      z.end_row();
    }
    axes.push_back(std::move(z));
  }
  return detail::kronecker(channels, axes);
}

template <class Scalar>
typename CsrMatrix<Scalar>::RowMajorEigen zero_padding_matrix(Index channels, const Dims& size,
                                                              const Dims& pad_begin,
                                                              const Dims& pad_end) {
  const char* fn = "zero_padding_matrix";
  require_channels(fn, channels);
  const std::size_t rank = checked_rank(fn, size);
  const Dims b = detail::per_axis(pad_begin, rank, 0, fn, "pad_begin");
  const Dims e = detail::per_axis(pad_end, rank, 0, fn, "pad_end");
  std::vector<detail::KroneckerFactor<Scalar>> axes;
  for (std::size_t a = 0; a < rank; ++a) {
    const Index padded = size[a] + b[a] + e[a];
    if (padded < 1) {
      throw std::invalid_argument(
          std::string(fn) + ": the padded size must be >= 1, got size[" + std::to_string(a) +
          "] + pad_begin + pad_end = " + std::to_string(size[a]) + " + " + std::to_string(b[a]) +
          " + " + std::to_string(e[a]) + " = " + std::to_string(padded));
    }
    detail::KroneckerFactor<Scalar> p(size[a]);
    for (Index r = 0; r < padded; ++r) {
      const Index i = r - b[a];
      if (i >= 0 && i < size[a]) p.add(i, Scalar(1));
      p.end_row();
    }
    axes.push_back(std::move(p));
  }
  return detail::kronecker(channels, axes);
}

ConvSpec flipped_convolution(const ConvSpec& t) {
  if (!t.is_transposed()) {
    throw std::invalid_argument("flipped_convolution needs a transposed convolution, got " +
                                t.to_string());
  }
  ConvParams c;
  c.kind = ConvKind::convolution;
  c.in_channels = t.in_channels();
  c.out_channels = t.out_channels();
  c.groups = t.groups();
  c.kernel_size = t.kernel_size();
  c.dilation = t.dilation();
  for (int a = 0; a < t.rank(); ++a) {
    const Index span = t.dilation()[a] * (t.kernel_size()[a] - 1);
    // After Z: (n − 1)s + 1; after P: + (span − p0) + (span − p1 + a).
    c.input_size.push_back((t.input_size()[a] - 1) * t.stride()[a] + 1 + 2 * span -
                           t.pad_begin()[a] - t.pad_end()[a] + t.output_padding()[a]);
  }
  return ConvSpec(c);
}

template <class Scalar>
std::vector<Scalar> flipped_weight(const ConvSpec& t, const Scalar* weight) {
  if (!t.is_transposed()) {
    throw std::invalid_argument("flipped_weight needs a transposed convolution, got " +
                                t.to_string());
  }
  if (weight == nullptr) throw std::invalid_argument("flipped_weight needs a weight tensor");
  const Index g = t.groups();
  const Index cin_g = t.in_channels() / g, cout_g = t.out_channels() / g;
  const Index taps = t.kernel_numel();
  std::vector<Scalar> flipped(static_cast<std::size_t>(t.weight_numel()));
  // Tap κ (C order over the kernel) flipped in every axis is taps − 1 − κ: reversing each
  // coordinate of a C-ordered index reverses the whole flat index.
  for (Index group = 0; group < g; ++group) {
    for (Index i = 0; i < cin_g; ++i) {
      for (Index o = 0; o < cout_g; ++o) {
        const Scalar* src = weight + ((group * cin_g + i) * cout_g + o) * taps;
        Scalar* dst = flipped.data() + ((group * cout_g + o) * cin_g + i) * taps;
        for (Index k = 0; k < taps; ++k) dst[k] = src[taps - 1 - k];
      }
    }
  }
  return flipped;
}

template <class Scalar>
TransposedAsConvolution<Scalar> transposed_as_convolution(const ConvSpec& t, const Scalar* weight) {
  ConvSpec c = flipped_convolution(t);
  std::vector<Scalar> w = flipped_weight(t, weight);
  Dims inserted, begin, end;
  for (int a = 0; a < t.rank(); ++a) {
    const Index span = t.dilation()[a] * (t.kernel_size()[a] - 1);
    inserted.push_back((t.input_size()[a] - 1) * t.stride()[a] + 1);
    begin.push_back(span - t.pad_begin()[a]);
    end.push_back(span - t.pad_end()[a] + t.output_padding()[a]);
  }
  auto z = zero_insertion_matrix<Scalar>(t.in_channels(), t.input_size(), t.stride());
  auto p = zero_padding_matrix<Scalar>(t.in_channels(), inserted, begin, end);
  auto m = ConvMatrix<Scalar>(c, w.data()).matrix();
  return TransposedAsConvolution<Scalar>{std::move(c), std::move(w), std::move(z), std::move(p),
                                         std::move(m)};
}

#define CONVMAT_INSTANTIATE(S)                                                                    \
  template CsrMatrix<S>::RowMajorEigen zero_insertion_matrix<S>(Index, const Dims&, const Dims&); \
  template CsrMatrix<S>::RowMajorEigen zero_padding_matrix<S>(Index, const Dims&, const Dims&,    \
                                                              const Dims&);                       \
  template std::vector<S> flipped_weight<S>(const ConvSpec&, const S*);                           \
  template TransposedAsConvolution<S> transposed_as_convolution<S>(const ConvSpec&, const S*);
CONVMAT_INSTANTIATE(float)
CONVMAT_INSTANTIATE(double)
#undef CONVMAT_INSTANTIATE

}  // namespace convmat

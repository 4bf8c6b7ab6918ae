#include "convmat/analysis/upsampling.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "convmat/analysis/detail/kronecker.hpp"

namespace convmat {

namespace {

[[noreturn]] void fail(const std::string& message) {
  throw std::invalid_argument("upsampling: " + message);
}

template <class T>
std::string list_to_string(const std::vector<T>& v) {
  std::ostringstream s;
  for (std::size_t i = 0; i < v.size(); ++i) s << (i ? "x" : "") << v[i];
  return s.str();
}

// The per-axis map of `spec` along axis a (see the formulas at the top of upsampling.hpp).
template <class Scalar>
detail::KroneckerFactor<Scalar> axis_map(const UpsamplingSpec& spec, int a) {
  const Index n = spec.input_size()[static_cast<std::size_t>(a)];
  const Index o = spec.output_size()[static_cast<std::size_t>(a)];
  const bool has_scale = !spec.scale_factor().empty();
  const double factor = has_scale ? spec.scale_factor()[static_cast<std::size_t>(a)] : 0.0;
  detail::KroneckerFactor<Scalar> m(n);

  if (spec.mode() != Interpolation::linear) {
    // PyTorch computes nearest indices in float32 whatever the tensor's type.
    const float r = has_scale ? static_cast<float>(1.0 / factor)
                              : static_cast<float>(n) / static_cast<float>(o);
    for (Index j = 0; j < o; ++j) {
      const float q = spec.mode() == Interpolation::nearest
                          ? static_cast<float>(j) * r
                          : static_cast<float>((static_cast<double>(j) + 0.5) * r);
      m.add(std::min(static_cast<Index>(std::floor(q)), n - 1), Scalar(1));
      m.end_row();
    }
    return m;
  }

  if (o == n) {  // PyTorch's shortcut: a copy, even when 1/scale_factor ≠ 1
    for (Index j = 0; j < o; ++j) {
      m.add(j, Scalar(1));
      m.end_row();
    }
    return m;
  }
  Scalar r;
  if (spec.align_corners()) {
    r = o > 1 ? static_cast<Scalar>(n - 1) / static_cast<Scalar>(o - 1) : Scalar(0);
  } else {
    r = has_scale ? static_cast<Scalar>(1.0 / factor)
                  : static_cast<Scalar>(n) / static_cast<Scalar>(o);
  }
  for (Index j = 0; j < o; ++j) {
    Scalar s;
    if (spec.align_corners()) {
      s = r * static_cast<Scalar>(j);
    } else {
      s = static_cast<Scalar>(static_cast<double>(r) * (static_cast<double>(j) + 0.5) - 0.5);
      if (s < Scalar(0)) s = Scalar(0);
    }
    const Index i0 = static_cast<Index>(s);
    const Index i1 = i0 < n - 1 ? i0 + 1 : i0;
    const Scalar lambda = s - static_cast<Scalar>(i0);
    m.add(i0, Scalar(1) - lambda);
    m.add(i1, lambda);
    m.end_row();
  }
  return m;
}

}  // namespace

std::string to_string(Interpolation mode, int rank) {
  switch (mode) {
    case Interpolation::nearest: return "nearest";
    case Interpolation::nearest_exact: return "nearest-exact";
    case Interpolation::linear:
      return rank == 1 ? "linear" : rank == 2 ? "bilinear" : rank == 3 ? "trilinear" : "linear";
  }
  return "?";
}

Interpolation interpolation_from_string(std::string_view name, int rank) {
  if (name == "nearest") return Interpolation::nearest;
  if (name == "nearest-exact") return Interpolation::nearest_exact;
  const char* linear_names[] = {"linear", "bilinear", "trilinear"};
  for (int r = 1; r <= 3; ++r) {
    if (name == linear_names[r - 1]) {
      if (rank != r) {
        fail("mode '" + std::string(name) + "' needs " + std::to_string(r) +
             " spatial dimension(s), got " + std::to_string(rank));
      }
      return Interpolation::linear;
    }
  }
  fail("mode must be one of nearest, nearest-exact, linear, bilinear, trilinear, got '" +
       std::string(name) + "'");
}

UpsamplingSpec::UpsamplingSpec(const UpsamplingParams& p)
    : channels_(p.channels),
      input_size_(p.input_size),
      mode_(p.mode),
      align_corners_(p.align_corners) {
  const std::size_t rank = input_size_.size();
  if (rank < 1 || rank > 3) {
    fail("the spatial rank must be 1, 2 or 3, got input_size with " + std::to_string(rank) +
         " entries");
  }
  if (channels_ < 1) fail("channels must be >= 1, got " + std::to_string(channels_));
  for (std::size_t a = 0; a < rank; ++a) {
    if (input_size_[a] < 1) {
      fail("input_size must be >= 1 in every dimension, got input_size[" + std::to_string(a) +
           "] = " + std::to_string(input_size_[a]));
    }
  }
  const bool has_size = !p.output_size.empty(), has_scale = !p.scale_factor.empty();
  if (has_size && has_scale) fail("only one of size or scale_factor should be defined");
  if (!has_size && !has_scale) fail("either size or scale_factor should be defined");
  if (p.recompute_scale_factor && has_size) {
    fail("recompute_scale_factor is not meaningful with an explicit size");
  }
  if (align_corners_ && mode_ != Interpolation::linear) {
    fail(
        "align_corners can only be set with the interpolating modes linear, bilinear, "
        "trilinear, got mode " +
        convmat::to_string(mode_, rank));
  }
  if (has_size) {
    output_size_ = detail::per_axis(p.output_size, rank, 0, "upsampling", "size");
    for (std::size_t a = 0; a < rank; ++a) {
      if (output_size_[a] < 1) {
        fail("size must be >= 1 in every dimension, got size[" + std::to_string(a) +
             "] = " + std::to_string(output_size_[a]));
      }
    }
  } else {
    if (p.scale_factor.size() != 1 && p.scale_factor.size() != rank) {
      fail(
          "scale_factor must have one entry (for every dimension) or one per spatial "
          "dimension (" +
          std::to_string(rank) + "), got " + std::to_string(p.scale_factor.size()) + " entries");
    }
    scale_factor_.assign(rank, p.scale_factor[0]);
    if (p.scale_factor.size() == rank) scale_factor_ = p.scale_factor;
    for (std::size_t a = 0; a < rank; ++a) {
      const double s = scale_factor_[a];
      if (!std::isfinite(s) || s <= 0) {
        fail("scale_factor must be finite and > 0, got scale_factor[" + std::to_string(a) +
             "] = " + std::to_string(s));
      }
      const double o = std::floor(static_cast<double>(input_size_[a]) * s);  // F.interpolate
      if (o < 1 || o > static_cast<double>(max_vector_length)) {
        fail(
            "the output size floor(input_size * scale_factor) must be >= 1 and < 2^31, got "
            "floor(" +
            std::to_string(input_size_[a]) + " * " + std::to_string(s) +
            ") = " + std::to_string(o) + " in dimension " + std::to_string(a));
      }
      output_size_.push_back(static_cast<Index>(o));
    }
    if (p.recompute_scale_factor) scale_factor_.clear();
  }
  // Element counts below 2³¹ (Eigen's 32-bit indices).
  for (const Dims* d : {&input_size_, &output_size_}) {
    double numel = static_cast<double>(channels_);
    for (Index x : *d) numel *= static_cast<double>(x);
    if (numel > static_cast<double>(max_vector_length)) {
      fail("channels * spatial size must be < 2^31, got " + std::to_string(channels_) + " * " +
           dims_to_string(*d));
    }
  }
}

Index UpsamplingSpec::input_numel() const {
  Index n = channels_;
  for (Index x : input_size_) n *= x;
  return n;
}

Index UpsamplingSpec::output_numel() const {
  Index n = channels_;
  for (Index x : output_size_) n *= x;
  return n;
}

std::string UpsamplingSpec::to_string() const {
  std::ostringstream s;
  s << "upsample " << convmat::to_string(mode_, rank()) << " channels=" << channels_
    << " input=" << dims_to_string(input_size_) << " -> output=" << dims_to_string(output_size_);
  if (!scale_factor_.empty()) s << " scale_factor=" << list_to_string(scale_factor_);
  if (mode_ == Interpolation::linear) s << " align_corners=" << (align_corners_ ? "true" : "false");
  return s.str();
}

template <class Scalar>
typename CsrMatrix<Scalar>::RowMajorEigen upsampling_matrix(const UpsamplingSpec& spec) {
  std::vector<detail::KroneckerFactor<Scalar>> axes;
  for (int a = 0; a < spec.rank(); ++a) axes.push_back(axis_map<Scalar>(spec, a));
  return detail::kronecker(spec.channels(), axes);
}

template <class Scalar>
std::vector<Scalar> bilinear_kernel(Index channels, int rank) {
  if (channels < 1) {
    throw std::invalid_argument("bilinear_kernel: channels must be >= 1, got " +
                                std::to_string(channels));
  }
  if (rank < 1 || rank > 3) {
    throw std::invalid_argument("bilinear_kernel: the spatial rank must be 1, 2 or 3, got " +
                                std::to_string(rank));
  }
  const Scalar v[4] = {Scalar(0.25), Scalar(0.75), Scalar(0.75), Scalar(0.25)};
  Index taps = 1;
  for (int a = 0; a < rank; ++a) taps *= 4;
  std::vector<Scalar> w(static_cast<std::size_t>(channels * taps));
  for (Index c = 0; c < channels; ++c) {
    for (Index t = 0; t < taps; ++t) {
      Scalar x = 1;
      for (Index rest = t, a = 0; a < rank; ++a, rest /= 4) x *= v[rest % 4];
      w[static_cast<std::size_t>(c * taps + t)] = x;
    }
  }
  return w;
}

template CsrMatrix<float>::RowMajorEigen upsampling_matrix<float>(const UpsamplingSpec&);
template CsrMatrix<double>::RowMajorEigen upsampling_matrix<double>(const UpsamplingSpec&);
template std::vector<float> bilinear_kernel<float>(Index, int);
template std::vector<double> bilinear_kernel<double>(Index, int);

}  // namespace convmat

#include "convmat/core/conv_spec.hpp"

#include <sstream>
#include <stdexcept>
#include <utility>

namespace convmat {

namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

std::string dim_name(const char* what, int i) {
  return std::string(what) + "[" + std::to_string(i) + "]";
}

// a · b, throwing when the product leaves [0, limit].
Index checked_product(Index a, Index b, Index limit, const std::string& what) {
  Index r = 0;
  if (__builtin_mul_overflow(a, b, &r) || r > limit) {
    fail(what + " overflows: " + std::to_string(a) + " * " + std::to_string(b) + " > " +
         std::to_string(limit));
  }
  return r;
}

void complete(Dims& v, std::size_t rank, Index fill, const char* name) {
  if (v.empty()) {
    v.assign(rank, fill);
  } else if (v.size() == 1) {
    const Index value = v[0];  // assign(n, t) requires t not to refer into v (libc++ reallocates)
    v.assign(rank, value);
  } else if (v.size() != rank) {
    fail(std::string(name) +
         " must have one entry (for every dimension) or one per spatial dimension (" +
         std::to_string(rank) + "), got " + std::to_string(v.size()) + " entries");
  }
}

void require_positive(const Dims& v, const char* name) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] < 1) {
      fail(std::string(name) + " must be >= 1 in every dimension, got " +
           dim_name(name, static_cast<int>(i)) + " = " + std::to_string(v[i]));
    }
  }
}

}  // namespace

std::string to_string(PaddingMode mode) {
  switch (mode) {
    case PaddingMode::zeros: return "zeros";
    case PaddingMode::reflect: return "reflect";
    case PaddingMode::replicate: return "replicate";
    case PaddingMode::circular: return "circular";
  }
  return "?";
}

std::string to_string(ConvKind kind) {
  return kind == ConvKind::convolution ? "convolution" : "transposed";
}

PaddingMode padding_mode_from_string(std::string_view name) {
  if (name == "zeros") return PaddingMode::zeros;
  if (name == "reflect") return PaddingMode::reflect;
  if (name == "replicate") return PaddingMode::replicate;
  if (name == "circular") return PaddingMode::circular;
  fail("padding_mode must be one of zeros, reflect, replicate, circular, got '" +
       std::string(name) + "'");
}

Index conv_output_size(Index n, Index k, Index s, Index d, Index p0, Index p1) {
  // o = ⌊(n + p0 + p1 − d(k−1) − 1) / s⌋ + 1, with ⌊·⌋ rounding toward −∞.
  const Index span = n + p0 + p1 - d * (k - 1) - 1;
  const Index q = span >= 0 ? span / s : -((-span + s - 1) / s);
  return q + 1;
}

Index dilated_input_size(Index n, Index l) { return (n - 1) * l + 1; }

Index transposed_output_size(Index n, Index k, Index s, Index d, Index p0, Index p1, Index a) {
  // o = (n − 1)s − p0 − p1 + d(k−1) + a + 1
  return (n - 1) * s - p0 - p1 + d * (k - 1) + a + 1;
}

namespace {

// The constructor's steps, in the order their rules are checked (the order of the list in
// conv_spec.hpp); each throws std::invalid_argument naming the rule and the values.

// The rank from input_size; every other spatial vector completed to one entry per dimension
// (stride and dilation 1, padding 0, pad_end = pad_begin, output_padding 0).
void complete_defaults(ConvParams& p) {
  const std::size_t rank = p.input_size.size();
  if (rank < 1 || rank > 3) {
    fail("the spatial rank must be 1, 2 or 3, got input_size with " + std::to_string(rank) +
         " entries");
  }
  if (p.kernel_size.empty()) fail("kernel_size is required");
  complete(p.kernel_size, rank, 0, "kernel_size");
  complete(p.stride, rank, 1, "stride");
  complete(p.dilation, rank, 1, "dilation");
  complete(p.pad_begin, rank, 0, "pad_begin");
  if (p.pad_end.empty()) p.pad_end = p.pad_begin;
  complete(p.pad_end, rank, 0, "pad_end");
  complete(p.output_padding, rank, 0, "output_padding");
  complete(p.input_dilation, rank, 1, "input_dilation");
}

// Channels and groups >= 1; groups divides both channel counts.
void check_channels(const ConvParams& p) {
  if (p.in_channels < 1) fail("in_channels must be >= 1, got " + std::to_string(p.in_channels));
  if (p.out_channels < 1) {
    fail("out_channels must be >= 1, got " + std::to_string(p.out_channels));
  }
  if (p.groups < 1) fail("groups must be >= 1, got " + std::to_string(p.groups));
  if (p.in_channels % p.groups != 0) {
    fail("groups must divide in_channels, got in_channels = " + std::to_string(p.in_channels) +
         ", groups = " + std::to_string(p.groups));
  }
  if (p.out_channels % p.groups != 0) {
    fail("groups must divide out_channels, got out_channels = " + std::to_string(p.out_channels) +
         ", groups = " + std::to_string(p.groups));
  }
}

void check_sizes(const ConvParams& p) {
  require_positive(p.input_size, "input_size");
  require_positive(p.kernel_size, "kernel_size");
  require_positive(p.stride, "stride");
  require_positive(p.dilation, "dilation");
  require_positive(p.input_dilation, "input_dilation");
}

// Input dilation above 1: a convolution, zeros padding (the inserted zeros are not the input's
// positions, which reflect, replicate and circular padding would mirror or wrap).
void check_input_dilation(const ConvParams& p) {
  for (std::size_t i = 0; i < p.input_dilation.size(); ++i) {
    const Index l = p.input_dilation[i];
    if (l == 1) continue;
    const std::string given =
        dim_name("input_dilation", static_cast<int>(i)) + " = " + std::to_string(l);
    if (p.kind == ConvKind::transposed) {
      fail(
          "input_dilation applies to convolutions only (a transposed convolution is a "
          "convolution whose input is dilated by the stride), got " +
          given);
    }
    if (p.padding_mode != PaddingMode::zeros) {
      fail("input_dilation above 1 needs padding_mode 'zeros', got padding_mode '" +
           convmat::to_string(p.padding_mode) + "' and " + given);
    }
  }
}

// Per dimension: the padding's sign (negative only with zeros padding), then output_padding
// (transposed only, >= 0, smaller than the stride or the dilation).
void check_padding(const ConvParams& p) {
  const bool transposed = p.kind == ConvKind::transposed;
  for (std::size_t i = 0; i < p.input_size.size(); ++i) {
    const int di = static_cast<int>(i);
    for (const auto* pad : {&p.pad_begin, &p.pad_end}) {
      const char* name = pad == &p.pad_begin ? "pad_begin" : "pad_end";
      if (p.padding_mode != PaddingMode::zeros && (*pad)[i] < 0) {
        fail("padding must be >= 0 with padding_mode '" + convmat::to_string(p.padding_mode) +
             "', got " + dim_name(name, di) + " = " + std::to_string((*pad)[i]));
      }
    }
    const Index a = p.output_padding[i];
    if (!transposed && a != 0) {
      fail("output_padding applies to transposed convolutions only, got " +
           dim_name("output_padding", di) + " = " + std::to_string(a));
    }
    if (a < 0) {
      fail("output_padding must be >= 0, got " + dim_name("output_padding", di) + " = " +
           std::to_string(a));
    }
    if (a >= p.stride[i] && a >= p.dilation[i]) {
      fail("output_padding must be smaller than either stride or dilation, got " +
           dim_name("output_padding", di) + " = " + std::to_string(a) + ", " +
           dim_name("stride", di) + " = " + std::to_string(p.stride[i]) + ", " +
           dim_name("dilation", di) + " = " + std::to_string(p.dilation[i]));
    }
  }
}

// Reflect, replicate and circular padding: convolutions only; reflect padding < input size,
// circular padding <= input size.
void check_padding_mode(const ConvParams& p) {
  if (p.padding_mode == PaddingMode::zeros) return;
  if (p.kind == ConvKind::transposed) {
    fail("padding_mode '" + convmat::to_string(p.padding_mode) +
         "' is not supported for transposed convolutions, only 'zeros'");
  }
  for (std::size_t i = 0; i < p.input_size.size(); ++i) {
    const int di = static_cast<int>(i);
    const Index n = p.input_size[i];
    for (const auto* pad : {&p.pad_begin, &p.pad_end}) {
      const char* name = pad == &p.pad_begin ? "pad_begin" : "pad_end";
      const Index q = (*pad)[i];
      if (p.padding_mode == PaddingMode::reflect && q >= n) {
        fail("reflect padding must be smaller than the input size, got " + dim_name(name, di) +
             " = " + std::to_string(q) + ", " + dim_name("input_size", di) + " = " +
             std::to_string(n));
      }
      if (p.padding_mode == PaddingMode::circular && q > n) {
        fail("circular padding must not exceed the input size, got " + dim_name(name, di) + " = " +
             std::to_string(q) + ", " + dim_name("input_size", di) + " = " + std::to_string(n));
      }
    }
  }
}

// Guards the formulas themselves against overflow before they are evaluated: with every term
// below 2³⁰ in magnitude, (n−1)s + d(k−1) + n + p0 + p1 + a stays far below 2⁶³.
// (Element counts must stay below 2³¹ anyway, so no real layer comes near the bound.)
void check_magnitudes(const ConvParams& p) {
  for (std::size_t i = 0; i < p.input_size.size(); ++i) {
    const Index limit = Index{1} << 30;
    const std::pair<const char*, Index> terms[] = {{"input_size", p.input_size[i]},
                                                   {"kernel_size", p.kernel_size[i]},
                                                   {"stride", p.stride[i]},
                                                   {"dilation", p.dilation[i]},
                                                   {"pad_begin", p.pad_begin[i]},
                                                   {"pad_end", p.pad_end[i]},
                                                   {"input_dilation", p.input_dilation[i]}};
    for (const auto& [name, v] : terms) {
      if (v >= limit || v <= -limit) {
        fail(
            "spatial sizes, strides, dilations and paddings must be below 2^30 in magnitude, got " +
            dim_name(name, static_cast<int>(i)) + " = " + std::to_string(v));
      }
    }
  }
}

// The output size of every dimension (the formulas at the top of conv_spec.hpp), each >= 1.
Dims output_sizes(const ConvParams& p) {
  const bool transposed = p.kind == ConvKind::transposed;
  Dims out(p.input_size.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const Index l = p.input_dilation[i];
    const Index o =
        transposed
            ? transposed_output_size(p.input_size[i], p.kernel_size[i], p.stride[i], p.dilation[i],
                                     p.pad_begin[i], p.pad_end[i], p.output_padding[i])
            : conv_output_size(dilated_input_size(p.input_size[i], l), p.kernel_size[i],
                               p.stride[i], p.dilation[i], p.pad_begin[i], p.pad_end[i]);
    if (o < 1) {
      std::ostringstream m;
      m << "output size must be >= 1, got " << o << " in dimension " << i << " (input_size "
        << p.input_size[i] << ", kernel_size " << p.kernel_size[i] << ", stride " << p.stride[i]
        << ", dilation " << p.dilation[i] << ", padding " << p.pad_begin[i] << "+" << p.pad_end[i];
      if (transposed) m << ", output_padding " << p.output_padding[i];
      if (l != 1) m << ", input_dilation " << l;
      m << ")";
      fail(m.str());
    }
    out[i] = o;
  }
  return out;
}

struct ElementCounts {
  Index input = 0, output = 0, kernel = 0, weight = 0;
};

// Input, output and weight element counts, each below 2³¹ (the column index type); and the bound
// on W's nonzeros, rows · (channels per group) · Π k, within 64 bits.
ElementCounts element_counts(const ConvParams& p, const Dims& output_size) {
  const bool transposed = p.kind == ConvKind::transposed;
  const Index lim = max_vector_length;
  Index in_spatial = 1, out_spatial = 1, kernel = 1;
  for (std::size_t i = 0; i < output_size.size(); ++i) {
    in_spatial = checked_product(in_spatial, p.input_size[i], lim, "the input element count");
    out_spatial = checked_product(out_spatial, output_size[i], lim, "the output element count");
    kernel = checked_product(kernel, p.kernel_size[i], lim, "the kernel element count");
  }
  ElementCounts n;
  n.input = checked_product(p.in_channels, in_spatial, lim, "the input element count");
  n.output = checked_product(p.out_channels, out_spatial, lim, "the output element count");
  n.kernel = kernel;
  const Index channels_per_group =
      transposed ? p.out_channels / p.groups : p.in_channels / p.groups;
  const Index weight_channels = transposed ? p.in_channels : p.out_channels;
  n.weight = checked_product(
      checked_product(weight_channels, channels_per_group, lim, "the weight element count"), kernel,
      lim, "the weight element count");
  const Index rows = transposed ? n.input : n.output;
  checked_product(rows, checked_product(channels_per_group, kernel, INT64_MAX, "the nonzero bound"),
                  INT64_MAX, "the bound on the number of nonzeros");
  return n;
}

}  // namespace

ConvSpec::ConvSpec(const ConvParams& params) : p_(params) {
  complete_defaults(p_);
  check_channels(p_);
  check_sizes(p_);
  check_padding(p_);
  check_padding_mode(p_);
  check_input_dilation(p_);
  check_magnitudes(p_);
  output_size_ = output_sizes(p_);
  const ElementCounts n = element_counts(p_, output_size_);
  input_numel_ = n.input;
  output_numel_ = n.output;
  kernel_numel_ = n.kernel;
  weight_numel_ = n.weight;
}

namespace {

// The factories' layer: PyTorch's arguments, the same padding at the begin and the end.
ConvParams symmetric_params(ConvKind kind, Index in_channels, Index out_channels,
                            const Dims& input_size, const Dims& kernel_size, const Dims& stride,
                            const Dims& padding, const Dims& dilation, Index groups,
                            const Dims& output_padding, PaddingMode mode) {
  return ConvParams{.kind = kind,
                    .in_channels = in_channels,
                    .out_channels = out_channels,
                    .groups = groups,
                    .input_size = input_size,
                    .kernel_size = kernel_size,
                    .stride = stride,
                    .dilation = dilation,
                    .pad_begin = padding,
                    .pad_end = padding,
                    .output_padding = output_padding,
                    .padding_mode = mode};
}

}  // namespace

ConvSpec ConvSpec::convolution(Index in_channels, Index out_channels, const Dims& input_size,
                               const Dims& kernel_size, const Dims& stride, const Dims& padding,
                               const Dims& dilation, Index groups, PaddingMode mode) {
  return ConvSpec(symmetric_params(ConvKind::convolution, in_channels, out_channels, input_size,
                                   kernel_size, stride, padding, dilation, groups, {}, mode));
}

ConvSpec ConvSpec::transposed(Index in_channels, Index out_channels, const Dims& input_size,
                              const Dims& kernel_size, const Dims& stride, const Dims& padding,
                              const Dims& output_padding, Index groups, const Dims& dilation) {
  return ConvSpec(symmetric_params(ConvKind::transposed, in_channels, out_channels, input_size,
                                   kernel_size, stride, padding, dilation, groups, output_padding,
                                   PaddingMode::zeros));
}

Dims ConvSpec::input_shape() const {
  Dims s{p_.in_channels};
  s.insert(s.end(), p_.input_size.begin(), p_.input_size.end());
  return s;
}

Dims ConvSpec::output_shape() const {
  Dims s{p_.out_channels};
  s.insert(s.end(), output_size_.begin(), output_size_.end());
  return s;
}

Dims ConvSpec::weight_shape() const {
  Dims s = is_transposed() ? Dims{p_.in_channels, p_.out_channels / p_.groups}
                           : Dims{p_.out_channels, p_.in_channels / p_.groups};
  s.insert(s.end(), p_.kernel_size.begin(), p_.kernel_size.end());
  return s;
}

ConvSpec ConvSpec::as_convolution() const {
  if (!is_transposed()) return *this;
  ConvParams c = p_;
  c.kind = ConvKind::convolution;
  c.in_channels = p_.out_channels;
  c.out_channels = p_.in_channels;
  c.input_size = output_size_;
  c.output_padding.assign(p_.output_padding.size(), 0);
  return ConvSpec(c);
}

std::string ConvSpec::to_string() const {
  std::ostringstream s;
  s << (is_transposed() ? "conv_transpose" : "conv") << rank() << "d in=" << p_.in_channels
    << " out=" << p_.out_channels << " groups=" << p_.groups
    << " input=" << dims_to_string(p_.input_size) << " kernel=" << dims_to_string(p_.kernel_size)
    << " stride=" << dims_to_string(p_.stride) << " dilation=" << dims_to_string(p_.dilation)
    << " pad_begin=" << dims_to_string(p_.pad_begin) << " pad_end=" << dims_to_string(p_.pad_end);
  if (is_transposed()) s << " output_padding=" << dims_to_string(p_.output_padding);
  if (p_.padding_mode != PaddingMode::zeros) {
    s << " padding_mode=" << convmat::to_string(p_.padding_mode);
  }
  if (has_input_dilation()) s << " input_dilation=" << dims_to_string(p_.input_dilation);
  s << " -> output=" << dims_to_string(output_size_);
  return s.str();
}

bool operator==(const ConvSpec& a, const ConvSpec& b) {
  const ConvParams& x = a.params();
  const ConvParams& y = b.params();
  return x.kind == y.kind && x.in_channels == y.in_channels && x.out_channels == y.out_channels &&
         x.groups == y.groups && x.input_size == y.input_size && x.kernel_size == y.kernel_size &&
         x.stride == y.stride && x.dilation == y.dilation && x.pad_begin == y.pad_begin &&
         x.pad_end == y.pad_end && x.output_padding == y.output_padding &&
         x.padding_mode == y.padding_mode && x.input_dilation == y.input_dilation;
}

bool ConvSpec::has_input_dilation() const {
  for (Index l : p_.input_dilation) {
    if (l != 1) return true;
  }
  return false;
}

std::string_view spatial_axis_name(int rank, int axis) {
  static constexpr std::string_view names[] = {"d", "h", "w"};
  return names[3 - rank + axis];
}

}  // namespace convmat

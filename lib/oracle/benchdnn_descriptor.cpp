#include "convmat/oracle/benchdnn_descriptor.hpp"

#include <array>
#include <sstream>
#include <stdexcept>

namespace convmat {

namespace {

__extension__ using Wide = __int128;  // the deductions multiply two 31-bit values and add more

constexpr Index max_value = max_vector_length;  // 2³¹ − 1

// benchdnn's per-axis fields; p = −1 and o = 0 mean "not given".
struct Axis {
  Index i = 0, o = 0, k = 0, s = 1, p = -1, d = 0;
  Index p_end = 0;
};

// Axis a of benchdnn's three (0: d, 1: h, 2: w).
std::string axis(int a) { return std::string(spatial_axis_name(3, a)); }

std::string quoted(std::string_view text) {
  return "benchdnn descriptor '" + std::string(text) + "': ";
}

[[noreturn]] void fail(std::string_view text, const std::string& message) {
  throw std::invalid_argument(quoted(text) + message);
}

std::string entry(char prefix, int a) { return prefix + axis(a); }

}  // namespace

BenchdnnDescriptor parse_benchdnn_descriptor(std::string_view text, ConvKind kind) {
  BenchdnnDescriptor desc;
  desc.kind = kind;
  std::array<Axis, 3> axes;  // d, h, w
  Index groups = -1, minibatch = -1, ic = -1, oc = -1;

  struct Key {
    const char* name;
    Index* value;
  };
  const std::array<Key, 22> keys{{
      {"g", &groups},     {"mb", &minibatch}, {"ic", &ic},        {"oc", &oc},
      {"id", &axes[0].i}, {"ih", &axes[1].i}, {"iw", &axes[2].i}, {"od", &axes[0].o},
      {"oh", &axes[1].o}, {"ow", &axes[2].o}, {"kd", &axes[0].k}, {"kh", &axes[1].k},
      {"kw", &axes[2].k}, {"sd", &axes[0].s}, {"sh", &axes[1].s}, {"sw", &axes[2].s},
      {"pd", &axes[0].p}, {"ph", &axes[1].p}, {"pw", &axes[2].p}, {"dd", &axes[0].d},
      {"dh", &axes[1].d}, {"dw", &axes[2].d},
  }};
  std::array<bool, keys.size()> given{};
  if (text.empty()) fail(text, "the descriptor is empty");

  std::size_t pos = 0;
  while (pos < text.size()) {
    if (text[pos] == '_') {
      ++pos;
      continue;
    }
    std::size_t which = keys.size();
    for (std::size_t j = 0; j < keys.size(); ++j) {
      const std::string_view name = keys[j].name;
      if (text.substr(pos, name.size()) == name) {
        which = j;
        break;
      }
    }
    if (which == keys.size()) {
      if (text[pos] == 'n') {
        desc.name = std::string(text.substr(pos + 1));
        break;
      }
      fail(text, "unknown entry at '" + std::string(text.substr(pos, 12)) +
                     "' (expected one of g mb ic oc id ih iw od oh ow kd kh kw sd sh sw pd ph pw "
                     "dd dh dw, or n<name>)");
    }
    const std::string name = keys[which].name;
    if (given[which]) fail(text, "entry '" + name + "' is given twice");
    given[which] = true;
    pos += name.size();
    const std::size_t digits_begin = pos;
    Index value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      value = value * 10 + (text[pos] - '0');
      if (value > max_value) {
        fail(text, "the value of '" + name + "' exceeds " + std::to_string(max_value));
      }
      ++pos;
    }
    if (pos == digits_begin) {
      fail(text, "entry '" + name + "' needs a non-negative decimal number" +
                     (pos < text.size() ? ", got '" + std::string(1, text[pos]) + "'" : ""));
    }
    *keys[which].value = value;
  }

  if (groups == 0) fail(text, "g must be >= 1, got g0");
  if (minibatch == 0) fail(text, "mb must be >= 1, got mb0");
  if (ic < 1) fail(text, ic < 0 ? "ic (input channels) is required" : "ic must be >= 1, got ic0");
  if (oc < 1) fail(text, oc < 0 ? "oc (output channels) is required" : "oc must be >= 1, got oc0");
  desc.groups_given = groups > 0;
  desc.groups = groups > 0 ? groups : 1;
  desc.minibatch_given = minibatch > 0;
  desc.minibatch = minibatch > 0 ? minibatch : 2;
  desc.in_channels = ic;
  desc.out_channels = oc;

  const bool transposed = kind == ConvKind::transposed;
  std::array<bool, 3> present{};
  for (int a = 0; a < 3; ++a) {
    Axis& x = axes[static_cast<std::size_t>(a)];
    if (x.s == 0) fail(text, "stride must be >= 1, got " + entry('s', a) + "0");
    present[static_cast<std::size_t>(a)] = (x.i | x.o | x.k | x.d) != 0 || x.s != 1 || x.p >= 1;
    if (!present[static_cast<std::size_t>(a)]) continue;
    if (x.i == 0) fail(text, entry('i', a) + " is required when the " + axis(a) + " axis is used");
    if (x.k == 0) fail(text, entry('k', a) + " is required when the " + axis(a) + " axis is used");
    const Wide extent = Wide(x.k - 1) * (x.d + 1) + 1;  // (k−1)(d+1) + 1
    Wide p = x.p, o = x.o;
    if (x.o == 0) {
      if (p < 0) p = 0;
      // benchdnn's compute_out, C division (toward zero)
      o = transposed ? Wide(x.i - 1) * x.s + extent - 2 * p : (x.i - extent + 2 * p) / x.s + 1;
      if (o < 1) {
        fail(text, "the output size along " + axis(a) + " comes out as " +
                       std::to_string(static_cast<long long>(o)) + " (< 1) from " + entry('i', a) +
                       std::to_string(x.i) + " " + entry('k', a) + std::to_string(x.k) + " " +
                       entry('s', a) + std::to_string(x.s) + " " + entry('p', a) +
                       std::to_string(static_cast<long long>(p)) + " " + entry('d', a) +
                       std::to_string(x.d));
      }
      if (o > max_value)
        fail(text, "the output size along " + axis(a) + " exceeds " + std::to_string(max_value));
    }
    // The total padding that gives o (benchdnn's dilation is PyTorch's − 1).
    const Wide total = padding_for_output<Wide>(kind, x.i, x.k, x.s, Wide(x.d) + 1, 0, o);
    if (x.o != 0 && p < 0) {
      // benchdnn's compute_pad ("trivial padding"): half the total, C division (toward zero)
      p = total / 2;
      if (p < 0) {
        fail(text, "the padding deduced from " + entry('o', a) + std::to_string(x.o) + " is " +
                       std::to_string(static_cast<long long>(p)) +
                       " (< 0): the output is larger than a convolution of " + entry('i', a) +
                       std::to_string(x.i) + " can give without padding; give " + entry('p', a) +
                       " explicitly");
      }
    }
    const Wide p_end = total - p;
    if (p_end + x.s <= 0) {
      fail(text, entry('o', a) + std::to_string(static_cast<long long>(o)) +
                     " is inconsistent with " + entry('i', a) + std::to_string(x.i) +
                     ": it implies a padding of " + std::to_string(static_cast<long long>(p_end)) +
                     " at the end, and oneDNN needs " + "end padding + stride > 0");
    }
    if (p > max_value || p_end > max_value) {
      fail(text, "the padding along " + axis(a) + " exceeds " + std::to_string(max_value));
    }
    x.o = static_cast<Index>(o);
    x.p = static_cast<Index>(p);
    x.p_end = static_cast<Index>(p_end);
  }

  // benchdnn's sanitize_desc: which axes are present decides the rank, and a missing smaller
  // axis copies the larger one (square and cubic shorthands).
  const bool d = present[0], h = present[1], w = present[2];
  int first = 0;
  if (d && !h && !w) {
    axes[1] = axes[2] = axes[0];
    first = 0;
  } else if (d && h && w) {
    first = 0;
  } else if (d) {
    fail(text,
         "a 3-d descriptor needs both h and w entries, or neither (cubic); got the d axis with "
         "only " +
             std::string(h ? "h" : "w"));
  } else if (h && !w) {
    axes[2] = axes[1];
    first = 1;
  } else if (h && w) {
    first = 1;
  } else if (w) {
    first = 2;
  } else {
    fail(text,
         "no spatial entries: give at least iw and kw (1-d), ih and kh (2-d) or id and kd (3-d)");
  }
  for (int a = first; a < 3; ++a) {
    const Axis& x = axes[static_cast<std::size_t>(a)];
    desc.input_size.push_back(x.i);
    desc.output_size.push_back(x.o);
    desc.kernel_size.push_back(x.k);
    desc.stride.push_back(x.s);
    desc.dilation.push_back(x.d);
    desc.pad_begin.push_back(x.p);
    desc.pad_end.push_back(x.p_end);
  }
  try {
    const ConvSpec spec = desc.spec();
    if (spec.output_size() != desc.output_size) {
      fail(text, "internal inconsistency: output " + dims_to_string(spec.output_size()) +
                     " instead of " + dims_to_string(desc.output_size));
    }
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    if (m.rfind(quoted(text), 0) == 0) throw;
    fail(text, m);
  }
  return desc;
}

ConvSpec BenchdnnDescriptor::spec() const {
  ConvParams p;
  p.kind = kind;
  p.in_channels = in_channels;
  p.out_channels = out_channels;
  p.groups = groups;
  p.input_size = input_size;
  p.kernel_size = kernel_size;
  p.stride = stride;
  p.dilation = dilation;
  for (Index& v : p.dilation) v += 1;
  p.pad_begin = pad_begin;
  p.pad_end = pad_end;
  return ConvSpec(p);
}

std::string format_benchdnn_descriptor(const ConvSpec& spec, Index minibatch,
                                       std::string_view name) {
  if (spec.padding_mode() != PaddingMode::zeros) {
    throw std::invalid_argument("benchdnn descriptors have no padding modes; got padding_mode '" +
                                to_string(spec.padding_mode()) + "'");
  }
  if (spec.has_input_dilation()) {
    throw std::invalid_argument("benchdnn descriptors have no input dilation; got input_dilation " +
                                dims_to_string(spec.input_dilation()));
  }
  const int rank = spec.rank();
  std::string i_part, o_part, k_part, s_part, p_part, d_part;
  for (int a = 0; a < rank; ++a) {
    const std::size_t u = static_cast<std::size_t>(a);
    const Index i = spec.input_size()[u], o = spec.output_size()[u], k = spec.kernel_size()[u];
    const Index s = spec.stride()[u], d = spec.dilation()[u] - 1, p = spec.pad_begin()[u];
    // The end padding benchdnn implies: the total that gives o (without output_padding, which
    // benchdnn has no field for), minus the begin.
    const Wide p_end = padding_for_output<Wide>(spec.kind(), i, k, s, d + 1, 0, o) - p;
    if (p < 0) {
      throw std::invalid_argument("benchdnn descriptors need padding >= 0, got pad_begin[" +
                                  std::to_string(a) + "] = " + std::to_string(p));
    }
    if (p_end + s <= 0) {
      throw std::invalid_argument("benchdnn cannot express an end padding of " +
                                  std::to_string(static_cast<long long>(p_end)) + " with stride " +
                                  std::to_string(s) + " (it needs end padding + stride > 0)");
    }
    const std::string l(spatial_axis_name(rank, a));
    i_part += "i" + l + std::to_string(i);
    o_part += "o" + l + std::to_string(o);
    k_part += "k" + l + std::to_string(k);
    s_part += "s" + l + std::to_string(s);
    p_part += "p" + l + std::to_string(p);
    d_part += "d" + l + std::to_string(d);
  }
  std::ostringstream out;
  out << 'g' << spec.groups() << "mb" << minibatch << "_ic" << spec.in_channels() << i_part << "_oc"
      << spec.out_channels() << o_part << '_' << k_part << '_' << s_part << '_' << p_part << '_'
      << d_part;
  if (!name.empty()) out << "_n" << name;
  return out.str();
}

}  // namespace convmat

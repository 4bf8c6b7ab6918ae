// The reference loops. Deliberately plain: no tables, no precomputation, every index written out
// from the definition. Ranks 1 and 2 run as rank 3 with leading extents of 1.
//
// Each layer kind has one walk over its (position, kernel tap) pairs and one boundary map:
//  - convolution: the window walk visits padded-input position q = o·s + k·d for every output
//    position o and tap k; the padded input is the input extended by p0 / p1 per the padding mode.
//    Forward gathers along the walk from the materialized padded input; the adjoint scatters along
//    it and folds the padding back onto the input. An input dilated by l is materialized the same
//    way: l − 1 zeros between neighbouring input positions, then the padding (XLA's lhs_dilation).
//  - transposed convolution: the splat walk visits full-output position f = i·s + k·d for every
//    input position i and tap k; the output is the full splat cropped by p0 at the begin (and
//    continued with zeros past its end). Forward scatters along the walk and crops; the adjoint
//    un-crops the gradient into the full frame and gathers along the walk.
// Both walks are the same strided walk q = p·s + k·d, seen from a convolution's outputs and from a
// transposed convolution's inputs.

#include "convmat/core/loops.hpp"

#include <stdexcept>
#include <vector>

namespace convmat {

namespace {

struct Extent3 {
  Index v[3] = {1, 1, 1};
  Index size() const { return v[0] * v[1] * v[2]; }
  Index at(Index a, Index b, Index c) const { return (a * v[1] + b) * v[2] + c; }
  bool contains(Index a, Index b, Index c) const {
    return a >= 0 && b >= 0 && c >= 0 && a < v[0] && b < v[1] && c < v[2];
  }
  // f(a, b, c) for every position, in C order.
  template <class F>
  void for_each(F&& f) const {
    for (Index a = 0; a < v[0]; ++a) {
      for (Index b = 0; b < v[1]; ++b) {
        for (Index c = 0; c < v[2]; ++c) f(a, b, c);
      }
    }
  }
};

// Spatial vectors of the spec, right-aligned into three axes (missing leading axes: `fill`).
Extent3 embed(const Dims& d, Index fill) {
  Extent3 e;
  for (Index& x : e.v) x = fill;
  const std::size_t off = 3 - d.size();
  for (std::size_t i = 0; i < d.size(); ++i) e.v[off + i] = d[i];
  return e;
}

// Which input position the padded position `q` (0-based in the padded tensor, where the input
// starts at `pad`) copies, as torch.nn.functional.pad defines the modes; −1 for a zero.
Index padded_source(Index q, Index pad, Index n, PaddingMode mode) {
  Index i = q - pad;
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PaddingMode::zeros: return -1;
    case PaddingMode::replicate: return i < 0 ? 0 : n - 1;
    case PaddingMode::circular:
      while (i < 0) i += n;
      while (i >= n) i -= n;
      return i;
    case PaddingMode::reflect:
      // Mirror about the first and last element until inside (n = 1 only happens with pad 0).
      while (i < 0 || i >= n) {
        if (i < 0) i = -i;
        if (i >= n) i = 2 * (n - 1) - i;
      }
      return i;
  }
  return -1;
}

// Everything the loops read off the spec, on three axes.
struct Geometry {
  Extent3 in, out, k, s, d, p0, p1, l;
  Extent3 frame;  // convolution: the padded input; transposed: the full, uncropped splat
  Index cin, cout, cin_g, cout_g;
  PaddingMode mode;

  explicit Geometry(const ConvSpec& spec)
      : in(embed(spec.input_size(), 1)),
        out(embed(spec.output_size(), 1)),
        k(embed(spec.kernel_size(), 1)),
        s(embed(spec.stride(), 1)),
        d(embed(spec.dilation(), 1)),
        p0(embed(spec.pad_begin(), 0)),
        p1(embed(spec.pad_end(), 0)),
        l(embed(spec.input_dilation(), 1)),
        cin(spec.in_channels()),
        cout(spec.out_channels()),
        cin_g(spec.in_channels() / spec.groups()),
        cout_g(spec.out_channels() / spec.groups()),
        mode(spec.padding_mode()) {
    for (int a = 0; a < 3; ++a) {
      frame.v[a] = spec.is_transposed() ? (in.v[a] - 1) * s.v[a] + d.v[a] * (k.v[a] - 1) + 1
                                        : (in.v[a] - 1) * l.v[a] + 1 + p0.v[a] + p1.v[a];
    }
  }
};

// The walk of both kinds, from one side of the layer: for every channel c of that side (grouped
// `per_group` to a group), position p of `positions`, channel m of the same group on the other
// side (`members` to a group, m = group·members + j) and kernel tap k, the frame position
// q = p·s + k·d, when it lies in the frame:
//   f(c·|positions| + p, m·|frame| + q, (c·members + j)·|k| + k).
// The weight index is PyTorch's layout either way: (C_out, C_in/groups, *k) walked from a
// convolution's outputs, (C_in, C_out/groups, *k) walked from a transposed convolution's inputs.
template <class F>
void strided_walk(const Geometry& g, Index channels, Index per_group, Index members,
                  const Extent3& positions, F&& f) {
  for (Index c = 0; c < channels; ++c) {
    const Index group = c / per_group;
    positions.for_each([&](Index p0, Index p1, Index p2) {
      for (Index j = 0; j < members; ++j) {
        const Index m = group * members + j;
        g.k.for_each([&](Index k0, Index k1, Index k2) {
          const Index q0 = p0 * g.s.v[0] + k0 * g.d.v[0];
          const Index q1 = p1 * g.s.v[1] + k1 * g.d.v[1];
          const Index q2 = p2 * g.s.v[2] + k2 * g.d.v[2];
          if (!g.frame.contains(q0, q1, q2)) return;
          f(c * positions.size() + positions.at(p0, p1, p2),
            m * g.frame.size() + g.frame.at(q0, q1, q2),
            (c * members + j) * g.k.size() + g.k.at(k0, k1, k2));
        });
      }
    });
  }
}

// Convolution: f(output index, padded-input index, weight index) for every output
// position, input channel of its group and kernel tap whose window position lies in the padded
// input (with negative padding the window can start before the cropped input).
template <class F>
void window_walk(const Geometry& g, F&& f) {
  strided_walk(g, g.cout, g.cout_g, g.cin_g, g.out, f);
}

// Transposed convolution: f(input index, full-splat index, weight index) for every input element,
// output channel of its group and kernel tap: input (ci, i) lands on (co, i·s + k·d), always
// inside the full splat.
template <class F>
void splat_walk(const Geometry& g, F&& f) {
  strided_walk(g, g.cin, g.cin_g, g.cout_g, g.in, f);
}

// Which input position the padded position `q` of an input dilated by l copies: the dilated input
// starts at `pad`, and its position j is input position j / l where l divides j; the l − 1
// positions between are zeros, as is the padding (input dilation needs zeros padding). −1 for a
// zero.
Index dilated_source(Index q, Index pad, Index n, Index l, PaddingMode mode) {
  if (l == 1) return padded_source(q, pad, n, mode);
  const Index j = q - pad;
  if (j < 0 || j > (n - 1) * l || j % l != 0) return -1;
  return j / l;
}

// Convolution's boundary: f(padded index, input index or −1) for every channel and padded
// position.
template <class F>
void padding_map(const Geometry& g, F&& f) {
  for (Index c = 0; c < g.cin; ++c) {
    g.frame.for_each([&](Index q0, Index q1, Index q2) {
      const Index i0 = dilated_source(q0, g.p0.v[0], g.in.v[0], g.l.v[0], g.mode);
      const Index i1 = dilated_source(q1, g.p0.v[1], g.in.v[1], g.l.v[1], g.mode);
      const Index i2 = dilated_source(q2, g.p0.v[2], g.in.v[2], g.l.v[2], g.mode);
      const bool inside = i0 >= 0 && i1 >= 0 && i2 >= 0;
      f(c * g.frame.size() + g.frame.at(q0, q1, q2),
        inside ? c * g.in.size() + g.in.at(i0, i1, i2) : Index{-1});
    });
  }
}

// Transposed convolution's boundary: f(output index, full-splat index or −1) for every channel
// and output position: output o is full position o + p0.
template <class F>
void crop_map(const Geometry& g, F&& f) {
  for (Index co = 0; co < g.cout; ++co) {
    g.out.for_each([&](Index o0, Index o1, Index o2) {
      const Index f0 = o0 + g.p0.v[0], f1 = o1 + g.p0.v[1], f2 = o2 + g.p0.v[2];
      f(co * g.out.size() + g.out.at(o0, o1, o2),
        g.frame.contains(f0, f1, f2) ? co * g.frame.size() + g.frame.at(f0, f1, f2) : Index{-1});
    });
  }
}

void require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(what);
}

template <class Scalar>
std::vector<Scalar> zeros(Index n) {
  return std::vector<Scalar>(static_cast<std::size_t>(n), Scalar(0));
}

}  // namespace

template <class Scalar>
void direct_convolution(const ConvSpec& spec, const Scalar* input, Index batch,
                        const Scalar* weight, const Scalar* bias, Scalar* output) {
  require(!spec.is_transposed(), "direct_convolution needs a convolution spec");
  const Geometry g(spec);
  std::vector<Scalar> padded = zeros<Scalar>(g.cin * g.frame.size());
  for (Index n = 0; n < batch; ++n) {
    const Scalar* x = input + n * g.cin * g.in.size();
    Scalar* y = output + n * g.cout * g.out.size();
    // The padded input, materialized, then the sliding window over it.
    padding_map(g, [&](Index q, Index i) { padded[q] = i >= 0 ? x[i] : Scalar(0); });
    for (Index co = 0; co < g.cout; ++co) {
      for (Index o = 0; o < g.out.size(); ++o)
        y[co * g.out.size() + o] = bias ? bias[co] : Scalar(0);
    }
    window_walk(g, [&](Index o, Index q, Index w) { y[o] += weight[w] * padded[q]; });
  }
}

template <class Scalar>
void direct_transposed_convolution(const ConvSpec& spec, const Scalar* input, Index batch,
                                   const Scalar* weight, const Scalar* bias, Scalar* output) {
  require(spec.is_transposed(), "direct_transposed_convolution needs a transposed spec");
  const Geometry g(spec);
  std::vector<Scalar> splat(static_cast<std::size_t>(g.cout * g.frame.size()));
  for (Index n = 0; n < batch; ++n) {
    const Scalar* x = input + n * g.cin * g.in.size();
    Scalar* y = output + n * g.cout * g.out.size();
    // Every input element times the kernel, laid down at stride spacing; then the crop.
    std::fill(splat.begin(), splat.end(), Scalar(0));
    splat_walk(g, [&](Index i, Index f, Index w) { splat[f] += x[i] * weight[w]; });
    crop_map(g, [&](Index o, Index f) {
      const Index co = o / g.out.size();
      y[o] = (f >= 0 ? splat[f] : Scalar(0)) + (bias ? bias[co] : Scalar(0));
    });
  }
}

template <class Scalar>
void direct_forward(const ConvSpec& spec, const Scalar* input, Index batch, const Scalar* weight,
                    const Scalar* bias, Scalar* output) {
  if (spec.is_transposed()) {
    direct_transposed_convolution(spec, input, batch, weight, bias, output);
  } else {
    direct_convolution(spec, input, batch, weight, bias, output);
  }
}

template <class Scalar>
void direct_adjoint(const ConvSpec& spec, const Scalar* output_grad, Index batch,
                    const Scalar* weight, Scalar* input_grad) {
  const Geometry g(spec);
  std::vector<Scalar> frame(
      static_cast<std::size_t>((spec.is_transposed() ? g.cout : g.cin) * g.frame.size()));
  for (Index n = 0; n < batch; ++n) {
    const Scalar* gy = output_grad + n * g.cout * g.out.size();
    Scalar* gx = input_grad + n * g.cin * g.in.size();
    std::fill(frame.begin(), frame.end(), Scalar(0));
    std::fill(gx, gx + g.cin * g.in.size(), Scalar(0));
    if (spec.is_transposed()) {
      // Un-crop the gradient into the full splat frame, then gather along the splat walk.
      crop_map(g, [&](Index o, Index f) {
        if (f >= 0) frame[f] = gy[o];
      });
      splat_walk(g, [&](Index i, Index f, Index w) { gx[i] += weight[w] * frame[f]; });
    } else {
      // Scatter along the window walk into the padded frame, then fold the padding back.
      window_walk(g, [&](Index o, Index q, Index w) { frame[q] += gy[o] * weight[w]; });
      padding_map(g, [&](Index q, Index i) {
        if (i >= 0) gx[i] += frame[q];
      });
    }
  }
}

#define CONVMAT_INSTANTIATE(S)                                                                   \
  template void direct_convolution<S>(const ConvSpec&, const S*, Index, const S*, const S*, S*); \
  template void direct_transposed_convolution<S>(const ConvSpec&, const S*, Index, const S*,     \
                                                 const S*, S*);                                  \
  template void direct_forward<S>(const ConvSpec&, const S*, Index, const S*, const S*, S*);     \
  template void direct_adjoint<S>(const ConvSpec&, const S*, Index, const S*, S*);
CONVMAT_INSTANTIATE(float)
CONVMAT_INSTANTIATE(double)
#undef CONVMAT_INSTANTIATE

}  // namespace convmat

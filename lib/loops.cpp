// The reference loops. Deliberately plain: no tables, no precomputation, every index written out
// from the definition. Ranks 1 and 2 run as rank 3 with leading extents of 1.

#include "convmat/loops.hpp"

#include <stdexcept>
#include <vector>

namespace convmat {

namespace {

struct Extent3 {
  Index v[3] = {1, 1, 1};
  Index size() const { return v[0] * v[1] * v[2]; }
  Index at(Index a, Index b, Index c) const { return (a * v[1] + b) * v[2] + c; }
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
    case PaddingMode::zeros:
      return -1;
    case PaddingMode::replicate:
      return i < 0 ? 0 : n - 1;
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

void require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(what);
}

}  // namespace

template <class Scalar>
void direct_convolution(const ConvSpec& spec, const Scalar* input, Index batch,
                        const Scalar* weight, const Scalar* bias, Scalar* output) {
  require(!spec.is_transposed(), "direct_convolution needs a convolution spec");
  const Extent3 in = embed(spec.input_size(), 1), out = embed(spec.output_size(), 1);
  const Extent3 k = embed(spec.kernel_size(), 1), s = embed(spec.stride(), 1),
                d = embed(spec.dilation(), 1), p0 = embed(spec.pad_begin(), 0),
                p1 = embed(spec.pad_end(), 0);
  const Index cin = spec.in_channels(), cout = spec.out_channels(), g = spec.groups();
  const Index cin_g = cin / g, cout_g = cout / g;

  // The padded input of one sample, materialized: (C_in, n0 + p, n1 + p, n2 + p).
  Extent3 padded;
  for (int a = 0; a < 3; ++a) padded.v[a] = in.v[a] + p0.v[a] + p1.v[a];
  std::vector<Scalar> xp(static_cast<std::size_t>(cin * padded.size()));

  for (Index n = 0; n < batch; ++n) {
    const Scalar* x = input + n * cin * in.size();
    for (Index c = 0; c < cin; ++c) {
      for (Index q0 = 0; q0 < padded.v[0]; ++q0) {
        for (Index q1 = 0; q1 < padded.v[1]; ++q1) {
          for (Index q2 = 0; q2 < padded.v[2]; ++q2) {
            const Index i0 = padded_source(q0, p0.v[0], in.v[0], spec.padding_mode());
            const Index i1 = padded_source(q1, p0.v[1], in.v[1], spec.padding_mode());
            const Index i2 = padded_source(q2, p0.v[2], in.v[2], spec.padding_mode());
            const bool inside = i0 >= 0 && i1 >= 0 && i2 >= 0;
            xp[static_cast<std::size_t>(c * padded.size() + padded.at(q0, q1, q2))] =
                inside ? x[c * in.size() + in.at(i0, i1, i2)] : Scalar(0);
          }
        }
      }
    }
    Scalar* y = output + n * cout * out.size();
    for (Index co = 0; co < cout; ++co) {
      const Index group = co / cout_g;
      for (Index o0 = 0; o0 < out.v[0]; ++o0) {
        for (Index o1 = 0; o1 < out.v[1]; ++o1) {
          for (Index o2 = 0; o2 < out.v[2]; ++o2) {
            Scalar sum = bias ? bias[co] : Scalar(0);
            for (Index cl = 0; cl < cin_g; ++cl) {
              const Index ci = group * cin_g + cl;
              for (Index k0 = 0; k0 < k.v[0]; ++k0) {
                for (Index k1 = 0; k1 < k.v[1]; ++k1) {
                  for (Index k2 = 0; k2 < k.v[2]; ++k2) {
                    const Index q0 = o0 * s.v[0] + k0 * d.v[0];
                    const Index q1 = o1 * s.v[1] + k1 * d.v[1];
                    const Index q2 = o2 * s.v[2] + k2 * d.v[2];
                    // Negative padding crops: the window may start before the cropped input.
                    if (q0 < 0 || q1 < 0 || q2 < 0 || q0 >= padded.v[0] || q1 >= padded.v[1] ||
                        q2 >= padded.v[2]) {
                      continue;
                    }
                    sum += weight[(co * cin_g + cl) * k.size() + k.at(k0, k1, k2)] *
                           xp[static_cast<std::size_t>(ci * padded.size() + padded.at(q0, q1, q2))];
                  }
                }
              }
            }
            y[co * out.size() + out.at(o0, o1, o2)] = sum;
          }
        }
      }
    }
  }
}

template <class Scalar>
void direct_transposed_convolution(const ConvSpec& spec, const Scalar* input, Index batch,
                                   const Scalar* weight, const Scalar* bias, Scalar* output) {
  require(spec.is_transposed(), "direct_transposed_convolution needs a transposed spec");
  const Extent3 in = embed(spec.input_size(), 1), out = embed(spec.output_size(), 1);
  const Extent3 k = embed(spec.kernel_size(), 1), s = embed(spec.stride(), 1),
                d = embed(spec.dilation(), 1), p0 = embed(spec.pad_begin(), 0);
  const Index cin = spec.in_channels(), cout = spec.out_channels(), g = spec.groups();
  const Index cin_g = cin / g, cout_g = cout / g;

  // The full, uncropped splat of one sample: (C_out, (n−1)s + d(k−1) + 1 per axis).
  Extent3 full;
  for (int a = 0; a < 3; ++a) full.v[a] = (in.v[a] - 1) * s.v[a] + d.v[a] * (k.v[a] - 1) + 1;
  std::vector<Scalar> splat(static_cast<std::size_t>(cout * full.size()));

  for (Index n = 0; n < batch; ++n) {
    std::fill(splat.begin(), splat.end(), Scalar(0));
    const Scalar* x = input + n * cin * in.size();
    for (Index ci = 0; ci < cin; ++ci) {
      const Index group = ci / cin_g;
      for (Index i0 = 0; i0 < in.v[0]; ++i0) {
        for (Index i1 = 0; i1 < in.v[1]; ++i1) {
          for (Index i2 = 0; i2 < in.v[2]; ++i2) {
            const Scalar xv = x[ci * in.size() + in.at(i0, i1, i2)];
            // Every input element times the kernel, laid down at stride spacing.
            for (Index cl = 0; cl < cout_g; ++cl) {
              const Index co = group * cout_g + cl;
              for (Index k0 = 0; k0 < k.v[0]; ++k0) {
                for (Index k1 = 0; k1 < k.v[1]; ++k1) {
                  for (Index k2 = 0; k2 < k.v[2]; ++k2) {
                    const Index f = full.at(i0 * s.v[0] + k0 * d.v[0], i1 * s.v[1] + k1 * d.v[1],
                                            i2 * s.v[2] + k2 * d.v[2]);
                    splat[static_cast<std::size_t>(co * full.size() + f)] +=
                        xv * weight[(ci * cout_g + cl) * k.size() + k.at(k0, k1, k2)];
                  }
                }
              }
            }
          }
        }
      }
    }
    // Crop p_begin at the start; the output continues past the splat (output_padding, negative
    // padding) with zeros.
    Scalar* y = output + n * cout * out.size();
    for (Index co = 0; co < cout; ++co) {
      for (Index o0 = 0; o0 < out.v[0]; ++o0) {
        for (Index o1 = 0; o1 < out.v[1]; ++o1) {
          for (Index o2 = 0; o2 < out.v[2]; ++o2) {
            const Index f0 = o0 + p0.v[0], f1 = o1 + p0.v[1], f2 = o2 + p0.v[2];
            const bool inside = f0 >= 0 && f1 >= 0 && f2 >= 0 && f0 < full.v[0] &&
                                f1 < full.v[1] && f2 < full.v[2];
            Scalar v = inside ? splat[static_cast<std::size_t>(co * full.size() + full.at(f0, f1, f2))]
                              : Scalar(0);
            if (bias) v += bias[co];
            y[co * out.size() + out.at(o0, o1, o2)] = v;
          }
        }
      }
    }
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

namespace {

// The convolution's adjoint: every output gradient times the kernel, scattered into the padded
// input; then every padded position hands its sum to the input position it copied.
template <class Scalar>
void convolution_adjoint(const ConvSpec& spec, const Scalar* grad, Index batch,
                         const Scalar* weight, Scalar* input_grad) {
  const Extent3 in = embed(spec.input_size(), 1), out = embed(spec.output_size(), 1);
  const Extent3 k = embed(spec.kernel_size(), 1), s = embed(spec.stride(), 1),
                d = embed(spec.dilation(), 1), p0 = embed(spec.pad_begin(), 0),
                p1 = embed(spec.pad_end(), 0);
  const Index cin = spec.in_channels(), cout = spec.out_channels(), g = spec.groups();
  const Index cin_g = cin / g, cout_g = cout / g;
  Extent3 padded;
  for (int a = 0; a < 3; ++a) padded.v[a] = in.v[a] + p0.v[a] + p1.v[a];
  std::vector<Scalar> gp(static_cast<std::size_t>(cin * padded.size()));
  for (Index n = 0; n < batch; ++n) {
    std::fill(gp.begin(), gp.end(), Scalar(0));
    const Scalar* gy = grad + n * cout * out.size();
    for (Index co = 0; co < cout; ++co) {
      const Index group = co / cout_g;
      for (Index o0 = 0; o0 < out.v[0]; ++o0) {
        for (Index o1 = 0; o1 < out.v[1]; ++o1) {
          for (Index o2 = 0; o2 < out.v[2]; ++o2) {
            const Scalar gv = gy[co * out.size() + out.at(o0, o1, o2)];
            for (Index cl = 0; cl < cin_g; ++cl) {
              const Index ci = group * cin_g + cl;
              for (Index k0 = 0; k0 < k.v[0]; ++k0) {
                for (Index k1 = 0; k1 < k.v[1]; ++k1) {
                  for (Index k2 = 0; k2 < k.v[2]; ++k2) {
                    const Index q0 = o0 * s.v[0] + k0 * d.v[0];
                    const Index q1 = o1 * s.v[1] + k1 * d.v[1];
                    const Index q2 = o2 * s.v[2] + k2 * d.v[2];
                    if (q0 < 0 || q1 < 0 || q2 < 0 || q0 >= padded.v[0] || q1 >= padded.v[1] ||
                        q2 >= padded.v[2]) {
                      continue;
                    }
                    gp[static_cast<std::size_t>(ci * padded.size() + padded.at(q0, q1, q2))] +=
                        gv * weight[(co * cin_g + cl) * k.size() + k.at(k0, k1, k2)];
                  }
                }
              }
            }
          }
        }
      }
    }
    Scalar* gx = input_grad + n * cin * in.size();
    std::fill(gx, gx + cin * in.size(), Scalar(0));
    for (Index c = 0; c < cin; ++c) {
      for (Index q0 = 0; q0 < padded.v[0]; ++q0) {
        for (Index q1 = 0; q1 < padded.v[1]; ++q1) {
          for (Index q2 = 0; q2 < padded.v[2]; ++q2) {
            const Index i0 = padded_source(q0, p0.v[0], in.v[0], spec.padding_mode());
            const Index i1 = padded_source(q1, p0.v[1], in.v[1], spec.padding_mode());
            const Index i2 = padded_source(q2, p0.v[2], in.v[2], spec.padding_mode());
            if (i0 < 0 || i1 < 0 || i2 < 0) continue;
            gx[c * in.size() + in.at(i0, i1, i2)] +=
                gp[static_cast<std::size_t>(c * padded.size() + padded.at(q0, q1, q2))];
          }
        }
      }
    }
  }
}

// The transposed convolution's adjoint: each input position gathers the output gradient at the
// positions its splat reached.
template <class Scalar>
void transposed_adjoint(const ConvSpec& spec, const Scalar* grad, Index batch,
                        const Scalar* weight, Scalar* input_grad) {
  const Extent3 in = embed(spec.input_size(), 1), out = embed(spec.output_size(), 1);
  const Extent3 k = embed(spec.kernel_size(), 1), s = embed(spec.stride(), 1),
                d = embed(spec.dilation(), 1), p0 = embed(spec.pad_begin(), 0);
  const Index cin = spec.in_channels(), cout = spec.out_channels(), g = spec.groups();
  const Index cin_g = cin / g, cout_g = cout / g;
  for (Index n = 0; n < batch; ++n) {
    const Scalar* gy = grad + n * cout * out.size();
    Scalar* gx = input_grad + n * cin * in.size();
    for (Index ci = 0; ci < cin; ++ci) {
      const Index group = ci / cin_g;
      for (Index i0 = 0; i0 < in.v[0]; ++i0) {
        for (Index i1 = 0; i1 < in.v[1]; ++i1) {
          for (Index i2 = 0; i2 < in.v[2]; ++i2) {
            Scalar sum(0);
            for (Index cl = 0; cl < cout_g; ++cl) {
              const Index co = group * cout_g + cl;
              for (Index k0 = 0; k0 < k.v[0]; ++k0) {
                for (Index k1 = 0; k1 < k.v[1]; ++k1) {
                  for (Index k2 = 0; k2 < k.v[2]; ++k2) {
                    const Index o0 = i0 * s.v[0] + k0 * d.v[0] - p0.v[0];
                    const Index o1 = i1 * s.v[1] + k1 * d.v[1] - p0.v[1];
                    const Index o2 = i2 * s.v[2] + k2 * d.v[2] - p0.v[2];
                    if (o0 < 0 || o1 < 0 || o2 < 0 || o0 >= out.v[0] || o1 >= out.v[1] ||
                        o2 >= out.v[2]) {
                      continue;
                    }
                    sum += weight[(ci * cout_g + cl) * k.size() + k.at(k0, k1, k2)] *
                           gy[co * out.size() + out.at(o0, o1, o2)];
                  }
                }
              }
            }
            gx[ci * in.size() + in.at(i0, i1, i2)] = sum;
          }
        }
      }
    }
  }
}

}  // namespace

template <class Scalar>
void direct_adjoint(const ConvSpec& spec, const Scalar* output_grad, Index batch,
                    const Scalar* weight, Scalar* input_grad) {
  if (spec.is_transposed()) {
    transposed_adjoint(spec, output_grad, batch, weight, input_grad);
  } else {
    convolution_adjoint(spec, output_grad, batch, weight, input_grad);
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

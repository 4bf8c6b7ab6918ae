// `convmat demo`: the seeds' worked examples as a short lesson. Each example is computed by the
// layer's matrix (W, or Wᵀ for a transposed convolution) and by the direct loops, printed once
// next to the matrix that computed it, and ends with a one-line verdict: the matrix, the loops
// and the note agree.

#include "demo.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "commands.hpp"
#include "convmat/analysis/checkerboard.hpp"
#include "convmat/analysis/upsampling.hpp"
#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/loops.hpp"
#include "convmat/solve/deconvolve.hpp"

namespace convmat::cli {

namespace {

using Values = std::vector<double>;

// A matrix to print with a title above it; several are printed side by side.
struct Block {
  std::string title;
  Values v;
  Index rows = 1, cols = 1;
};

// Columns on a terminal: UTF-8 continuation bytes take none.
std::size_t columns(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v == 0 ? 0.0 : v);
  return buf;
}

// The blocks side by side, four spaces apart, each row as "[a b c]" with right-aligned numbers.
void print_blocks(const std::vector<Block>& blocks) {
  std::vector<std::vector<std::string>> lines(blocks.size());
  std::vector<std::size_t> width(blocks.size());
  Index height = 0;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const Block& k = blocks[b];
    std::size_t w = 1;
    for (double v : k.v) w = std::max(w, number(v).size());
    lines[b].push_back(k.title);
    for (Index r = 0; r < k.rows; ++r) {
      std::string row = "[";
      for (Index c = 0; c < k.cols; ++c) {
        const std::string n = number(k.v[static_cast<std::size_t>(r * k.cols + c)]);
        if (c) row += ' ';
        row.append(w - n.size(), ' ');
        row += n;
      }
      row += ']';
      lines[b].push_back(row);
    }
    for (const std::string& l : lines[b]) width[b] = std::max(width[b], columns(l));
    height = std::max(height, k.rows + 1);
  }
  for (Index i = 0; i < height; ++i) {
    std::string out = "     ";
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      const std::string cell =
          i < static_cast<Index>(lines[b].size()) ? lines[b][static_cast<std::size_t>(i)] : "";
      out += cell;
      if (b + 1 < blocks.size()) out += std::string(width[b] - columns(cell) + 4, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::printf("%s\n", out.c_str());
  }
}

struct Tally {
  int passed = 0, failed = 0;
  void verdict(bool ok, const std::string& claim) {
    std::printf("   verdict: %s — %s\n", ok ? "ok" : "MISMATCH", claim.c_str());
    (ok ? passed : failed)++;
  }
};

// The layer's matrix M (W, or Wᵀ for a transposed layer) as a dense row-major block.
Block matrix_block(const ConvMatrix<double>& m, const std::string& title) {
  const Eigen::MatrixXd dense(m.matrix());
  Block b{title, Values(static_cast<std::size_t>(dense.size())), dense.rows(), dense.cols()};
  for (Index r = 0; r < dense.rows(); ++r)
    for (Index c = 0; c < dense.cols(); ++c)
      b.v[static_cast<std::size_t>(r * dense.cols() + c)] = dense(r, c);
  return b;
}

// y = M x by the matrix, compared with the direct loops (gather or scatter).
struct Applied {
  Values y;
  bool loops_agree = false;
};
Applied apply(const ConvMatrix<double>& m, const Values& weight, const Values& x) {
  const ConvSpec& spec = m.spec();
  Applied a{Values(static_cast<std::size_t>(spec.output_numel())), false};
  Values loops(a.y.size());
  m.apply(x.data(), a.y.data());
  direct_forward(spec, x.data(), 1, weight.data(), static_cast<const double*>(nullptr),
                 loops.data());
  a.loops_agree = a.y == loops;
  return a;
}

// The output as a block, rows × cols of its last two axes.
Block output_block(const ConvSpec& spec, const Values& y, const std::string& title) {
  const Index cols = spec.output_size().back();
  return Block{title, y, spec.output_numel() / cols, cols};
}

std::string size_text(const Dims& d) { return dims_to_string(d); }

void seed_000(Tally& t) {
  std::printf(
      "== seed 000: transposed convolution, kernel2matrix, and where \"transposed\" comes from "
      "==\n\n");

  // 1-3: trans_conv and what padding and stride do to it.
  const Values x{0, 1, 2, 3}, k{0, 1, 2, 3};
  struct Case {
    const char* text;
    ConvSpec spec;
    Values expected;
    const char* claim;
  };
  const Case cases[] = {
      {"trans_conv(X, K), X = K = [[0, 1], [2, 3]]: nn.ConvTranspose2d(1, 1, kernel_size=2)",
       ConvSpec::transposed(1, 1, {2, 2}, {2, 2}),
       {0, 0, 1, 0, 4, 6, 4, 12, 9},
       "Wᵀ·x = the scatter loops = the note: every input pixel splats x·K"},
      {"the same with padding=1: padding acts on the output, and crops it",
       ConvSpec::transposed(1, 1, {2, 2}, {2, 2}, {1}, {1}),
       {4},
       "Wᵀ·x = the scatter loops = the note: [[4]], the centre of the 3x3 result"},
      {"the same with stride=2: the patches land 2 apart and no longer overlap",
       ConvSpec::transposed(1, 1, {2, 2}, {2, 2}, {2}),
       {0, 0, 0, 1, 0, 0, 2, 3, 0, 2, 0, 3, 4, 6, 6, 9},
       "Wᵀ·x = the scatter loops = the note's 4x4"},
  };
  int example = 1;
  for (const Case& c : cases) {
    std::printf("%d. %s\n", example++, c.text);
    const ConvMatrix<double> m(c.spec, k.data());
    const Applied a = apply(m, k, x);
    print_blocks({matrix_block(m, "Wᵀ (" + std::to_string(m.rows()) + "x" +
                                      std::to_string(m.cols()) + "), column j: input j's patch"),
                  output_block(c.spec, a.y, "y = Wᵀ·vec(X), " + size_text(c.spec.output_size()))});
    t.verdict(a.loops_agree && a.y == c.expected, c.claim);
    std::printf("\n");
  }

  // 4: kernel2matrix.
  std::printf(
      "%d. kernel2matrix(K), K = [[1, 2], [3, 4]], X = arange(9).reshape(3, 3): the convolution is "
      "a matrix\n",
      example++);
  const ConvSpec conv = ConvSpec::convolution(1, 1, {3, 3}, {2, 2});
  const Values k2{1, 2, 3, 4}, x9{0, 1, 2, 3, 4, 5, 6, 7, 8};
  const ConvMatrix<double> w(conv, k2.data());
  const Block wb = matrix_block(w, "W (4x9), row i: output i's window");
  const Applied y = apply(w, k2, x9);
  print_blocks({wb, output_block(conv, y.y, "y = W·vec(X), 2x2")});
  const Values seed_w{1, 2, 0, 3, 4, 0, 0, 0, 0, 0, 1, 2, 0, 3, 4, 0, 0, 0,
                      0, 0, 0, 1, 2, 0, 3, 4, 0, 0, 0, 0, 0, 1, 2, 0, 3, 4};
  t.verdict(wb.v == seed_w && y.loops_agree && y.y == Values{27, 37, 57, 67},
            "W = the note's 4x9 matrix; W·x = the gather loops = the note's [[27, 37], [57, 67]]");
  std::printf("\n");

  // 5: the transposed convolution of Y is Wᵀ·y.
  std::printf("%d. the transposed convolution of Y = [[27, 37], [57, 67]] with the same K\n",
              example++);
  const ConvSpec tconv = ConvSpec::transposed(1, 1, {2, 2}, {2, 2});
  const ConvMatrix<double> wt(tconv, k2.data());
  const Applied z = apply(wt, k2, y.y);
  const Block wtb = matrix_block(wt, "Wᵀ (9x4): W's rows are its columns");
  bool transpose = true;
  for (Index r = 0; r < 9; ++r)
    for (Index c = 0; c < 4; ++c)
      transpose &=
          wtb.v[static_cast<std::size_t>(r * 4 + c)] == wb.v[static_cast<std::size_t>(c * 9 + r)];
  print_blocks({wtb, output_block(tconv, z.y, "Wᵀ·vec(Y) = trans_conv(Y, K), 3x3")});
  t.verdict(transpose && z.loops_agree,
            "its matrix is W transposed; Wᵀ·y = trans_conv(Y, K) by the loops: hence the name");
  std::printf("\n");

  // 6: transposed is not inverse: 3x3 -> 2x2 -> back.
  std::printf(
      "%d. transposed is not inverse: X (3x3) -> y = W·x (2x2) -> back to 3x3, by Wᵀ and by least "
      "squares\n",
      example++);
  Values back(9);
  w.apply_adjoint(y.y.data(), back.data());
  const Eigen::Map<const Eigen::MatrixXd> ymat(y.y.data(), 4, 1);
  const LsqResult<double> ls = deconvolve(w, ymat, LsqMethod::qr);
  const Values xhat(ls.x.data(), ls.x.data() + ls.x.size());
  Values wx(4);
  w.apply(xhat.data(), wx.data());
  double residual = 0, distance = 0;
  for (int i = 0; i < 4; ++i) residual = std::max(residual, std::abs(wx[i] - y.y[i]));
  for (int i = 0; i < 9; ++i) distance = std::max(distance, std::abs(xhat[i] - x9[i]));
  print_blocks({Block{"X", x9, 3, 3}, Block{"Wᵀ·y (transposed convolution)", back, 3, 3},
                Block{"W⁺·y (least squares, minimum norm)", xhat, 3, 3}});
  std::printf(
      "   W has rank %lld of 9: 5 directions of X never reach y. Wᵀ·y is not X (it is not even on\n"
      "   X's scale); W⁺·y is the smallest X that gives y again, not X itself.\n",
      static_cast<long long>(ls.info.rank));
  t.verdict(back == Values{27, 91, 74, 138, 400, 282, 171, 429, 268} && back != x9 &&
                ls.info.rank == 4 && residual <= 1e-12 * 67 && distance > 0.1,
            "Wᵀ·y != X, and W⁺·y != X although W·(W⁺·y) = y: the way back is not unique");
  // The other way round, 2x2 -> 3x3 (the transposed layer), loses nothing and least squares
  // returns its input.
  const Values x4{0, 1, 2, 3};
  const ConvMatrix<double> up(ConvSpec::transposed(1, 1, {2, 2}, {2, 2}), x4.data());
  const Applied z4 = apply(up, x4, x4);
  const Eigen::Map<const Eigen::MatrixXd> zmat(z4.y.data(), 9, 1);
  const LsqResult<double> back4 = deconvolve(up, zmat, LsqMethod::qr);
  double error4 = 0;
  for (int i = 0; i < 4; ++i) error4 = std::max(error4, std::abs(back4.x(i) - x4[i]));
  t.verdict(back4.info.rank == 4 && error4 <= 1e-12 * 12, "the other way, 2x2 -> 3x3 (rank " +
                                                              std::to_string(back4.info.rank) +
                                                              "): least squares returns X exactly");
  std::printf("\n");

  // 7: shapes only.
  std::printf(
      "%d. nn.Conv2d(10, 20, kernel_size=5, padding=2, stride=3), then "
      "nn.ConvTranspose2d(20, 10, the same)\n",
      example++);
  const ConvSpec c = ConvSpec::convolution(10, 20, {16, 16}, {5, 5}, {3}, {2});
  const ConvSpec tc = ConvSpec::transposed(20, 10, c.output_size(), {5, 5}, {3}, {2});
  std::printf("     (1, 10, 16, 16) -> conv -> (1, %s) -> tconv -> (1, %s)\n",
              dims_to_string(c.output_shape()).c_str(), dims_to_string(tc.output_shape()).c_str());
  t.verdict(tc.output_shape() == c.input_shape(),
            "tconv(conv(X)).shape == X.shape: the shape comes back, the values do not");
  std::printf("\n");
}

void seed_001(Tally& t) {
  std::printf("== seed 001: the output sizes of Conv2d and ConvTranspose2d ==\n\n");
  std::printf(
      "   convolution o = ⌊(n + 2p − k)/s⌋ + 1, transposed convolution o = (n − 1)s − 2p + "
      "k\n\n");
  struct Case {
    const char* call;
    bool transposed;
    Index n, k, s, p, expected;
  };
  const Case cases[] = {
      {"Conv2d(1,1,3)", false, 4, 3, 1, 0, 2},
      {"Conv2d(1,1,4,padding=2)", false, 5, 4, 1, 2, 6},
      {"ConvTranspose2d(1,1,3)", true, 2, 3, 1, 0, 4},
      {"ConvTranspose2d(1,1,4,padding=2)", true, 6, 4, 1, 2, 5},
      {"ConvTranspose2d(1,1,3,padding=2)", true, 7, 3, 1, 2, 5},
      {"ConvTranspose2d(1,1,3,stride=2,padding=0)", true, 2, 3, 2, 0, 5},
      {"ConvTranspose2d(1,1,3,stride=2,padding=1)", true, 3, 3, 2, 1, 5},
  };
  std::printf("   %-41s %-11s %-7s %s\n", "layer (nn.)", "n -> o", "note", "the matrix");
  for (const Case& c : cases) {
    const ConvSpec spec = c.transposed
                              ? ConvSpec::transposed(1, 1, {c.n, c.n}, {c.k, c.k}, {c.s}, {c.p})
                              : ConvSpec::convolution(1, 1, {c.n, c.n}, {c.k, c.k}, {c.s}, {c.p});
    const Index o = spec.output_size()[0];
    const bool ok = o == c.expected && spec.output_size()[1] == c.expected;
    char size[64], note[32], matrix[64];
    std::snprintf(size, sizeof size, "%lldx%lld -> %lldx%lld", static_cast<long long>(c.n),
                  static_cast<long long>(c.n), static_cast<long long>(o),
                  static_cast<long long>(o));
    std::snprintf(note, sizeof note, "%lldx%lld", static_cast<long long>(c.expected),
                  static_cast<long long>(c.expected));
    std::snprintf(matrix, sizeof matrix, "%s %lldx%lld, %lld nonzeros", c.transposed ? "Wᵀ" : "W",
                  static_cast<long long>(spec.output_numel()),
                  static_cast<long long>(spec.input_numel()),
                  static_cast<long long>(ConvPattern(spec).nnz()));
    std::string padded = matrix;
    padded.append(23 - std::min<std::size_t>(23, columns(padded)), ' ');
    std::printf("   %-41s %-11s %-7s %s verdict: %s\n", c.call, size, note, padded.c_str(),
                ok ? "ok" : "MISMATCH");
    (ok ? t.passed : t.failed)++;
  }
  std::printf("\n");
}

void seed_002(Tally& t) {
  std::printf("== seed 002: ConvTranspose2d as pixel splatting ==\n\n");
  int example = 1;
  std::printf(
      "%d. X = [[5, 6], [7, 8]], K = [[1, 2], [3, 4]], stride 2: every input pixel splats x·K, "
      "2 apart\n",
      example++);
  const ConvSpec spec = ConvSpec::transposed(1, 1, {2, 2}, {2, 2}, {2});
  const Values k{1, 2, 3, 4}, x{5, 6, 7, 8};
  const ConvMatrix<double> m(spec, k.data());
  const Values steps[] = {
      {5, 10, 0, 0, 15, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
      {5, 10, 6, 12, 15, 20, 18, 24, 0, 0, 0, 0, 0, 0, 0, 0},
      {5, 10, 6, 12, 15, 20, 18, 24, 7, 14, 0, 0, 21, 28, 0, 0},
      {5, 10, 6, 12, 15, 20, 18, 24, 7, 14, 8, 16, 21, 28, 24, 32},
  };
  // Step j + 2 of the note: the output after the first j + 1 pixels, = Wᵀ·(X with the rest 0).
  std::vector<Block> frames;
  std::vector<bool> ok;
  for (int j = 0; j < 4; ++j) {
    Values first(x);
    for (int i = j + 1; i < 4; ++i) first[static_cast<std::size_t>(i)] = 0;
    const Applied a = apply(m, k, first);
    frames.push_back(output_block(
        spec, a.y,
        "step " + std::to_string(j + 2) + ": +" + number(x[static_cast<std::size_t>(j)]) + "·K"));
    ok.push_back(a.loops_agree && a.y == steps[j]);
  }
  print_blocks({matrix_block(m, "Wᵀ (16x4)"), frames[0], frames[1], frames[2], frames[3]});
  for (int j = 0; j < 4; ++j) {
    char claim[160];
    std::snprintf(claim, sizeof claim,
                  "step %d: X[%d,%d] = %g splats %g·K at (%d, %d): Wᵀ·x = the scatter loops = the "
                  "note",
                  j + 2, j / 2, j % 2, x[static_cast<std::size_t>(j)],
                  x[static_cast<std::size_t>(j)], j / 2 * 2, j % 2 * 2);
    t.verdict(ok[static_cast<std::size_t>(j)], claim);
  }
  std::printf("\n");

  // Stride 1: the patches overlap; how many taps reach each output pixel.
  std::printf("%d. the same with stride 1: the patches overlap, and overlapping values add\n",
              example++);
  const ConvSpec s1 = ConvSpec::transposed(1, 1, {2, 2}, {2, 2});
  const ConvMatrix<double> m1(s1, k.data());
  const Applied a1 = apply(m1, k, x);
  const Checkerboard overlap = checkerboard(s1);
  Values taps(overlap.tap_count.begin(), overlap.tap_count.end());
  // The same counts read off Wᵀ: the nonzeros of each of its rows.
  const auto mt = m1.matrix();
  bool counts_agree = static_cast<Index>(taps.size()) == mt.rows();
  for (Index r = 0; counts_agree && r < mt.rows(); ++r)
    counts_agree = taps[static_cast<std::size_t>(r)] == mt.row(r).nonZeros();
  print_blocks({Block{"taps per output pixel", taps, 3, 3}, output_block(s1, a1.y, "y = Wᵀ·x")});
  const Checkerboard k3s2 = checkerboard(ConvSpec::transposed(1, 1, {8}, {3}, {2}));
  std::printf(
      "   The centre gets all four patches: 5·4 + 6·3 + 7·2 + 8·1 = %g. Uneven counts here are "
      "the\n"
      "   border's: with stride 1 every interior pixel gets k·k taps. The checkerboard needs a\n"
      "   stride that does not divide the kernel: k = 3, s = 2 gives %lld, %lld, %lld, … taps "
      "(1-d).\n",
      a1.y[4], static_cast<long long>(k3s2.period_pattern.at(0)),
      static_cast<long long>(k3s2.period_pattern.at(1)),
      static_cast<long long>(k3s2.period_pattern.at(0)));
  t.verdict(a1.loops_agree && a1.y == Values{5, 16, 12, 22, 60, 40, 21, 52, 32} && counts_agree &&
                taps == Values{1, 2, 1, 2, 4, 2, 1, 2, 1} && overlap.even && !k3s2.even,
            "y = the loops; taps = nonzeros of Wᵀ's rows; s = 1 is even inside, k = 3, s = 2 not");
  std::printf("\n");

  // The note's comparison: nearest upsampling, a 0/1 matrix U.
  std::printf("%d. nn.Upsample(scale_factor=2, mode='nearest') on the same X, as a 16x4 matrix U\n",
              example++);
  UpsamplingParams nearest;
  nearest.input_size = {2, 2};
  nearest.scale_factor = {2.0};
  const auto u = upsampling_matrix<double>(UpsamplingSpec(nearest));
  const Eigen::VectorXd upv = u * Eigen::Map<const Eigen::VectorXd>(x.data(), 4);
  const Values seed_nearest{5, 5, 6, 6, 5, 5, 6, 6, 7, 7, 8, 8, 7, 7, 8, 8};
  const Values by_u(upv.data(), upv.data() + upv.size());
  print_blocks({Block{"U·vec(X)", by_u, 4, 4}});
  t.verdict(by_u == seed_nearest,
            "U·x = the note's 4x4: each pixel copied into a 2x2 block, not the splat of K");
  std::printf("\n");

  // nn.UpsamplingBilinear2d(scale_factor=2) = bilinear with align_corners=True, 3x3 -> 6x6. The
  // exact values are the rationals (5 + 6r + 2c)/5; the note prints torch's float32 to 4
  // decimals. Compared in float32, as torch computed them: within 4 float32 ulp of the note.
  std::printf(
      "%d. nn.UpsamplingBilinear2d(scale_factor=2) on 1..9 (3x3): a 36x9 matrix U, in float32\n",
      example++);
  UpsamplingParams bilinear;
  bilinear.input_size = {3, 3};
  bilinear.scale_factor = {2.0};
  bilinear.mode = Interpolation::linear;
  bilinear.align_corners = true;
  const auto ub = upsampling_matrix<float>(UpsamplingSpec(bilinear));
  const std::vector<float> x9{1, 2, 3, 4, 5, 6, 7, 8, 9};
  const Eigen::VectorXf yb = ub * Eigen::Map<const Eigen::VectorXf>(x9.data(), 9);
  const Values seed_bilinear{1.0, 1.4, 1.8, 2.2, 2.6, 3.0, 2.2, 2.6, 3.0, 3.4, 3.8, 4.2,
                             3.4, 3.8, 4.2, 4.6, 5.0, 5.4, 4.6, 5.0, 5.4, 5.8, 6.2, 6.6,
                             5.8, 6.2, 6.6, 7.0, 7.4, 7.8, 7.0, 7.4, 7.8, 8.2, 8.6, 9.0};
  const Values by_ub(yb.data(), yb.data() + yb.size());
  print_blocks({Block{"U·vec(X)", by_ub, 6, 6}});
  double worst = 0;
  for (std::size_t i = 0; i < by_ub.size(); ++i) {
    worst = std::max(worst, std::abs(by_ub[i] - seed_bilinear[i]) / seed_bilinear[i]);
  }
  const double ulp = std::numeric_limits<float>::epsilon();
  char claim[160];
  std::snprintf(claim, sizeof claim,
                "U·x = the note's table within float32 rounding (largest difference %.2f ulp <= 4)",
                worst / ulp);
  t.verdict(worst <= 4 * ulp, claim);
  std::printf("\n");
}

}  // namespace

int run_demo() {
  std::printf(
      "convmat demo: the worked examples of the three seed notes. Each is computed by the layer's\n"
      "sparse matrix — W for a convolution, Wᵀ for a transposed convolution — and by the direct\n"
      "loops (a gather, a scatter), and compared with the note.\n\n");
  Tally t;
  seed_000(t);
  seed_001(t);
  seed_002(t);
  std::printf("%d example(s) agree with the seeds, %d disagree\n", t.passed, t.failed);
  return t.failed == 0 ? 0 : 1;
}

namespace {

Runner declare_demo(CLI::App& sub) {
  sub.description(
      "Prints every numeric example of the three teaching notes (trans_conv, the 4x9 "
      "kernel2matrix,\n"
      "W^T y, the shape cases, the pixel-splatting steps), each computed by the sparse matrix W "
      "and\n"
      "by the independent direct loops and compared with the seed's numbers.\n"
      "Exit status 0 when every example agrees, 1 otherwise.");
  return [](Context& ctx) {
    ctx.out.flush();
    return run_demo();
  };
}

}  // namespace

const CommandDecl demo_command{
    "demo",
    "the seeds' worked examples, computed by W and by the direct loops, with a verdict each",
    declare_demo};

}  // namespace convmat::cli

// The teaching page: draws what convmat computes. Every number shown — the output size, W's
// entries and the kernel tap behind each, where each window lies, y = W·x, the direct loops'
// agreement, the singular values and the reconstructions of the panel — comes from convmat's C++
// core compiled to WebAssembly (src/convmat_wasm.cpp, loaded as createConvmat). This script
// chooses layers, fills inputs and kernels with example values, and draws.
"use strict";

(function() {
const SVGNS = "http://www.w3.org/2000/svg";
let wasm = null;  // the emscripten module

// ------------------------------------------------------------------------------------------
// Small helpers

function svg(tag, attrs, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}
function text(parent, x, y, content, cls, anchor) {
  const t = svg(
      "text",
      {x, y, class: cls || "", "text-anchor": anchor || "middle", "dominant-baseline": "central"},
      parent);
  t.textContent = content;
  return t;
}
function html(tag, attrs, parent, content) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (content !== undefined) e.innerHTML = content;
  if (parent) parent.appendChild(e);
  return e;
}
// Sets a number into a text element, shrinking the font so that it fits a cell `size` wide.
function fitText(t, content, size, largest) {
  t.textContent = content;
  const px = Math.min(largest, (size - 5) / (0.62 * Math.max(content.length, 1)));
  t.style.fontSize = `${Math.max(7, px).toFixed(1)}px`;
}
function fmt(v) {
  if (Object.is(v, -0)) v = 0;
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 0.01) return v.toFixed(2).replace(/0+$/, "").replace(/\.$/, "");
  return v.toExponential(1);
}
function sci(v) {
  if (v === 0) return "0";
  const e = Math.floor(Math.log10(Math.abs(v)));
  if (e >= -2 && e <= 3) return fmt(Number(v.toPrecision(3)));
  const m = v / Math.pow(10, e);
  const sup = String(e).replace(/-/g, "⁻").replace(/\d/g, (c) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[c]);
  return (Math.abs(m - 1) < 0.05 ? "" : m.toFixed(1) + "·") + "10" + sup;
}
const prod = (a) => a.reduce((p, v) => p * v, 1);
// C-order multi-index of `flat` in `shape`.
function unravel(flat, shape) {
  const out = new Array(shape.length);
  for (let a = shape.length - 1; a >= 0; --a) {
    out[a] = flat % shape[a];
    flat = Math.floor(flat / shape[a]);
  }
  return out;
}
function ravel(index, shape) {
  let flat = 0;
  for (let a = 0; a < shape.length; ++a) flat = flat * shape[a] + index[a];
  return flat;
}
// A colour per kernel tap (spatial position), shared by the kernel, the window labels and W.
function tapColor(t, taps) {
  const hue = (205 + (360 * t) / Math.max(taps, 1)) % 360;
  return `hsl(${hue.toFixed(0)}, 68%, 80%)`;
}

// A square in the colour of kernel tap `tap`: a cell of the kernel view, or an entry of W.
function tapSquare(parent, x, y, size, cls, tap) {
  const attrs = {x, y, width: size, height: size, class: cls, fill: tapColor(tap, model.taps)};
  return svg("rect", attrs, parent);
}

// ------------------------------------------------------------------------------------------
// convmat in WebAssembly

const api = {
  ints(values) {
    const p = wasm._malloc(4 * Math.max(values.length, 1));
    wasm.HEAP32.set(values, p >> 2);
    return p;
  },
  doubles(values) {
    const p = wasm._malloc(8 * Math.max(values.length, 1));
    wasm.HEAPF64.set(values, p >> 3);
    return p;
  },
  readDoubles(p, n) {
    return Float64Array.from(wasm.HEAPF64.subarray(p >> 3, (p >> 3) + n));
  },
  readInts(p, n) {
    return Int32Array.from(wasm.HEAP32.subarray(p >> 2, (p >> 2) + n));
  },
  error() {
    return wasm.UTF8ToString(wasm._cm_error());
  },
  setLayer(L) {
    const rep = (v) => new Array(L.rank).fill(v);
    const args = [rep(L.n), rep(L.k), rep(L.s), rep(L.d), rep(L.p0), rep(L.p1), rep(L.a)].map(
        (a) => api.ints(a));
    const rc = wasm._cm_set_layer(L.transposed ? 1 : 0, L.rank, L.cin, L.cout, ...args);
    args.forEach((p) => wasm._free(p));
    return rc;
  },
  setWeight(w) {
    const p = api.doubles(w);
    const rc = wasm._cm_set_weight(p);
    wasm._free(p);
    return rc;
  },
  apply(x, rows) {
    const px = api.doubles(x), py = wasm._malloc(8 * Math.max(rows, 1));
    const rc = wasm._cm_apply(px, py);
    const y = api.readDoubles(py, rows);
    wasm._free(px);
    wasm._free(py);
    if (rc !== 0) throw new Error(api.error());
    return y;
  },
  window(row, taps, rank) {
    const p = wasm._malloc(4 * taps * rank);
    wasm._cm_window(row, p);
    const pos = api.readInts(p, taps * rank);
    wasm._free(p);
    return pos;
  },
};

// ------------------------------------------------------------------------------------------
// Examples and value fills

const FILLS = {
  arange0: {label: "0, 1, 2, …", make: (n) => Array.from({length: n}, (_, i) => i)},
  arange1: {label: "1, 2, 3, …", make: (n) => Array.from({length: n}, (_, i) => i + 1)},
  ones: {label: "all ones", make: (n) => new Array(n).fill(1)},
  random: {
    label: "random integers −3…3",
    make: (n) => {
      let s = 12345;
      return Array.from({length: n}, () => {
        s = (s * 1103515245 + 12345) % 2147483648;
        return (s % 7) - 3;
      });
    }
  },
};
const L0 = {
  rank: 2,
  transposed: false,
  n: 3,
  k: 2,
  s: 1,
  p0: 0,
  p1: 0,
  d: 1,
  a: 0,
  cin: 1,
  cout: 1,
  kernelFill: "arange1",
  inputFill: "arange0",
  mode: "rows"
};
const ex = (id, label, changes) => ({id, label, layer: Object.assign({}, L0, changes)});
const seed001 = (i, t, n, k, s, p, call) =>
    ex("seed001-" + i, `seed 001 · ${call}: ${n}×${n} → ?`,
       {transposed: t, n, k, s, p0: p, p1: p, mode: t ? "cols" : "rows"});
const EXAMPLES = [
  ex("kernel2matrix", "seed 000 · kernel2matrix: 3×3 input, 2×2 kernel [[1,2],[3,4]]",
     {kernel: [1, 2, 3, 4]}),
  ex("wty", "seed 000 · Wᵀ·y = trans_conv(Y, K), Y = [[27,37],[57,67]]",
     {transposed: true, n: 2, kernel: [1, 2, 3, 4], input: [27, 37, 57, 67], mode: "cols"}),
  ex("trans_conv", "seed 000 · trans_conv(X, K), X = K = [[0,1],[2,3]]",
     {transposed: true, n: 2, kernel: [0, 1, 2, 3], input: [0, 1, 2, 3], mode: "cols"}),
  ex("trans_conv_pad", "seed 000 · transposed, padding 1: the output is cropped", {
    transposed: true,
    n: 2,
    p0: 1,
    p1: 1,
    kernel: [0, 1, 2, 3],
    input: [0, 1, 2, 3],
    mode: "cols"
  }),
  ex("trans_conv_stride", "seed 000 · transposed, stride 2: the patches spread",
     {transposed: true, n: 2, s: 2, kernel: [0, 1, 2, 3], input: [0, 1, 2, 3], mode: "cols"}),
  seed001(1, false, 4, 3, 1, 0, "Conv2d(1,1,3)"),
  seed001(2, false, 5, 4, 1, 2, "Conv2d(1,1,4,padding=2)"),
  seed001(3, true, 2, 3, 1, 0, "ConvTranspose2d(1,1,3)"),
  seed001(4, true, 6, 4, 1, 2, "ConvTranspose2d(1,1,4,padding=2)"),
  seed001(5, true, 7, 3, 1, 2, "ConvTranspose2d(1,1,3,padding=2)"),
  seed001(6, true, 2, 3, 2, 0, "ConvTranspose2d(1,1,3,stride=2)"),
  seed001(7, true, 3, 3, 2, 1, "ConvTranspose2d(1,1,3,stride=2,padding=1)"),
  ex("splat", "seed 002 · pixel splatting: X = [[5,6],[7,8]], kernel [[1,2],[3,4]], stride 2",
     {transposed: true, n: 2, s: 2, kernel: [1, 2, 3, 4], input: [5, 6, 7, 8], mode: "cols"}),
  ex("overlap", "seed 002 · the same with stride 1: the patches overlap",
     {transposed: true, n: 2, s: 1, kernel: [1, 2, 3, 4], input: [5, 6, 7, 8], mode: "cols"}),
  ex("1d", "1-d · n = 8, k = 3, stride 2, padding 1", {rank: 1, n: 8, k: 3, s: 2, p0: 1, p1: 1}),
  ex("1d-t", "1-d · transposed: n = 4, k = 3, stride 2, padding 1, output_padding 1",
     {rank: 1, transposed: true, n: 4, k: 3, s: 2, p0: 1, p1: 1, a: 1, mode: "cols"}),
  ex("dilation", "dilation 2 · 6×6, 3×3 kernel", {n: 6, k: 3, d: 2}),
  ex("asym", "asymmetric padding (1, 2) · 5×5, 4×4 kernel (ONNX SAME_UPPER)",
     {n: 5, k: 4, p0: 1, p1: 2}),
  ex("channels", "2 channels in, 2 out · 4×4, 3×3 kernel, padding 1",
     {n: 4, k: 3, p0: 1, p1: 1, cin: 2, cout: 2, kernelFill: "random"}),
  ex("custom", "custom (change any control)", {}),
];

// ------------------------------------------------------------------------------------------
// State

const $ = (id) => document.getElementById(id);
const NUMERIC = ["n", "k", "s", "p0", "p1", "d", "a", "cin", "cout"];
let layer = Object.assign({}, EXAMPLES[0].layer);
let model = null;      // what convmat computed for `layer`
let selection = null;  // {kind: "row" | "col", index} of M
let step = -1;         // the play position (-1: not stepping)
let timer = null;
const refs = {};  // drawn elements by role

function controlsFromLayer() {
  $("rank").value = String(layer.rank);
  $("kind").value = layer.transposed ? "transposed" : "conv";
  for (const id of NUMERIC) $(id).value = String(layer[id]);
  $("kernel-fill").value = layer.kernel ? "example" : layer.kernelFill;
  $("input-fill").value = layer.input ? "example" : layer.inputFill;
  $("kernel-fill").querySelector("option[value=\"example\"]").disabled = !layer.kernel;
  $("input-fill").querySelector("option[value=\"example\"]").disabled = !layer.input;
  $("play-mode").value = layer.mode;
  $("a-label").classList.toggle("disabled", !layer.transposed);
  $("a").disabled = !layer.transposed;
  $("n").max = layer.rank === 1 ? "24" : "12";
}

function layerFromControls(changed) {
  const next = Object.assign({}, layer);
  next.rank = Number($("rank").value);
  next.transposed = $("kind").value === "transposed";
  for (const id of NUMERIC) {
    const e = $(id);
    let v = Math.round(Number(e.value));
    if (!Number.isFinite(v)) v = layer[id];
    next[id] = Math.min(Math.max(v, Number(e.min)), Number(e.max));
  }
  if (!next.transposed) next.a = 0;
  const kf = $("kernel-fill").value, inf = $("input-fill").value;
  if (kf !== "example") {
    next.kernelFill = kf;
    next.kernel = null;
  }
  if (inf !== "example") {
    next.inputFill = inf;
    next.input = null;
  }
  // Explicit example values stay only while the sizes they were given for stay.
  const shapeChanged =
      ["rank", "k", "n", "cin", "cout", "transposed"].some((f) => next[f] !== layer[f]);
  if (shapeChanged) {
    next.kernel = null;
    next.input = null;
  }
  next.mode = changed === "kind" ? (next.transposed ? "cols" : "rows") : $("play-mode").value;
  return next;
}

// ------------------------------------------------------------------------------------------
// Compute: everything the views show, from convmat

function compute() {
  const L = layer;
  if (api.setLayer(L) !== 0) return {error: api.error()};
  const m = {L, rank: L.rank, transposed: L.transposed};
  m.description = wasm.UTF8ToString(wasm._cm_describe());
  m.inSpatial = new Array(L.rank).fill(L.n);
  m.outSpatial = Array.from({length: L.rank}, (_, a) => wasm._cm_output_size(a));
  m.rows = wasm._cm_rows();
  m.cols = wasm._cm_cols();
  m.taps = Math.pow(L.k, L.rank);
  m.windowRows = wasm._cm_window_rows();
  m.padded = Array.from({length: L.rank}, (_, a) => wasm._cm_padded_size(a));
  const wn = wasm._cm_weight_numel();
  m.weight = Float64Array.from(
      L.kernel && L.kernel.length === wn ? L.kernel : FILLS[L.kernelFill].make(wn));
  if (api.setWeight(m.weight) !== 0) return {error: api.error()};
  m.x = Float64Array.from(
      L.input && L.input.length === m.cols ? L.input : FILLS[L.inputFill].make(m.cols));
  m.y = api.apply(m.x, m.rows);
  m.loopsDifference = wasm._cm_loops_difference();
  m.nnz = wasm._cm_nnz();
  m.entry = {
    row: api.readInts(wasm._cm_entry_row(), m.nnz),
    col: api.readInts(wasm._cm_entry_col(), m.nnz),
    weight: api.readInts(wasm._cm_entry_weight(), m.nnz),
    value: api.readDoubles(wasm._cm_entry_value(), m.nnz),
  };
  m.byRow = Array.from({length: m.rows}, () => []);
  m.byCol = Array.from({length: m.cols}, () => []);
  for (let e = 0; e < m.nnz; ++e) {
    m.byRow[m.entry.row[e]].push(e);
    m.byCol[m.entry.col[e]].push(e);
  }
  // The two sides of the picture. The window side holds W's columns and is drawn padded (the
  // padded input of a convolution, the uncropped output of a transposed one); the other side
  // holds W's rows, one window each.
  m.inShape = [L.cin, ...m.inSpatial];
  m.outShape = [L.cout, ...m.outSpatial];
  m.windowSide = L.transposed ? "out" : "in";
  m.windowChannels = L.transposed ? L.cout : L.cin;
  m.rowSideShape = L.transposed ? m.inShape : m.outShape;
  return m;
}

// ------------------------------------------------------------------------------------------
// Names

function cellName(side, flat) {
  const shape = side === "in" ? model.inShape : model.outShape;
  const idx = unravel(flat, shape);
  const parts = (shape[0] > 1 ? idx : idx.slice(1)).join(", ");
  return `${side === "in" ? "x" : "y"}[${parts}]`;
}
const M = () => (model.transposed ? "Wᵀ" : "W");

// ------------------------------------------------------------------------------------------
// The formula

function drawFormula() {
  const L = model.L, f = $("formula");
  const o = model.outSpatial[0];
  const axes = L.rank === 1 ? "" : ` (each of the ${L.rank} axes)`;
  const num = (v) => `<span class="num">${v}</span>`;
  let line;
  if (!L.transposed) {
    line = `o = ⌊(n + p₀ + p₁ − d(k − 1) − 1) / s⌋ + 1 = ` +
        `⌊(${L.n} + ${L.p0} + ${L.p1} − ${L.d}·(${L.k} − 1) − 1) / ${L.s}⌋ + 1 = ${num(o)}`;
  } else {
    line = `o = (n − 1)·s − p₀ − p₁ + d(k − 1) + a + 1 = ` +
        `(${L.n} − 1)·${L.s} − ${L.p0} − ${L.p1} + ${L.d}·(${L.k} − 1) + ${L.a} + 1 = ${num(o)}`;
  }
  const size = (s) => s.join("×");
  const wRows = model.transposed ? model.cols : model.rows;
  const wCols = model.transposed ? model.rows : model.cols;
  const agree = model.loopsDifference === 0 ?
      `<span class="ok">✓ the direct loops give the same y exactly</span>` :
      `the direct loops differ by at most ${sci(model.loopsDifference)}`;
  f.innerHTML = `<div><span class="f">${line}</span>${axes}: ${size(model.inSpatial)} → ${
                    size(model.outSpatial)}</div>` +
      `<div>${
                    model.transposed ?
                        `The layer is <b>Wᵀ</b> (${model.rows} × ${model.cols}); W is ` :
                        "W is "}` +
      `${wRows} × ${wCols} with ${model.nnz} nonzeros. y = ${M()} x by the sparse matrix; ${
                    agree}.</div>` +
      `<div class="spec mono" id="spec">${model.description}</div>`;
  f.dataset.outputSize = String(o);
}

// ------------------------------------------------------------------------------------------
// The picture: input grid, kernel, output grid

function gridCellSize() {
  const largest = Math.max(...model.padded, ...model.inSpatial, ...model.outSpatial);
  return Math.max(14, Math.min(44, Math.floor(330 / largest)));
}

// Draws the channels of one side. Spatial 1-d arrays are one row of cells.
// An svg as wide as its content or its caption, whichever is wider (measured once drawn).
function fitWidth(s, caption, contentWidth) {
  s.setAttribute("width", String(contentWidth));
  s.setAttribute(
      "width", String(Math.ceil(Math.max(contentWidth, caption.getComputedTextLength() + 4))));
}

function drawSide(parent, side, cs) {
  const L = model.L;
  const shape = side === "in" ? model.inShape : model.outShape;
  const spatial = shape.slice(1);
  const padded = side === model.windowSide;
  const grid = padded ? model.padded : spatial;
  const rowsOf = (g) => (g.length === 1 ? 1 : g[0]);
  const colsOf = (g) => g[g.length - 1];
  const gap = 30;
  const w = colsOf(grid) * cs, h = rowsOf(grid) * cs;
  const top = 26;
  const s = svg("svg", {height: top + shape[0] * (h + gap) - gap + 22, class: "side"}, parent);
  const name = side === "in" ? "input x" : "output y";
  let caption = `${name}: ${spatial.join("×")}`;
  if (padded && !model.transposed && (L.p0 || L.p1)) caption += ", padded with zeros";
  if (padded && model.transposed && (L.p0 || L.p1)) caption += " (hatched: cropped by the padding)";
  const captionText = text(s, 1, 11, caption, "caption", "start");
  const cells = {};   // "channel:position" on the drawn grid -> element
  const byFlat = [];  // real cell flat index -> {rect, value text}
  const p0 = padded ? L.p0 : 0;
  for (let c = 0; c < shape[0]; ++c) {
    const y0 = top + c * (h + gap);
    if (shape[0] > 1) text(s, 1, y0 + h + 9, `channel ${c}`, "caption-small", "start");
    const count = prod(grid);
    for (let g = 0; g < count; ++g) {
      const pos = unravel(g, grid);
      const real = pos.map((v) => v - p0);
      const inside = real.every((v, a) => v >= 0 && v < spatial[a]);
      const r = rowsOf(grid) === 1 ? 0 : pos[0], q = pos[pos.length - 1];
      const cls = inside ? side : (side === "in" ? "pad" : "crop");
      const rect = svg(
          "rect", {x: 1 + q * cs, y: y0 + r * cs, width: cs, height: cs, class: `cell ${cls}`}, s);
      rect.dataset.side = side;
      rect.dataset.channel = String(c);
      rect.dataset.pos = pos.join(",");
      const entry = {rect, value: null, tap: null, x: 1 + q * cs, y: y0 + r * cs};
      if (inside) {
        const flat = c * prod(spatial) + ravel(real, spatial);
        rect.dataset.index = String(flat);
        byFlat[flat] = entry;
        if (cs >= 22) entry.value = text(s, 1 + (q + 0.5) * cs, y0 + (r + 0.58) * cs, "", "val");
        rect.addEventListener("mouseenter", () => hover(side === "out" ? "row" : "col", flat));
      } else {
        rect.dataset.pad = "1";
        if (side === "in" && cs >= 22)
          text(s, 1 + (q + 0.5) * cs, y0 + (r + 0.58) * cs, "0", "val padval");
      }
      if (cs >= 26) entry.tap = text(s, 1 + q * cs + 3, y0 + r * cs + 7, "", "tap", "start");
      cells[`${c}:${pos.join(",")}`] = entry;
    }
  }
  fitWidth(s, captionText, w + 2);
  return {cells, byFlat};
}

function drawKernel(parent, cs) {
  const L = model.L;
  const k = L.k, rank = L.rank;
  const kr = rank === 1 ? 1 : k;
  const outer = L.transposed ? [L.cin, L.cout] : [L.cout, L.cin];
  const kcs = Math.max(18, Math.min(40, cs));
  const bw = k * kcs, bh = kr * kcs, gap = 14, top = 26;
  const s = svg("svg", {height: top + outer[0] * (bh + gap + 14) + 4, class: "kernel"}, parent);
  const caption =
      text(s, 1, 11, outer[0] * outer[1] > 1 ? "kernel w[·, ·]" : "kernel w", "caption", "start");
  fitWidth(s, caption, outer[1] * (bw + gap) + 4);
  const cells = [];
  for (let a = 0; a < outer[0]; ++a) {
    for (let b = 0; b < outer[1]; ++b) {
      const x0 = 2 + b * (bw + gap), y0 = top + a * (bh + gap + 14);
      if (outer[0] * outer[1] > 1)
        text(s, x0, y0 + bh + 8, `w[${a}, ${b}]`, "caption-small", "start");
      for (let t = 0; t < model.taps; ++t) {
        const wi = (a * outer[1] + b) * model.taps + t;
        const r = rank === 1 ? 0 : Math.floor(t / k), q = t % k;
        const rect = tapSquare(s, x0 + q * kcs, y0 + r * kcs, kcs, "cell kernel", t);
        rect.dataset.weight = String(wi);
        rect.dataset.value = String(model.weight[wi]);
        fitText(
            text(s, x0 + (q + 0.5) * kcs, y0 + (r + 0.55) * kcs, "", "val"), fmt(model.weight[wi]),
            kcs, 15);
        cells[wi] = rect;
      }
    }
  }
  return cells;
}

function drawPicture() {
  const box = $("picture");
  box.innerHTML = "";
  const cs = gridCellSize();
  refs.in = drawSide(box, "in", cs);
  refs.kernel = drawKernel(box, cs);
  refs.out = drawSide(box, "out", cs);
  refs.cs = cs;
}

// ------------------------------------------------------------------------------------------
// The matrix

function drawMatrix() {
  const box = $("matrix");
  box.innerHTML = "";
  const rows = model.rows, cols = model.cols;
  const width = Math.max(box.clientWidth || 700, 500) - 20;
  // Cells as large as the width allows (at most 36 px); a tall matrix is shrunk to fit the
  // window's height, but not below 14 px when the width allows that: then the box scrolls.
  const byWidth = Math.min(36, Math.floor(width / (cols + 2.2)));
  const byHeight = Math.floor(Math.max(window.innerHeight * 0.62, 360) / (rows + 1.5));
  const cs = Math.max(5, Math.min(byWidth, Math.max(byHeight, Math.min(byWidth, 14))));
  const hw = Math.max(cs * 1.6, 30), hh = Math.max(cs * 1.2, 22);
  const left = hw + 24, top = hh + 26;
  const s = svg("svg", {width: Math.max(left + cols * cs + 4, left + 170), height: top + rows * cs + 4},
                box);
  const showValues = cs >= 18;
  text(s, left, 10, `x  (${cols} inputs)`, "axis-label", "start");
  const yl = text(s, 10, top + (rows * cs) / 2, `y  (${rows} outputs)`, "axis-label");
  yl.setAttribute("transform", `rotate(-90 10 ${top + (rows * cs) / 2})`);
  svg("rect", {x: left, y: top, width: cols * cs, height: rows * cs, class: "mbg"}, s);
  const grid = svg("g", {}, s);
  if (cs >= 9) {
    for (let r = 1; r < rows; ++r)
      svg("line",
          {x1: left, x2: left + cols * cs, y1: top + r * cs, y2: top + r * cs, class: "mgrid"},
          grid);
    for (let c = 1; c < cols; ++c)
      svg("line",
          {y1: top, y2: top + rows * cs, x1: left + c * cs, x2: left + c * cs, class: "mgrid"},
          grid);
  }
  // channel separators
  const rowsPer = rows / model.L.cout, colsPer = cols / model.L.cin;
  for (let c = 1; c < model.L.cout; ++c)
    svg("line", {
      x1: left,
      x2: left + cols * cs,
      y1: top + c * rowsPer * cs,
      y2: top + c * rowsPer * cs,
      stroke: "#5b6878",
      "stroke-width": 2
    },
        s);
  for (let c = 1; c < model.L.cin; ++c)
    svg("line", {
      y1: top,
      y2: top + rows * cs,
      x1: left + c * colsPer * cs,
      x2: left + c * colsPer * cs,
      stroke: "#5b6878",
      "stroke-width": 2
    },
        s);
  const rowBand = svg("rect", {x: left, width: cols * cs, height: cs, class: "band hide"}, s);
  const colBand = svg("rect", {y: top, width: cs, height: rows * cs, class: "band hide"}, s);
  const entries = [];
  for (let e = 0; e < model.nnz; ++e) {
    const r = model.entry.row[e], c = model.entry.col[e];
    const t = model.entry.weight[e] % model.taps;
    const rect = tapSquare(s, left + c * cs, top + r * cs, cs, "entry", t);
    rect.dataset.row = String(r);
    rect.dataset.col = String(c);
    rect.dataset.value = String(model.entry.value[e]);
    rect.dataset.weight = String(model.entry.weight[e]);
    entries.push(rect);
    if (showValues) {
      const t = text(s, left + (c + 0.5) * cs, top + (r + 0.55) * cs, "", "mval");
      fitText(t, fmt(model.entry.value[e]), cs, 13);
    }
  }
  // headers: y down the left, x along the top
  const rowHeads = [], colHeads = [], rowHeadText = [];
  for (let r = 0; r < rows; ++r) {
    const h = svg(
        "rect", {x: left - hw - 2, y: top + r * cs, width: hw, height: cs, class: "head row"}, s);
    h.dataset.row = String(r);
    h.addEventListener("mouseenter", () => hover("row", r));
    rowHeads.push(h);
    rowHeadText.push(
        showValues ? text(s, left - hw / 2 - 2, top + (r + 0.55) * cs, fmt(model.y[r]), "hval") :
                     null);
  }
  for (let c = 0; c < cols; ++c) {
    const h = svg(
        "rect", {x: left + c * cs, y: top - hh - 2, width: cs, height: hh, class: "head col"}, s);
    h.dataset.col = String(c);
    h.addEventListener("mouseenter", () => hover("col", c));
    colHeads.push(h);
    if (showValues)
      fitText(
          text(s, left + (c + 0.5) * cs, top - hh / 2 - 2, "", "hval"), fmt(model.x[c]), cs, 12);
  }
  // the body: the pointer selects its row or its column, as the "step through" control says
  const hit = svg("rect", {x: left, y: top, width: cols * cs, height: rows * cs, class: "hit"}, s);
  hit.addEventListener("mousemove", (ev) => {
    const box = hit.getBoundingClientRect();
    const c = Math.min(cols - 1, Math.floor(((ev.clientX - box.left) / box.width) * cols));
    const r = Math.min(rows - 1, Math.floor(((ev.clientY - box.top) / box.height) * rows));
    if (layer.mode === "rows")
      hover("row", r);
    else
      hover("col", c);
  });
  refs.matrix = {entries, rowHeads, colHeads, rowHeadText, rowBand, colBand, cs, hw, left, top};

  const W = model.transposed ? model.cols : model.rows,
        Wc = model.transposed ? model.rows : model.cols;
  $("matrix-title").innerHTML = model.transposed ?
      `<b>Wᵀ</b>, ${model.rows} × ${model.cols}: <span class="eq">y = Wᵀ x</span>` +
          `<div class="sub">W (${W} × ${
              Wc}) is the convolution with the same kernel, stride, padding ` +
          `and dilation, taking this layer's ${model.outSpatial.join("×")} output back to its ` +
          `${model.inSpatial.join("×")} input. ` +
          `Column j of Wᵀ is the patch that input j splats; row i, what output i collects.</div>` :
      `<b>W</b>, ${model.rows} × ${model.cols}: <span class="eq">y = W x</span>` +
          `<div class="sub">Row i of W is output i's window: the kernel, laid over the input. ` +
          `Column j: every output that input j reaches — what Wᵀ splats back.</div>`;
  $("matrix-legend").textContent =
      `Colour: the kernel tap (as in the kernel); blank: 0. Rows are outputs (green), columns inputs (blue). ` +
      (showValues ? "" : "Hover to read the values.");
}

// ------------------------------------------------------------------------------------------
// Values on the grids (the full output, or a partial one while stepping)

function showValues(outputValues, pendingRows) {
  refs.in.byFlat.forEach((cell, i) => {
    if (cell.value) fitText(cell.value, fmt(model.x[i]), refs.cs, 15);
    cell.rect.dataset.value = String(model.x[i]);
  });
  refs.out.byFlat.forEach((cell, i) => {
    const pending = pendingRows && pendingRows(i);
    cell.rect.classList.toggle("pending", Boolean(pending));
    if (cell.value) fitText(cell.value, pending ? "" : fmt(outputValues[i]), refs.cs, 15);
    cell.rect.dataset.value = pending ? "" : String(outputValues[i]);
  });
  refs.matrix.rowHeadText.forEach((t, r) => {
    if (t)
      fitText(t, pendingRows && pendingRows(r) ? "" : fmt(outputValues[r]), refs.matrix.hw, 12);
  });
}

// ------------------------------------------------------------------------------------------
// Selection: a row or a column of M, with everything linked to it

let lit = [];
function light(el, cls) {
  el.classList.add(cls);
  lit.push([el, cls]);
}
function clearLights() {
  for (const [el, cls] of lit) el.classList.remove(cls);
  lit = [];
  for (const side of ["in", "out"]) {
    for (const cell of Object.values(refs[side].cells))
      if (cell.tap) cell.tap.textContent = "";
  }
  refs.matrix.rowBand.classList.add("hide");
  refs.matrix.colBand.classList.add("hide");
}
function tapLabel(entry, w) {
  if (entry.tap) entry.tap.textContent = "×" + fmt(w);
}
function sideCells(side) {
  return refs[side];
}

// W's row `wr`: a window (convolution: an output reads it; transposed: an input splats it).
function litWindow(wr) {
  const L = model.L;
  const rowSide = model.transposed ? "in" : "out";
  const winSide = model.windowSide;
  light(sideCells(rowSide).byFlat[wr].rect, "focus");
  const pos = api.window(wr, model.taps, L.rank);
  const rowChannel = Math.floor(wr / prod(model.rowSideShape.slice(1)));
  const cells = [];
  for (let c = 0; c < model.windowChannels; ++c) {
    for (let t = 0; t < model.taps; ++t) {
      const p = Array.from(pos.slice(t * L.rank, (t + 1) * L.rank));
      const cell = sideCells(winSide).cells[`${c}:${p.join(",")}`];
      const wi = (rowChannel * model.windowChannels + c) * model.taps + t;
      if (!cell) continue;
      light(cell.rect, "hl");
      tapLabel(cell, model.weight[wi]);
      light(refs.kernel[wi], "hl");
      cells.push({cell, wi, t, c, p});
    }
  }
  return {cells, pos, rowChannel};
}

// W's column `wc`: a cell on the window side, and the windows (W rows) that contain it.
function litGather(wc, entries) {
  const rowSide = model.transposed ? "in" : "out";
  light(sideCells(model.windowSide).byFlat[wc].rect, "focus");
  for (const e of entries) {
    const wr = model.transposed ? model.entry.col[e] : model.entry.row[e];
    const cell = sideCells(rowSide).byFlat[wr];
    light(cell.rect, "hl");
    tapLabel(cell, model.weight[model.entry.weight[e]]);
    light(refs.kernel[model.entry.weight[e]], "hl");
  }
}

function term(w, name, value) {
  return `<span class="term">${fmt(w)}·${name}</span>`;
}

function select(sel) {
  selection = sel;
  clearLights();
  const info = $("info");
  if (!sel) {
    info.innerHTML = model.transposed ?
        `Hover a <b>column</b> of Wᵀ (or an input cell): the patch that input splats onto the output. ` +
            `Hover a <b>row</b> (or an output cell): the inputs whose patches add up there. Or press ▶.` :
        `Hover a <b>row</b> of W (or an output cell): the window of inputs it reads, with the kernel's values. ` +
            `Hover a <b>column</b> (or an input cell): every output that reads it. Or press ▶.`;
    return;
  }
  const mx = refs.matrix;
  const isRow = sel.kind === "row";
  const band = isRow ? mx.rowBand : mx.colBand;
  band.setAttribute(isRow ? "y" : "x", String((isRow ? mx.top : mx.left) + sel.index * mx.cs));
  band.classList.remove("hide");
  light((isRow ? mx.rowHeads : mx.colHeads)[sel.index], "hl");
  const entries = (isRow ? model.byRow : model.byCol)[sel.index];
  for (const e of entries) light(mx.entries[e], "hl");
  const windowSelected = isRow !== model.transposed;  // conv row, or transposed column
  let sentence;
  if (windowSelected) {
    const wr = sel.index;
    const lit = litWindow(wr);
    const onPad = lit.cells.filter((c) => c.cell.rect.dataset.pad === "1").length;
    const start = Array.from(lit.pos.slice(0, model.L.rank)).map((v) => v - model.L.p0);
    if (!model.transposed) {
      const yname = cellName("out", wr);
      const terms =
          entries.map((e) => term(model.entry.value[e], cellName("in", model.entry.col[e])));
      const products =
          entries.map((e) => `${fmt(model.entry.value[e])}·${fmt(model.x[model.entry.col[e]])}`);
      sentence = `<b>Row ${wr} of W</b> is output <b class="y">${
                     yname}</b>: the window starting at input ` +
          `(${start.join(", ")}) = output position × stride − p₀.<br><b class="y">${yname}</b> = ` +
          (terms.length ? terms.join(" + ") + " = " + products.join(" + ") :
                          "0 (the whole window is padding)") +
          ` = <b>${fmt(model.y[wr])}</b>.` +
          (onPad ?
               `<br>${
                   onPad} of the window's taps fall on the padding: they read zeros and have no column in W.` :
               "");
    } else {
      const xname = cellName("in", wr);
      const crop = lit.cells.filter((c) => c.cell.rect.dataset.pad === "1").length;
      const reached = entries.map(
          (e) => `${fmt(model.x[wr])}·${fmt(model.entry.value[e])} to ${
              cellName("out", model.entry.row[e])}`);
      sentence =
          `<b>Column ${wr} of Wᵀ</b> is input <b class="x">${xname}</b> = ${fmt(model.x[wr])}: ` +
          `it splats ${fmt(model.x[wr])} × the kernel onto the output at (${
              start.join(", ")}) = input position × stride − p₀.` +
          `<br>It adds ${reached.length ? reached.join(", ") : "nothing to the output"}.` +
          (crop ?
               `<br>${
                   crop} of the patch's cells fall outside the output (cropped by the padding): they have no row in Wᵀ.` :
               "");
    }
  } else {
    const wc = sel.index;
    litGather(wc, entries);
    if (!model.transposed) {
      const xname = cellName("in", wc);
      const outs = entries.map(
          (e) => `${cellName("out", model.entry.row[e])} (×${fmt(model.entry.value[e])})`);
      sentence =
          `<b>Column ${wc} of W</b> is input <b class="x">${xname}</b> = ${fmt(model.x[wc])}: ` +
          `read by ${outs.length} output${outs.length === 1 ? "" : "s"}: ${
              outs.join(", ") || "none"}.` +
          `<br>The transposed convolution (Wᵀ) sends a value at ${
              xname.replace("x", "y")} back to exactly ` +
          `these cells, times these taps: it splats.`;
    } else {
      const yname = cellName("out", wc);
      const terms =
          entries.map((e) => term(model.entry.value[e], cellName("in", model.entry.col[e])));
      const products =
          entries.map((e) => `${fmt(model.entry.value[e])}·${fmt(model.x[model.entry.col[e]])}`);
      sentence = `<b>Row ${wc} of Wᵀ</b> is output <b class="y">${
                     yname}</b>: it collects the patches of ` +
          `${entries.length} input${entries.length === 1 ? "" : "s"}.<br><b class="y">${
                     yname}</b> = ` +
          (terms.length ? terms.join(" + ") + " = " + products.join(" + ") : "0") +
          ` = <b>${fmt(model.y[wc])}</b>.`;
    }
  }
  if (step >= 0) {
    const total = layer.mode === "rows" ? model.rows : model.cols;
    sentence = `<span class="mono">step ${step + 1} of ${total}</span> · ` + sentence;
  }
  info.innerHTML = sentence;
  info.dataset.kind = sel.kind;
  info.dataset.index = String(sel.index);
}

function hover(kind, index) {
  if (timer) return;  // the play button has the selection
  if (step >= 0) {
    step = -1;
    showValues(model.y, null);
  }
  select({kind, index});
}

// ------------------------------------------------------------------------------------------
// Play: through the rows (each output's window) or the columns (each input's splat)

function stepCount() {
  return layer.mode === "rows" ? model.rows : model.cols;
}

function goTo(j) {
  if (!model) return;
  step = j;
  if (j < 0) {
    showValues(model.y, null);
    select(null);
    return;
  }
  if (layer.mode === "rows") {
    showValues(model.y, (r) => r > j);
    select({kind: "row", index: j});
  } else {
    // The output after the first j + 1 inputs have splatted: M·x with the rest set to 0.
    const partial = model.x.map((v, i) => (i <= j ? v : 0));
    showValues(api.apply(partial, model.rows), null);
    select({kind: "col", index: j});
  }
}

function stopPlaying() {
  if (timer) clearInterval(timer);
  timer = null;
  $("play").textContent = "▶ play";
  $("play").classList.remove("playing");
}

function play() {
  if (timer) {
    stopPlaying();
    return;
  }
  $("play").textContent = "❚❚ pause";
  $("play").classList.add("playing");
  if (step < 0 || step >= stepCount() - 1)
    goTo(0);
  else
    goTo(step + 1);
  const delay = [0, 1800, 1200, 800, 450, 200][Number($("speed").value)];
  timer = setInterval(() => {
    if (step >= stepCount() - 1) {
      stopPlaying();
      return;
    }
    goTo(step + 1);
  }, delay);
}

// ------------------------------------------------------------------------------------------
// Rebuild everything for the current layer

function rebuild() {
  stopPlaying();
  step = -1;
  controlsFromLayer();
  const m = compute();
  const err = $("error");
  if (m.error) {
    err.hidden = false;
    err.textContent = "convmat refuses this layer: " + m.error;
    $("views").classList.add("invalid");
    $("formula").innerHTML = "";
    $("formula").hidden = true;
    document.body.dataset.state = "error";
    return;
  }
  err.hidden = true;
  $("formula").hidden = false;
  $("views").classList.remove("invalid");
  model = m;
  drawFormula();
  drawPicture();
  drawMatrix();
  showValues(model.y, null);
  select(null);
  document.body.dataset.state = "ok";
}

function onControl(ev) {
  const id = ev.target.id;
  if (id === "example") {
    const e = EXAMPLES.find((x) => x.id === $("example").value);
    layer = Object.assign({}, e.layer);
  } else if (id === "play-mode") {
    layer.mode = $("play-mode").value;
    stopPlaying();
    goTo(-1);
    return;
  } else {
    layer = layerFromControls(id);
    $("example").value = "custom";
  }
  rebuild();
}

// ------------------------------------------------------------------------------------------
// The panel: transposed is not inverse

const NOISES = [0, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3];
const DAMPS = [0, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3];
let panelOut = 0;

function drawImage(canvas, values, n, scale) {
  canvas.width = n;
  canvas.height = n;
  canvas.style.width = canvas.style.height = `${n * scale}px`;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(n, n);
  for (let i = 0; i < n * n; ++i) {
    const g = Math.round(255 * Math.min(1, Math.max(0, values[i])));
    img.data.set([g, g, g, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
}

function panelBuild() {
  const cam = window.CONVMAT_CAMERA;
  const p = api.doubles(cam.pixels);
  panelOut = wasm._cm_panel_build(p, cam.size, Number($("panel-kind").value));
  wasm._free(p);
  if (panelOut < 0) throw new Error(api.error());
}

function panelSolve() {
  const cam = window.CONVMAT_CAMERA, n = cam.size, o = panelOut;
  const noise = NOISES[Number($("panel-noise").value)], damp = DAMPS[Number($("panel-damp").value)];
  $("panel-noise-value").textContent = noise ? sci(noise) : "0";
  $("panel-damp-value").textContent = damp ? sci(damp) : "0";
  const count = wasm._cm_panel_singular_count();
  const ptrs = [o * o, n * n, n * n, n * n, count, 3, 3 * count].map((k) => wasm._malloc(8 * k));
  const rc = wasm._cm_panel_solve(noise, damp, ...ptrs);
  if (rc !== 0) throw new Error(api.error());
  const [observed, transposed, inverse, damped, sigma, errors, gains] =
      [o * o, n * n, n * n, n * n, count, 3, 3 * count].map((k, i) => api.readDoubles(ptrs[i], k));
  ptrs.forEach((p) => wasm._free(p));
  const rank = wasm._cm_panel_rank();

  const box = $("panel-images");
  box.innerHTML = "";
  const kind = Number($("panel-kind").value);
  const images = [
    {values: cam.pixels, n, title: "x: the photograph", id: "x"},
    {
      values: observed,
      n: o,
      title: noise ? `y = W x + noise (σ = ${sci(noise)})` : "y = W x",
      id: "y"
    },
    {
      values: transposed,
      n,
      title: "Wᵀ y: transposed convolution",
      id: "transposed",
      error: errors[0]
    },
    {
      values: inverse,
      n,
      title: "W⁺ y: least squares (deconvolution)",
      id: "inverse",
      error: errors[1]
    },
    {
      values: damped,
      n,
      title: `damped least squares, λ = ${damp ? sci(damp) : "0"}`,
      id: "damped",
      error: errors[2]
    },
  ];
  const best = Math.min(errors[0], errors[1], errors[2]);
  for (const im of images) {
    const d = html("div", {class: "pimg", id: "panel-" + im.id}, box);
    html("div", {class: "t"}, d, im.title);
    const c = html("canvas", {}, d);
    drawImage(c, im.values, im.n, Math.floor(168 / n) * n / im.n);
    if (im.error !== undefined) {
      const cls = im.error === best ? "e good" : im.error > 0.5 ? "e bad" : "e";
      const e = html("div", {class: cls}, d, `‖x̂ − x‖/‖x‖ = ${im.error.toFixed(3)}`);
      e.dataset.error = String(im.error);
      let lo = Infinity, hi = -Infinity;
      for (const v of im.values) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      if (lo < -0.05 || hi > 1.05)
        html("div", {class: "e"}, d, `values ${fmt(lo)} … ${fmt(hi)}, clipped`);
    } else {
      html("div", {class: "e"}, d, `${im.n}×${im.n}`);
    }
  }
  // one shared grey scale for all five
  const bar = html("div", {class: "pimg", style: "width: 70px"}, box);
  html("div", {class: "t"}, bar, "grey level");
  const bs = svg("svg", {width: 64, height: 172}, bar);
  const defs = svg("defs", {}, bs);
  const grad = svg("linearGradient", {id: "greybar", x1: 0, y1: 1, x2: 0, y2: 0}, defs);
  svg("stop", {offset: "0", "stop-color": "#000"}, grad);
  svg("stop", {offset: "1", "stop-color": "#fff"}, grad);
  svg("rect", {x: 2, y: 4, width: 20, height: 164, fill: "url(#greybar)", stroke: "#9fb0c2"}, bs);
  for (const [v, yy] of [[1, 4], [0.5, 86], [0, 168]]) {
    svg("line", {x1: 22, x2: 27, y1: yy, y2: yy, stroke: "#5b6878"}, bs);
    text(bs, 30, yy, String(v), "tick", "start");
  }
  html(
      "div", {class: "e", style: "font-size: 12px; text-align: center"}, bar,
      "shared by all, clipped to [0, 1]");

  drawSpectrum(sigma, gains, damp, rank);
  const smax = sigma[0], smin = sigma[count - 1];
  const equal = smax - smin <= 1e-12 * smax;
  const missing = n * n - rank;
  const lost = o * o < n * n ?
      ` W has fewer rows (${o * o}) than the image has pixels (${n * n}): ${missing} ` +
          `directions of x are not in y at all, and W⁺y is the minimum-norm image that ` +
          `explains y — never x itself.` :
      "";
  let why;
  if (equal) {
    const value = fmt(Number(smax.toPrecision(3)));
    why = `All ${count} singular values of W are equal (σ = ${value}): no two windows overlap, ` +
        `W's rows are orthogonal, and Wᵀ = σ²·W⁺ — here the transposed convolution <em>is</em> ` +
        `the least-squares inverse, up to the scale σ² = ‖k‖² (which is why Wᵀy looks dark).` +
        lost;
  } else {
    const blur = `W has ${count} singular values σᵢ, from ${sci(smax)} down to ${sci(smin)}. ` +
        `Along the i-th singular direction, W multiplies x by σᵢ. `;
    const transposed = `<b>Wᵀ multiplies by σᵢ again</b>: what the layer weakened is weakened ` +
        `twice, so Wᵀy is blurrier than y — but Wᵀ never amplifies: noise passes at most ` +
        `×${sci(smax)}. `;
    const inverse = `<b>W⁺ divides by σᵢ</b>: it undoes the blur exactly, and divides the ` +
        `noise by σᵢ too — up to ×${sci(1 / smin)}. ` +
        (noise ? "With this noise the exact inverse drowns, and Wᵀy can be closer to x. " :
                 "Add noise with the slider: the exact inverse drowns, and Wᵀy can be closer " +
                     "to x. ");
    const damping = `<b>Damping</b> replaces 1/σᵢ by σᵢ/(σᵢ² + λ²), at most 1/(2λ): it keeps ` +
        `the directions the layer kept and gives up those the noise owns.`;
    why = blur + transposed + inverse + damping + lost;
  }
  $("panel-explain").innerHTML = why;
}

function drawSpectrum(sigma, gains, damp, rank) {
  const box = $("panel-spectrum");
  box.innerHTML = "";
  const count = sigma.length;
  const W = 600, H = 300, l = 62, r = 16, t = 30, b = 40;
  const s = svg("svg", {width: W, height: H}, box);
  const curves = [
    {values: gains.slice(0, count), color: "#2b6cb0", label: "Wᵀ: noise × σᵢ", dash: ""},
    {values: gains.slice(count, 2 * count), color: "#c0392b", label: "W⁺: noise × 1/σᵢ", dash: ""},
    {
      values: gains.slice(2 * count, 3 * count),
      color: "#23804a",
      label: `damped (λ = ${damp ? sci(damp) : 0}): × σᵢ/(σᵢ² + λ²)`,
      dash: "6 4"
    },
  ];
  let lo = Infinity, hi = -Infinity;
  for (const c of curves)
    for (const v of c.values)
      if (v > 0) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
  const e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi));
  const X = (i) => l + ((W - l - r) * i) / Math.max(count - 1, 1);
  const Y = (v) => t + ((H - t - b) * (e1 - Math.log10(v))) / Math.max(e1 - e0, 1);
  svg("rect", {x: l, y: t, width: W - l - r, height: H - t - b, fill: "#fbfcfd", stroke: "#c9d2dc"},
      s);
  for (let e = e0; e <= e1; ++e) {
    svg("line", {
      x1: l,
      x2: W - r,
      y1: Y(Math.pow(10, e)),
      y2: Y(Math.pow(10, e)),
      stroke: e === 0 ? "#8a97a5" : "#e3e8ee"
    },
        s);
    text(s, l - 6, Y(Math.pow(10, e)), sci(Math.pow(10, e)), "tick", "end");
  }
  for (const i of [0, Math.floor((count - 1) / 2), count - 1])
    text(s, X(i), H - b + 10, String(i + 1), "tick");
  text(
      s, l + (W - l - r) / 2, H - 10, "singular direction i (σᵢ from largest to smallest)",
      "legend-text");
  text(
      s, l, 12, "how much each method multiplies the noise along direction i", "legend-text",
      "start");
  curves.forEach((c, k) => {
    const pts = [];
    c.values.forEach((v, i) => {
      if (v > 0) pts.push(`${X(i).toFixed(1)},${Y(v).toFixed(1)}`);
    });
    svg("polyline",
        {points: pts.join(" "), class: "curve", stroke: c.color, "stroke-dasharray": c.dash}, s);
    const ly = t + 14 + 18 * k;
    svg("line", {
      x1: l + 10,
      x2: l + 34,
      y1: ly,
      y2: ly,
      stroke: c.color,
      "stroke-width": 3,
      "stroke-dasharray": c.dash
    },
        s);
    text(s, l + 40, ly, c.label, "legend-text", "start");
  });
  if (rank < count) text(s, X(rank), t + 8, `rank ${rank}`, "tick");
}

function panel(ev) {
  if (ev && ev.target.id === "panel-kind") panelBuild();
  panelSolve();
}

// ------------------------------------------------------------------------------------------
// Start

function init() {
  const exSel = $("example");
  for (const e of EXAMPLES) html("option", {value: e.id}, exSel, e.label);
  for (const id of ["kernel-fill", "input-fill"]) {
    html("option", {value: "example"}, $(id), "from the example");
    for (const [k, f] of Object.entries(FILLS)) html("option", {value: k}, $(id), f.label);
  }
  for (const id
           of ["example", "rank", "kind", ...NUMERIC, "kernel-fill", "input-fill", "play-mode"]) {
    $(id).addEventListener("change", onControl);
  }
  $("play").addEventListener("click", play);
  $("step-next").addEventListener("click", () => {
    stopPlaying();
    goTo(Math.min(step + 1, stepCount() - 1));
  });
  $("step-back").addEventListener("click", () => {
    stopPlaying();
    goTo(Math.max(step - 1, -1));
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.target.tagName === "INPUT" || ev.target.tagName === "SELECT") return;
    if (ev.key === " ") {
      ev.preventDefault();
      play();
    }
    if (ev.key === "ArrowRight") $("step-next").click();
    if (ev.key === "ArrowLeft") $("step-back").click();
  });
  for (const id of ["panel-kind", "panel-noise", "panel-damp"])
    $(id).addEventListener("input", panel);
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (model) {
        drawMatrix();
        showValues(model.y, null);
        select(selection);
      }
    }, 200);
  });
  rebuild();
  panelBuild();
  panelSolve();
  $("engine").textContent = "convmat's core, compiled to WebAssembly, is running.";
  document.body.dataset.ready = "1";
}

createConvmat()
    .then((module) => {
      wasm = module;
      init();
    })
    .catch((e) => {
      $("engine").textContent = "convmat's WebAssembly module failed to load: " + e;
      document.body.dataset.ready = "error";
    });
})();

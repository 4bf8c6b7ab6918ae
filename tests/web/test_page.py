#!/usr/bin/python3
"""The teaching page (web/, built into build/web/) in headless Chromium, against the Python module.

    test_page.py --page build/web/index.html --screenshots build/web/screenshots/seeds
                 [--chromedriver /usr/bin/chromedriver] [--only examples custom play error panel]

For every setting of a table (the seeds' cases, then layers set through the controls: 1-d and
2-d, asymmetric padding, dilation, output_padding, two channels) the page is loaded from its file
URL and checked:
- the matrix it draws — every entry: row, column, value — equals convmat.conv_matrix (or
  conv_transpose_matrix) for the kernel and the input the page shows, exactly (integer data);
  asymmetric padding is checked against the unpadded layer on the explicitly padded (or cropped)
  grid, written here independently of the page;
- the input and output values it shows equal x and M·x; the seeds' printed numbers appear;
- the output-size formula names the layer's numbers and the size the module computes;
- a pointer moved by WebDriver onto row headers, column headers and grid cells lights exactly the
  cells and matrix entries that the reference matrix's row or column holds, each input or output
  cell labelled with its kernel tap, and the whole window (on the padding too) for the window side;
- stepping through seed 002's splats shows the note's output after every step;
- the "transposed is not inverse" panel reports the reconstruction errors NumPy computes for the
  same photograph and layer, and with noise the exact inverse does worse than Wᵀ.
A screenshot of every state goes to --screenshots, for a person to look at.
"""

import argparse
import os
import re
import shutil
import sys
import tempfile
import time

import numpy as np
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.support.ui import Select

import convmat

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from browser import chromium  # noqa: E402  (tests/browser.py)

FAILURES = []


def check(condition, message):
    if not condition:
        FAILURES.append(message)
        print("FAIL:", message, file=sys.stderr)
    return condition


# ------------------------------------------------------------------------------------------------
# The browser

class Page:
    def __init__(self, url, chromedriver, screenshots):
        self.url = url
        self.screenshots = screenshots
        self.shot_number = 0
        self.profile = tempfile.mkdtemp(prefix="convmat-chromium-")
        self.driver = chromium(chromedriver, (1600, 1000), self.profile,
                               {"goog:loggingPrefs": {"browser": "ALL"}})
        self.driver.get(url)
        self.wait_ready()

    def close(self):
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait_ready(self):
        for _ in range(1200):                # up to a minute: generous for a loaded machine
            state = self.js("return document.body.dataset.ready || ''")
            if state:
                break
            time.sleep(0.05)
        if state != "1":
            engine = self.js("return document.getElementById('engine').textContent")
            raise RuntimeError(f"the page did not load: ready = {state!r}, engine: {engine}")

    def errors_in_console(self):
        return [e for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def shot(self, name):
        self.shot_number += 1
        path = os.path.join(self.screenshots, f"{self.shot_number:03d}_{name}.png")
        self.driver.save_screenshot(path)

    def full_shot(self, name):
        """The whole page, by making the window as tall as it (then back)."""
        height = self.js("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1600, height + 20)
        self.shot(name)
        self.driver.set_window_size(1600, 1000)

    def example(self, value):
        Select(self.driver.find_element("id", "example")).select_by_value(value)

    def set_controls(self, **values):
        """Sets the controls as a user would, one change event each (ids as in index.html)."""
        for key, value in values.items():
            self.js("const e = document.getElementById(arguments[0]); e.value = arguments[1];"
                    "e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change'));",
                    key.replace("_", "-"), str(value))

    def frames(self):
        """Waits for two animation frames: scrolling and the events it causes have settled."""
        self.driver.execute_async_script(
            "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(done));")

    def hover(self, css):
        """Moves the pointer to the centre of the element `css` selects (WebDriver's own centre is
        wrong for SVG). The element is looked up afresh in each step, not held: the page redraws
        its SVG after a window resize (debounced, so at a moment that depends on the machine's
        load; full_shot resizes), which replaces the elements but keeps their places and
        re-applies the selection."""
        self.js("document.querySelector(arguments[0])"
                ".scrollIntoView({block: 'nearest', inline: 'nearest'})", css)
        self.frames()
        x, y = self.js("const b = document.querySelector(arguments[0]).getBoundingClientRect();"
                       "return [b.left + b.width / 2, b.top + b.height / 2];", css)
        actions = ActionBuilder(self.driver)
        actions.pointer_action.move_to_location(int(round(x)), int(round(y)))
        actions.perform()
        self.frames()

    def find(self, css):
        return self.driver.find_element("css selector", css)

    def state(self):
        """What the page shows: matrix entries, grid values, highlights, formula, info."""
        return self.js("""
const q = (s) => Array.from(document.querySelectorAll(s));
const num = (v) => (v === "" || v === undefined ? null : Number(v));
const cells = (side) => q(`rect.cell[data-side="${side}"]`).map((e) => ({
  index: e.dataset.index === undefined ? null : Number(e.dataset.index),
  pad: e.dataset.pad === "1", pos: e.dataset.pos, channel: Number(e.dataset.channel),
  value: num(e.dataset.value), hl: e.classList.contains("hl"), focus: e.classList.contains("focus"),
  tap: (() => { const t = e.nextElementSibling; return t && t.classList.contains("tap") ? t.textContent :
         (t && t.nextElementSibling && t.nextElementSibling.classList.contains("tap") ? t.nextElementSibling.textContent : null); })(),
}));
return {
  state: document.body.dataset.state,
  error: document.getElementById("error").hidden ? null : document.getElementById("error").textContent,
  entries: q("rect.entry").map((e) => [Number(e.dataset.row), Number(e.dataset.col), Number(e.dataset.value),
                                       e.classList.contains("hl")]),
  rowHeads: q("rect.head.row").length, colHeads: q("rect.head.col").length,
  rowHl: q("rect.head.row.hl").map((e) => Number(e.dataset.row)),
  colHl: q("rect.head.col.hl").map((e) => Number(e.dataset.col)),
  inputs: cells("in"), outputs: cells("out"),
  kernel: q("rect.cell.kernel").map((e) => [Number(e.dataset.weight), Number(e.dataset.value), e.classList.contains("hl")]),
  formula: document.getElementById("formula").textContent,
  outputSize: Number(document.getElementById("formula").dataset.outputSize),
  spec: (document.getElementById("spec") || {}).textContent,
  info: document.getElementById("info").textContent,
};
""")


# ------------------------------------------------------------------------------------------------
# The reference: the Python module, for the layer the page shows

def reference_matrix(layer, weight, shape):
    """M (scipy CSR, explicit zeros kept: the structure) for the page's layer from convmat's
    Python functions. Asymmetric padding: the layer without padding on the explicitly padded
    input (convolution), or with its output cropped (transposed), rows and columns picked here."""
    rank, n, k, s, d = layer["rank"], layer["n"], layer["k"], layer["s"], layer["d"]
    p0, p1, a = layer["p0"], layer["p1"], layer["a"]
    if not layer["transposed"]:
        if p0 == p1:
            return convmat.conv_matrix(weight, (n,) * rank, stride=s, padding=p0, dilation=d)
        padded = n + p0 + p1
        full = convmat.conv_matrix(weight, (padded,) * rank, stride=s, dilation=d).tocsc()
        keep = [i for i in range(shape[0] * padded ** rank)
                if all(p0 <= v < p0 + n for v in np.unravel_index(i, (shape[0],) + (padded,) * rank)[1:])]
        return full[:, keep].tocsr()
    if p0 == p1:
        return convmat.conv_transpose_matrix(weight, (n,) * rank, stride=s, padding=p0,
                                             output_padding=a, dilation=d)
    full = convmat.conv_transpose_matrix(weight, (n,) * rank, stride=s, output_padding=a,
                                         dilation=d)
    size = (n - 1) * s + d * (k - 1) + a + 1
    c_out = weight.shape[1]
    keep = [i for i in range(c_out * size ** rank)
            if all(p0 <= v < size - p1 for v in np.unravel_index(i, (c_out,) + (size,) * rank)[1:])]
    return full[keep, :]


def page_layer(page):
    return page.js("""
const v = (id) => Number(document.getElementById(id).value);
return {rank: v("rank"), transposed: document.getElementById("kind").value === "transposed",
        n: v("n"), k: v("k"), s: v("s"), p0: v("p0"), p1: v("p1"), d: v("d"),
        a: document.getElementById("kind").value === "transposed" ? v("a") : 0,
        cin: v("cin"), cout: v("cout")};""")


def label(value):
    return "×" + (str(int(value)) if float(value).is_integer() else f"{value}")


# ------------------------------------------------------------------------------------------------
# Checks of one state

def check_layer(page, name, seed_output=None, seed_matrix=None):
    layer = page_layer(page)
    st = page.state()
    if not check(st["state"] == "ok" and st["error"] is None, f"{name}: the page shows an error: {st['error']}"):
        return None
    rank, t = layer["rank"], layer["transposed"]
    weight_shape = ((layer["cin"], layer["cout"]) if t else (layer["cout"], layer["cin"])) + (layer["k"],) * rank
    kernel = sorted(st["kernel"])
    check([w for w, _, _ in kernel] == list(range(int(np.prod(weight_shape)))),
          f"{name}: the kernel view shows every weight once")
    weight = np.array([v for _, v, _ in kernel], dtype=np.float64).reshape(weight_shape)
    sparse = reference_matrix(layer, weight, weight_shape[1:2] if not t else (layer["cout"],))
    M = sparse.toarray()
    structure = {(int(r), int(c)) for r, c in zip(*sparse.nonzero())} | \
        {(int(r), int(c)) for r, c in zip(sparse.tocoo().row, sparse.tocoo().col)}
    rows, cols = M.shape
    check((st["rowHeads"], st["colHeads"]) == (rows, cols),
          f"{name}: the page's matrix is {st['rowHeads']}×{st['colHeads']}, the module's {rows}×{cols}")
    drawn = np.zeros((st["rowHeads"], st["colHeads"]))
    for r, c, v, _ in st["entries"]:
        drawn[r, c] = v
    check(drawn.shape == M.shape and (drawn == M).all(),
          f"{name}: the matrix entries differ from convmat.conv{'_transpose' if t else ''}_matrix")
    drawn_structure = {(r, c) for r, c, _, _ in st["entries"]}
    check(len(drawn_structure) == len(st["entries"]) and drawn_structure == structure,
          f"{name}: the page draws {len(st['entries'])} entries, the module's matrix stores {len(structure)}")
    x = np.zeros(cols)
    for cell in st["inputs"]:
        if cell["index"] is not None:
            x[cell["index"]] = cell["value"]
    y = np.full(rows, np.nan)
    for cell in st["outputs"]:
        if cell["index"] is not None:
            y[cell["index"]] = cell["value"]
    check((y == M @ x).all(), f"{name}: the output shown {y} is not M·x = {M @ x}")
    # the layer itself, by the module's functional form (symmetric padding: a direct call)
    if layer["p0"] == layer["p1"]:
        op = getattr(convmat, ("conv_transpose" if t else "conv") + f"{rank}d")
        keywords = dict(stride=layer["s"], padding=layer["p0"], dilation=layer["d"])
        if t:
            keywords["output_padding"] = layer["a"]
        xs = x.reshape((1, layer["cin"]) + (layer["n"],) * rank)
        check((op(xs, weight, **keywords).ravel() == y).all(), f"{name}: y differs from convmat.{op.__name__}")
    out_size = round((rows / (layer["cout"])) ** (1 / rank))
    check(st["outputSize"] == out_size, f"{name}: the formula says {st['outputSize']}, the matrix has size {out_size}")
    L = layer
    filled = (f"⌊({L['n']} + {L['p0']} + {L['p1']} − {L['d']}·({L['k']} − 1) − 1) / {L['s']}⌋ + 1 = {out_size}"
              if not t else
              f"({L['n']} − 1)·{L['s']} − {L['p0']} − {L['p1']} + {L['d']}·({L['k']} − 1) + {L['a']} + 1 = {out_size}")
    check(filled in st["formula"], f"{name}: the formula does not read {filled!r}: {st['formula']!r}")
    check(f"output={'x'.join([str(out_size)] * rank)}" in st["spec"], f"{name}: ConvSpec's line {st['spec']!r}")
    if seed_output is not None:
        check(list(y) == list(np.ravel(seed_output)), f"{name}: the output {list(y)} is not the seed's {seed_output}")
    if seed_matrix is not None:
        check(drawn.shape == np.shape(seed_matrix) and (drawn == np.array(seed_matrix)).all(),
              f"{name}: the matrix is not the seed's")
    return {"layer": layer, "M": M, "structure": structure, "x": x, "y": y, "weight": weight}


def window_size(layer):
    channels = layer["cout"] if layer["transposed"] else layer["cin"]
    return channels * layer["k"] ** layer["rank"]


def check_selection(page, name, ref, kind, index, how):
    """After hovering row/column `index` of M: the lit matrix entries, cells and their labels."""
    st = page.state()
    M, layer = ref["M"], ref["layer"]
    t = layer["transposed"]
    nonzero = {c for r, c in ref["structure"] if r == index} if kind == "row" else \
        {r for r, c in ref["structure"] if c == index}
    lit_entries = {(r, c) for r, c, _, hl in st["entries"] if hl}
    expected = {(index, j) for j in nonzero} if kind == "row" else {(i, index) for i in nonzero}
    check(lit_entries == expected, f"{name}: {how} {kind} {index}: lit entries {sorted(lit_entries)}, "
                                   f"expected {sorted(expected)}")
    check((st["rowHl"], st["colHl"]) == (([index], []) if kind == "row" else ([], [index])),
          f"{name}: {how} {kind} {index}: the lit header is row {st['rowHl']} / column {st['colHl']}")
    own_side, other_side = ("outputs", "inputs") if kind == "row" else ("inputs", "outputs")
    focus = [c["index"] for c in st[own_side] if c["focus"]]
    check(focus == [index], f"{name}: {how} {kind} {index}: the focused cell is {focus}")
    lit_real = {c["index"]: c for c in st[other_side] if c["hl"] and not c["pad"]}
    check(set(lit_real) == nonzero, f"{name}: {how} {kind} {index}: lit {other_side} {sorted(lit_real)}, "
                                    f"the matrix's {kind} holds {sorted(nonzero)}")
    for j, cell in lit_real.items():
        value = M[index, j] if kind == "row" else M[j, index]
        if cell["tap"] is not None:
            check(cell["tap"] == label(value), f"{name}: {how} {kind} {index}: cell {j} is labelled "
                                                f"{cell['tap']!r}, its entry is {value}")
    # the window side shows the whole window (padding or cropped cells included)
    window_selected = (kind == "row") != t
    if window_selected:
        lit_all = [c for c in st[other_side] if c["hl"]]
        check(len(lit_all) == window_size(layer),
              f"{name}: {how} {kind} {index}: {len(lit_all)} window cells lit, the kernel has {window_size(layer)} taps")
    check(str(index) in st["info"] and ("Row" if kind == "row" else "Column") in st["info"],
          f"{name}: {how} {kind} {index}: the explanation says {st['info']!r}")


def hover_checks(page, name, ref):
    rows, cols = ref["M"].shape
    picks_r = sorted({0, rows - 1})
    picks_c = sorted({cols // 2, cols - 1})
    for r in picks_r:
        page.hover(f'rect.head.row[data-row="{r}"]')
        check_selection(page, name, ref, "row", r, "header")
    page.shot(f"{name}_row{picks_r[-1]}")
    for c in picks_c:
        page.hover(f'rect.head.col[data-col="{c}"]')
        check_selection(page, name, ref, "col", c, "header")
    page.shot(f"{name}_col{picks_c[-1]}")
    # the same through the picture: an output cell is its row, an input cell its column
    r = picks_r[len(picks_r) // 2]
    page.hover(f'rect.cell[data-side="out"][data-index="{r}"]')
    check_selection(page, name, ref, "row", r, "output cell")
    c = picks_c[-1]
    page.hover(f'rect.cell[data-side="in"][data-index="{c}"]')
    check_selection(page, name, ref, "col", c, "input cell")


# ------------------------------------------------------------------------------------------------
# The table

SEED_CASES = [  # example id, expected output (seed's numbers), expected matrix
    ("kernel2matrix", [[27, 37], [57, 67]],
     [[1, 2, 0, 3, 4, 0, 0, 0, 0], [0, 1, 2, 0, 3, 4, 0, 0, 0],
      [0, 0, 0, 1, 2, 0, 3, 4, 0], [0, 0, 0, 0, 1, 2, 0, 3, 4]]),
    ("wty", None, None),                         # = trans_conv(Y, K): checked against the module
    ("trans_conv", [[0, 0, 1], [0, 4, 6], [4, 12, 9]], None),
    ("trans_conv_pad", [[4]], None),
    ("trans_conv_stride", [[0, 0, 0, 1], [0, 0, 2, 3], [0, 2, 0, 3], [4, 6, 6, 9]], None),
    ("splat", [[5, 10, 6, 12], [15, 20, 18, 24], [7, 14, 8, 16], [21, 28, 24, 32]], None),
    ("overlap", None, None),
    ("1d", None, None), ("1d-t", None, None), ("dilation", None, None), ("asym", None, None),
    ("channels", None, None),
]
SEED_001 = [(1, 2), (2, 6), (3, 4), (4, 5), (5, 5), (6, 5), (7, 5)]  # case, output size stated

CUSTOM = [  # set through the controls
    ("custom_1d_asym", dict(rank=1, kind="conv", n=10, k=4, s=3, p0=2, p1=0, d=1, cin=1, cout=1,
                            kernel_fill="random", input_fill="random")),
    ("custom_2d_transposed_asym_a", dict(rank=2, kind="transposed", n=3, k=3, s=2, p0=1, p1=0, a=1,
                                         d=1, cin=2, cout=1, kernel_fill="random", input_fill="arange1")),
    ("custom_2d_dilated_strided", dict(rank=2, kind="conv", n=7, k=3, s=2, p0=1, p1=1, d=2, cin=1,
                                       cout=2, kernel_fill="random", input_fill="random")),
    # output_padding >= stride (allowed below the dilation): W keeps the rows the input covers
    ("custom_1d_transposed_a_ge_s", dict(rank=1, kind="transposed", n=5, k=3, s=1, p0=0, p1=0, d=2,
                                         a=1, cin=1, cout=2, kernel_fill="arange1", input_fill="arange1")),
    ("custom_2d_transposed_channels", dict(rank=2, kind="transposed", n=3, k=2, s=2, p0=0, p1=0, d=1,
                                           cin=1, cout=2, kernel_fill="random", input_fill="random")),
]

SPLAT_STEPS = [  # seed 002: the output after each input pixel has splatted
    [[5, 10, 0, 0], [15, 20, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
    [[5, 10, 6, 12], [15, 20, 18, 24], [0, 0, 0, 0], [0, 0, 0, 0]],
    [[5, 10, 6, 12], [15, 20, 18, 24], [7, 14, 0, 0], [21, 28, 0, 0]],
    [[5, 10, 6, 12], [15, 20, 18, 24], [7, 14, 8, 16], [21, 28, 24, 32]],
]


def test_examples(page):
    for example, output, matrix in SEED_CASES:
        page.example(example)
        ref = check_layer(page, example, output, matrix)
        if ref is not None:
            hover_checks(page, example, ref)
    for case, stated in SEED_001:
        name = f"seed001-{case}"
        page.example(name)
        ref = check_layer(page, name)
        check(page.state()["outputSize"] == stated, f"{name}: output size {page.state()['outputSize']}, the seed states {stated}")
        if ref is not None:
            hover_checks(page, name, ref)


def test_custom(page):
    for name, controls in CUSTOM:
        page.example("custom")
        page.set_controls(**controls)
        ref = check_layer(page, name)
        if ref is not None:
            hover_checks(page, name, ref)


def test_play(page):
    page.example("splat")
    check(page.js("return document.getElementById('play-mode').value") == "cols",
          "seed 002 steps through the columns (splatting)")
    for j, expected in enumerate(SPLAT_STEPS):
        page.find("#step-next").click()
        st = page.state()
        shown = np.zeros(16)
        for cell in st["outputs"]:
            if cell["index"] is not None:
                shown[cell["index"]] = cell["value"]
        check((shown == np.ravel(expected)).all(), f"seed 002 step {j + 2}: the output shows {shown.reshape(4, 4)}")
        check(f"step {j + 1} of 4" in st["info"] and f"Column {j} of Wᵀ" in st["info"],
              f"seed 002 step {j + 2}: the explanation says {st['info']!r}")
        page.shot(f"splat_step{j + 2}")
    # rows: the sliding window, one output at a time, the rest not yet computed
    page.example("kernel2matrix")
    page.find("#step-next").click()
    page.find("#step-next").click()
    st = page.state()
    shown = [c["value"] for c in sorted(st["outputs"], key=lambda c: c["index"])]
    check(shown == [27, 37, None, None], f"kernel2matrix, two rows stepped: the output shows {shown}")
    page.shot("kernel2matrix_step2")
    # the play button runs to the end on its own
    page.example("trans_conv_stride")
    page.set_controls(speed=5)
    page.find("#play").click()
    for _ in range(600):                     # four steps of 0.2 s; up to a minute under load
        if page.js("return document.getElementById('play').textContent").startswith("▶"):
            break
        time.sleep(0.1)
    st = page.state()
    check("step 4 of 4" in st["info"], f"play ends on the last column: {st['info']!r}")


def test_error(page):
    page.example("custom")
    page.set_controls(rank=2, kind="conv", n=3, k=5, s=1, p0=0, p1=0, d=1)
    st = page.state()
    try:
        convmat.conv_matrix(np.ones((1, 1, 5, 5)), (3, 3))
        message = None
    except ValueError as e:
        message = str(e)
    check(st["state"] == "error" and st["error"] is not None and message is not None and message in st["error"],
          f"an impossible layer shows ConvSpec's message {message!r}: {st['error']!r}")
    page.shot("error")


def camera_pixels(page):
    return np.array(page.js("return window.CONVMAT_CAMERA.pixels"), dtype=np.float64).reshape(24, 24)


def gaussian(size):
    t = np.arange(size) - (size - 1) / 2
    g = np.exp(-t ** 2 / 2)
    return (np.outer(g, g) / g.sum() ** 2)[None, None]


def panel_errors(page):
    return [float(page.find(f"#panel-{m} .e").get_attribute("data-error"))
            for m in ("transposed", "inverse", "damped")]


def test_panel(page):
    x = camera_pixels(page).ravel()
    layers = [convmat.conv_matrix(gaussian(5), 24, padding=2).toarray(),
              convmat.conv_matrix(gaussian(3), 24).toarray(),
              convmat.conv_matrix(np.full((1, 1, 2, 2), 0.25), 24, stride=2).toarray()]
    page.js("document.getElementById('panel').scrollIntoView()")
    for kind, W in enumerate(layers):
        page.set_controls(panel_kind=kind, panel_noise=0, panel_damp=0)
        transposed, inverse, damped = panel_errors(page)
        y = W @ x
        norm = np.linalg.norm(x)
        want_t = np.linalg.norm(W.T @ y - x) / norm
        want_i = np.linalg.norm(np.linalg.lstsq(W, y, rcond=None)[0] - x) / norm
        tol = 1e-9
        check(abs(transposed - want_t) <= tol, f"panel layer {kind}: ‖Wᵀy − x‖/‖x‖ = {transposed}, NumPy {want_t}")
        check(abs(inverse - want_i) <= 1e-7, f"panel layer {kind}: ‖W⁺y − x‖/‖x‖ = {inverse}, NumPy {want_i}")
        check(abs(damped - inverse) <= tol, f"panel layer {kind}: with λ = 0 the damped inverse is W⁺")
        page.full_shot(f"panel_layer{kind}")
    # noise: the exact inverse of the blur amplifies it, Wᵀ does not (notebook 4's result)
    page.set_controls(panel_kind=0)
    page.set_controls(panel_noise=3)
    transposed, inverse, _ = panel_errors(page)
    check(inverse > transposed, f"panel with noise 0.01: W⁺y ({inverse:.3f}) is worse than Wᵀy ({transposed:.3f})")
    best = min(range(9), key=lambda i: (page.set_controls(panel_damp=i), panel_errors(page)[2])[1])
    page.set_controls(panel_damp=best)
    damped = panel_errors(page)[2]
    check(damped < transposed and damped < inverse,
          f"panel with noise 0.01: the best damping ({damped:.3f}) beats Wᵀ ({transposed:.3f}) and W⁺ ({inverse:.3f})")
    page.full_shot("panel_noise_damped")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument("--only", nargs="+", choices=["examples", "custom", "play", "error", "panel"],
                        help="run these groups (default: all)")
    args = parser.parse_args()
    shutil.rmtree(args.screenshots, ignore_errors=True)
    os.makedirs(args.screenshots)
    page = Page("file://" + os.path.abspath(args.page), args.chromedriver, args.screenshots)
    started = time.time()
    try:
        page.full_shot("start")
        tests = {"examples": test_examples, "custom": test_custom, "play": test_play,
                 "error": test_error, "panel": test_panel}
        for name, test in tests.items():
            if args.only is None or name in args.only:
                begin = time.time()
                test(page)
                print(f"{name}: {time.time() - begin:.1f} s")
        console = page.errors_in_console()
        check(not console, f"the browser console has errors: {console}")
    finally:
        page.close()
    print(f"{page.shot_number} screenshots in {args.screenshots}, {time.time() - started:.1f} s")
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed", file=sys.stderr)
        return 1
    print("every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The reference documentation, built as `cmake --build build --target docs` builds it, and looked at.

    docs_test.py DOXYGEN DOXYFILE HTML_DIR CHROMIUM -- SPHINX_COMMAND...

1. Doxygen (XML of include/convmat/, WARN_AS_ERROR) then Sphinx with -W: any warning -- a
   broken reference, a README section that moved, a declaration Breathe cannot render, a
   notebook page missing -- fails the test;
2. the pages hold what they promise: the C++ reference has ConvSpec and ConvMatrix, the Python
   reference convmat.conv2d and convmat.conv_matrix, the notebook page links every notebook's
   executed page, and each linked page exists;
3. headless Chromium renders index.html and cpp_api.html to HTML_DIR/../screenshots/*.png
   (pictures for a person to look at; each must be a PNG of the window's size).
"""

import re
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

DOXYGEN, DOXYFILE, HTML, CHROMIUM = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
SPHINX = sys.argv[sys.argv.index("--") + 1:]
SCREENSHOTS = HTML.parent / "screenshots"
WINDOW = (1280, 1600)


def run(command, **keywords):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **keywords)
    if result.returncode != 0:
        raise AssertionError(f"{command} exited with {result.returncode}:\n"
                             f"{result.stdout[-5000:]}\n{result.stderr[-5000:]}")
    return result


class Docs(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        run([DOXYGEN, DOXYFILE])
        run(SPHINX)

    def page(self, name):
        return (HTML / name).read_text()

    def test_cpp_reference(self):
        text = self.page("cpp_api.html")
        for name in ("convmat::ConvSpec", "convmat::ConvMatrix", "convmat::lstsq"):
            self.assertIn(f'id="_CPPv', text)
            self.assertIn(name.split("::")[1], text, name)
        self.assertIn("Validates", text)  # a header comment reached the page

    def test_python_reference(self):
        text = self.page("python_api.html")
        for name in ("convmat.conv2d", "convmat.conv_matrix", "convmat.deconvolve"):
            self.assertIn(f'id="{name}"', text)

    def test_notebook_pages(self):
        text = self.page("notebooks.html")
        notebooks = sorted(Path(__file__).resolve().parents[2].glob("notebooks/*.ipynb"))
        self.assertTrue(notebooks)
        for notebook in notebooks:
            self.assertIn(f'href="{notebook.stem}.html"', text)
            self.assertIn("<img", (HTML / f"{notebook.stem}.html").read_text())

    def test_screenshots(self):
        SCREENSHOTS.mkdir(exist_ok=True)
        for page in ("index", "cpp_api", "python_api"):
            png = SCREENSHOTS / f"{page}.png"
            png.unlink(missing_ok=True)
            with tempfile.TemporaryDirectory() as profile:
                run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                     f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                     f"--screenshot={png}", (HTML / f"{page}.html").as_uri()], timeout=120)
            header = png.read_bytes()[:24]
            self.assertEqual(header[:8], b"\x89PNG\r\n\x1a\n", page)
            self.assertEqual(struct.unpack(">II", header[16:24]), WINDOW, page)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

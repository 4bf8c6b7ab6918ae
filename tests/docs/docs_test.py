#!/usr/bin/python3
"""The reference documentation, built as `cmake --build build --target docs` builds it, and looked at.

    docs_test.py DOXYGEN DOXYFILE HTML_DIR CHROMEDRIVER -- SPHINX_COMMAND...

1. Doxygen (XML of include/convmat/, WARN_AS_ERROR) then Sphinx with -W: any warning -- a
   broken reference, a README section that moved, a declaration Breathe cannot render, a
   notebook page missing -- fails the test;
2. the pages hold what they promise: the C++ reference has ConvSpec and ConvMatrix, the Python
   reference convmat.conv2d and convmat.conv_matrix, the notebook page links every notebook's
   executed page, and each linked page exists;
3. headless Chromium, driven through ChromeDriver as the teaching page's test drives it, renders
   index.html, cpp_api.html and python_api.html to HTML_DIR/../screenshots/*.png (pictures for a
   person to look at; each must be a PNG of the page's viewport, taken after the page loaded).
   The browser is given bounded times to start and to load a page; a browser that hangs (seen on
   a loaded machine with `chromium --screenshot`, which has no such bound) is started afresh, up
   to three times, and the test fails with each try's error if none loads the page.
"""

import re
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import urllib3
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.remote.remote_connection import RemoteConnection

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from browser import chromium  # noqa: E402  (tests/browser.py)

DOXYGEN, DOXYFILE, HTML, CHROMEDRIVER = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
SPHINX = sys.argv[sys.argv.index("--") + 1:]
SCREENSHOTS = HTML.parent / "screenshots"
WINDOW = (1280, 1600)
TRIES = 3
PAGE_LOAD_SECONDS = 60
# Every command to the browser (a screenshot among them) answers within this time or fails with
# urllib3's ReadTimeoutError; without it a hung browser would hang the test.
RemoteConnection.set_timeout(PAGE_LOAD_SECONDS + 30)
HUNG = (WebDriverException, urllib3.exceptions.HTTPError)


def screenshot(url, png):
    """Loads url in a new headless Chromium and writes the viewport to png; returns the viewport's
    size in device pixels. Raises one of HUNG on a hang."""
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        driver = chromium(CHROMEDRIVER, WINDOW, profile)
        try:
            driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
            driver.get(url)
            if driver.execute_script("return document.readyState") != "complete":
                raise WebDriverException(f"{url} did not finish loading")
            size = driver.execute_script(
                "return [Math.round(window.innerWidth * window.devicePixelRatio),"
                "        Math.round(window.innerHeight * window.devicePixelRatio)]")
            if not driver.save_screenshot(str(png)):
                raise WebDriverException(f"no screenshot of {url}")
            return tuple(size)
        finally:
            try:
                driver.quit()
            except HUNG:
                driver.service.stop()   # ends chromedriver, and with it the browser


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
            errors = []
            while len(errors) < TRIES:
                try:
                    viewport = screenshot((HTML / f"{page}.html").as_uri(), png)
                    break
                except HUNG as error:
                    errors.append(f"try {len(errors) + 1}: {getattr(error, 'msg', None) or error}")
            else:
                self.fail(f"{page}.html: no browser loaded it\n" + "\n".join(errors))
            self.assertEqual(viewport[0], WINDOW[0], page)    # the window's width, no scrollbar
            header = png.read_bytes()[:24]
            self.assertEqual(header[:8], b"\x89PNG\r\n\x1a\n", page)
            self.assertEqual(struct.unpack(">II", header[16:24]), viewport, page)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)

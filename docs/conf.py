# Sphinx configuration of convmat's reference documentation (docs/CMakeLists.txt builds it into
# build/docs/html with warnings as errors). The guides are the README's sections, included by
# the pages (MyST Markdown); the C++ reference comes from Doxygen's XML through Breathe, the
# Python reference from the docstrings (autodoc; shown as written, see plain_docstring).
import os
import sys

project = "convmat"
version = release = os.environ.get("CONVMAT_VERSION", "")
extensions = ["myst_parser", "breathe", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["images", "CMakeLists.txt", "Doxyfile.in"]
breathe_projects = {"convmat": os.environ.get("CONVMAT_DOXYGEN_XML", "")}
breathe_default_project = "convmat"
breathe_default_members = ("members",)
autodoc_member_order = "bysource"
myst_heading_anchors = 3
# The README's sections start at level 2 and are included under a page's level-1 title.
suppress_warnings = ["myst.header"]
html_theme = "alabaster"
html_theme_options = {"page_width": "1100px", "sidebar_width": "240px"}
html_static_path = []
# The executed notebooks: the HTML pages the notebook tests write (tests/run_notebooks.py).
notebooks = os.environ.get("CONVMAT_NOTEBOOKS_HTML", "")
html_extra_path = [notebooks] if notebooks else []
sys.path.insert(0, os.environ.get("CONVMAT_PYTHONPATH", ""))


def list_notebooks(app, docname, source):
    """Appends to notebooks.md a link to each executed notebook's page, titled by its heading."""
    if docname != "notebooks":
        return
    import glob
    import json
    root = os.path.join(os.path.dirname(__file__), "..", "notebooks")
    lines = []
    for path in sorted(glob.glob(os.path.join(root, "*.ipynb"))):
        name = os.path.splitext(os.path.basename(path))[0]
        if not os.path.isfile(os.path.join(notebooks, name + ".html")):
            raise RuntimeError(f"{name}.html is not in {notebooks!r}: run the notebook tests first")
        with open(path) as f:
            cells = json.load(f)["cells"]
        title = next((line.lstrip("# ").strip() for cell in cells if cell["cell_type"] == "markdown"
                      for line in "".join(cell["source"]).splitlines() if line.startswith("#")),
                     name)
        lines.append(f'<li><a href="{name}.html">{title}</a> (<code>{name}.ipynb</code>)</li>')
    source[0] += "```{raw} html\n<ul>\n" + "\n".join(lines) + "\n</ul>\n```\n"


def plain_docstring(app, what, name, obj, options, lines):
    """The docstrings are plain text in NumPy's layout (shapes like (N, C, *), aligned lists), not
    reStructuredText: each is shown as written, in a literal block."""
    if lines:
        lines[:] = ["::", ""] + ["    " + line for line in lines] + [""]


def setup(app):
    app.connect("source-read", list_notebooks)
    app.connect("autodoc-process-docstring", plain_docstring)

#!/usr/bin/python3
"""Executes Jupyter notebooks top to bottom with nbclient; fails if a cell raises.

    run_notebooks.py [--html-dir DIR] [--figures DIR] [--timeout SECONDS] NOTEBOOK...

The kernel is this interpreter (sys.executable, i.e. /usr/bin/python3 under CTest) through a
private kernel spec, whatever `python3` kernel other Jupyter installations may register; it
inherits the environment (PYTHONPATH with the convmat module, made absolute). Each notebook must
show at least one picture (an image/png output). With --html-dir, the executed notebook is also
written there as HTML with its pictures embedded -- what
`python3 -m nbconvert --execute --to html` gives -- without executing it a second time -- except
that the exercises' solutions (code cells with the metadata `"jupyter": {"source_hidden": true}`,
folded in Jupyter) stay folded in the HTML too, in a <details> element the reader opens. With
--figures, every picture is also written as a PNG file (NOTEBOOK_NN.png), to look at without a
browser. The notebooks in the repository stay unexecuted: outputs are never written back.
"""

import argparse
import base64
import json
import os
import sys
import tempfile

import nbclient
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

KERNEL_NAME = "convmat-python3"


def kernel_manager(spec_dir):
    """A kernel manager that starts `sys.executable -m ipykernel_launcher`."""
    kernel_dir = os.path.join(spec_dir, KERNEL_NAME)
    os.makedirs(kernel_dir)
    with open(os.path.join(kernel_dir, "kernel.json"), "w") as f:
        json.dump({"argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
                            "-f", "{connection_file}"],
                   "display_name": "convmat (" + sys.executable + ")", "language": "python"}, f)
    specs = KernelSpecManager(kernel_dirs=[spec_dir])
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)


# nbconvert's lab template, with the input of a folded (source_hidden) cell inside <details>.
FOLDED_SOLUTIONS_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{% block input_group -%}
{%- if cell.metadata.get('jupyter', {}).get('source_hidden') -%}
<details class="solution"><summary>Solution (click to open)</summary>
{{ super() }}
</details>
{%- else -%}
{{ super() }}
{%- endif -%}
{%- endblock input_group %}
"""


def hidden_cells(notebook):
    return sum(bool(cell.metadata.get("jupyter", {}).get("source_hidden"))
               for cell in notebook.cells if cell.cell_type == "code")


def image_outputs(notebook):
    return sum("image/png" in output.get("data", {})
               for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.get("outputs", []))


def pictures(notebook):
    return [output["data"]["image/png"]
            for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if "image/png" in output.get("data", {})]


def run(path, spec_dir, timeout, html_dir, figures_dir):
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, km=kernel_manager(os.path.join(spec_dir, os.path.basename(path))),
        timeout=timeout, resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        print(f"{path}: a cell failed\n{error}", file=sys.stderr)
        return False
    images = image_outputs(notebook)
    cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    print(f"{path}: {cells} code cells executed, {images} pictures")
    if images == 0:
        print(f"{path}: shows no picture (expected matplotlib figures)", file=sys.stderr)
        return False
    name = os.path.splitext(os.path.basename(path))[0]
    if figures_dir:
        os.makedirs(figures_dir, exist_ok=True)
        for i, picture in enumerate(pictures(notebook)):
            with open(os.path.join(figures_dir, f"{name}_{i + 1:02d}.png"), "wb") as f:
                f.write(base64.b64decode(picture))
    if html_dir:
        from nbconvert import HTMLExporter
        template = os.path.join(spec_dir, "folded_solutions.html.j2")
        with open(template, "w", encoding="utf-8") as f:
            f.write(FOLDED_SOLUTIONS_TEMPLATE)
        body, _ = HTMLExporter(template_file=os.path.basename(template),
                               extra_template_paths=[spec_dir]).from_notebook_node(notebook)
        os.makedirs(html_dir, exist_ok=True)
        target = os.path.join(html_dir, name + ".html")
        with open(target, "w", encoding="utf-8") as f:
            f.write(body)
        embedded = body.count("data:image/png;base64")
        print(f"{path}: wrote {target} ({embedded} embedded pictures)")
        if embedded < images:
            print(f"{target}: {images} pictures executed but {embedded} embedded",
                  file=sys.stderr)
            return False
        folded = body.count('<details class="solution">')
        if folded != hidden_cells(notebook):
            print(f"{target}: {hidden_cells(notebook)} folded solutions, {folded} folded in the HTML",
                  file=sys.stderr)
            return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--html-dir", help="also write the executed notebooks as HTML here")
    parser.add_argument("--figures", help="also write every picture as a PNG file here")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args()
    # The kernel runs in the notebook's directory: make a relative PYTHONPATH absolute.
    if os.environ.get("PYTHONPATH"):
        os.environ["PYTHONPATH"] = os.pathsep.join(
            os.path.abspath(p) for p in os.environ["PYTHONPATH"].split(os.pathsep) if p)
    with tempfile.TemporaryDirectory(prefix="convmat-kernels-") as spec_dir:
        ok = [run(path, spec_dir, args.timeout, args.html_dir, args.figures)
              for path in args.notebooks]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Writes the type stub of the compiled module convmat._convmat from the module itself.

    PYTHONPATH=build/python stubgen.py OUTPUT.pyi

The build runs it after linking the module (python/CMakeLists.txt), so the stub always lists
exactly the module's names: every function, class, property, method and constant, with the types
of pybind11's signatures (``name(arg: type = default) -> type``, the first line of each
docstring) made valid Python: ``numpy.ndarray[numpy.float64[m, n]]`` becomes ``numpy.ndarray``,
``List[str[3]]`` becomes ``List[str]``, defaults become ``...``. The pure-Python modules of the
package carry their own signatures; py.typed marks the package as typed (PEP 561).
"""

import importlib
import os
import re
import sys

MODULE = "convmat._convmat"
GENERICS = {"List", "Dict", "Tuple", "Optional", "Union", "Callable", "Sequence", "Iterable",
            "Iterator", "Set", "Annotated", "Type"}
SIGNATURE = re.compile(r"^(\w+)?\((.*)\)\s*->\s*(.+)$")


def split_top(text, separator=","):
    """Splits at separators outside brackets and quotes."""
    parts, depth, quote, current = [], 0, None, ""
    for c in text:
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "[(":
            depth += 1
        elif c in "])":
            depth -= 1
        elif c == separator and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += c
    if current.strip():
        parts.append(current.strip())
    return parts


def python_type(text):
    """A pybind11 type name as a valid annotation."""
    text = text.strip().replace(MODULE + ".", "")
    match = re.match(r"^([\w.]+)\[(.*)\]$", text)
    if match:
        name, inner = match.groups()
        if name.split(".")[-1] not in GENERICS:
            return name
        return f"{name}[{', '.join(python_type(t) for t in split_top(inner))}]"
    return text


def parameters(text):
    result = []
    for part in split_top(text):
        if part.startswith("*"):
            result.append(part)
            continue
        name, _, rest = part.partition(":")
        annotation, has_default, _ = rest.partition("=")
        entry = f"{name.strip()}: {python_type(annotation)}"
        result.append(entry + " = ..." if has_default else entry)
    return ", ".join(result)


def signatures(doc, name):
    """The signatures of a pybind11 function's docstring (several when overloaded)."""
    result = []
    for line in (doc or "").splitlines():
        line = re.sub(r"^\d+\. ", "", line.strip())
        if line.startswith(name + "(") and "Overloaded function" not in line:
            match = SIGNATURE.match(line)
            if match and match.group(2) != "*args, **kwargs":
                result.append((parameters(match.group(2)), python_type(match.group(3))))
    return result


def function(name, obj, indent=""):
    found = signatures(obj.__doc__, name)
    if not found:
        raise SystemExit(f"stubgen.py: no pybind11 signature for {MODULE}.{name}")
    lines = []
    for params, returns in found:
        if len(found) > 1:
            lines.append(f"{indent}@overload")
        lines.append(f"{indent}def {name}({params}) -> {returns}: ...")
    return lines


def property_type(prop):
    match = SIGNATURE.match(((prop.fget.__doc__ or "").splitlines() or [""])[0].strip())
    return python_type(match.group(3)) if match else "Any"


def class_stub(name, cls):
    if issubclass(cls, BaseException):
        base = cls.__bases__[0].__name__
        return [f"class {name}({base}): ..."]
    lines = [f"class {name}:"]
    for member, value in cls.__dict__.items():
        if member in ("__doc__", "__module__", "__hash__", "__dict__", "__weakref__"):
            continue
        if isinstance(value, property):
            if value.fset is None:
                lines += ["    @property", f"    def {member}(self) -> {property_type(value)}: ..."]
            else:
                lines.append(f"    {member}: {property_type(value)}")
        elif member in ("__eq__", "__ne__"):  # object's signature: any other operand
            lines.append(f"    def {member}(self, other: object) -> bool: ...")
        elif member == "__init__" and not signatures(value.__doc__, "__init__"):
            # no constructor bound (made by the module's functions): pybind11's catch-all
            lines.append("    def __init__(self, *args: Any, **kwargs: Any) -> None: ...")
        elif callable(value):
            lines += function(member, value, "    ")
        else:
            lines.append(f"    {member}: {type(value).__name__}")
    if len(lines) == 1:
        lines.append("    ...")
    return lines


def stub(module):
    lines = [f'"""Type stub of {MODULE}, generated from the module by python/stubgen.py."""', "",
             "from typing import Any, Callable, Dict, List, Optional, Tuple, Union, overload", "",
             "import numpy", ""]
    for name in sorted(vars(module)):
        value = getattr(module, name)
        if name.startswith("__") and name != "__version__":
            continue
        if isinstance(value, type):
            lines += [""] + class_stub(name, value) + [""]
        elif callable(value):
            lines += function(name, value)
        else:
            lines.append(f"{name}: {type(value).__name__}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    # The script's own folder (python/, the package's sources without the compiled module) comes
    # first on sys.path and would shadow the built package on PYTHONPATH.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path = [p for p in sys.path if os.path.abspath(p or ".") != here]
    text = stub(importlib.import_module(MODULE))
    with open(sys.argv[1], "w") as f:
        f.write(text)

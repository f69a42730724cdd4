"""The codes C and Python share are declared once, in fastinit/_src/fi_kernels.h.  The Cython
declarations (fastinit/_fill.pyx), the IntEnums they make (fastinit._fill) and the type stubs
(fastinit/_fill.pyi) must each name every enumerator of the header, with its value."""
import ast
import re
from pathlib import Path

from fastinit import _fill

PKG = Path(_fill.__file__).resolve().parent
HEADER, PYX, PYI = PKG / "_src" / "fi_kernels.h", PKG / "_fill.pyx", PKG / "_fill.pyi"


def header_enums() -> dict[str, dict[str, int]]:
    """{C enum: {enumerator: value}}; every enumerator has an explicit value."""
    text = re.sub(r"/\*.*?\*/", "", HEADER.read_text(), flags=re.S)
    enums = {}
    for name, body in re.findall(r"enum\s+(fi_\w+)\s*\{(.*?)\}", text, flags=re.S):
        items = [item.strip() for item in body.split(",") if item.strip()]
        values = dict(re.fullmatch(r"(\w+)\s*=\s*(\w+)", item).groups() for item in items)
        enums[name] = {k: int(v, 0) for k, v in values.items()}
    return enums


def pyx_enums() -> dict[str, tuple[str, dict[str, str]]]:
    """{C enum: (Python class, {C enumerator: Python member})} from the cpdef enum blocks."""
    enums = {}
    for cls, cname, body in re.findall(r'cpdef enum (\w+) "(fi_\w+)":\n((?:[ \t]+\w+ "\w+"\n)+)', PYX.read_text()):
        enums[cname] = (cls, {c: py for py, c in re.findall(r'(\w+) "(\w+)"', body)})
    return enums


def pyi_enums() -> dict[str, dict[str, int]]:
    enums = {}
    for node in ast.parse(PYI.read_text()).body:
        if isinstance(node, ast.ClassDef) and any(ast.unparse(b).endswith("IntEnum") for b in node.bases):
            enums[node.name] = {a.targets[0].id: a.value.value for a in node.body if isinstance(a, ast.Assign)}
    return enums


def test_header_parses():
    enums = header_enums()
    assert set(enums) == {"fi_dist", "fi_dtype", "fi_path", "fi_method"}
    assert enums["fi_path"]["FI_PATH_SCALAR"] == 0 and enums["fi_dtype"]["FI_F64"] == 1


def test_cython_stubs_and_intenums_match_the_header():
    header, pyx, pyi = header_enums(), pyx_enums(), pyi_enums()
    assert set(pyx) == set(header)
    assert {cls for cls, _ in pyx.values()} == set(pyi)
    for cname, values in header.items():
        cls, names = pyx[cname]
        assert set(names) == set(values), f"{PYX.name}: {cls} vs {HEADER.name}: {cname}"
        expected = {names[c]: v for c, v in values.items()}
        assert {m.name: int(m) for m in getattr(_fill, cls)} == expected, cls
        assert pyi[cls] == expected, f"{PYI.name}: {cls}"

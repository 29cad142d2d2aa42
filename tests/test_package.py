"""The package's public surface and house rules, checked mechanically."""

import importlib
import inspect
import io
import pathlib
import pkgutil
import re
import tokenize
import tomllib

import thermoref

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODULES = sorted(
    m.name.removeprefix("thermoref.")
    for m in pkgutil.walk_packages(thermoref.__path__, "thermoref.")
    if not any(part.startswith("_") for part in m.name.split("."))
)
SOURCES = sorted((ROOT / "thermoref").rglob("*.py"))


def test_every_exported_name_exists():
    assert [n for n in thermoref.__all__ if not hasattr(thermoref, n)] == []
    for name in MODULES:
        mod = importlib.import_module(f"thermoref.{name}")
        assert mod.__doc__ and len(mod.__doc__) > 80, f"thermoref.{name} needs a module docstring with its reference"
        for public in getattr(mod, "__all__", []):
            assert hasattr(mod, public), f"thermoref.{name}.__all__ lists missing {public}"


def test_public_callables_have_docstrings():
    undocumented = []
    for name in MODULES:
        mod = importlib.import_module(f"thermoref.{name}")
        for public in getattr(mod, "__all__", []):
            obj = getattr(mod, public)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and not inspect.getdoc(obj):
                undocumented.append(f"{name}.{public}")
    assert undocumented == []


def test_run_time_dependencies_are_numpy_and_scipy_only():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = sorted(re.split(r"[<>=!~ ]", d)[0] for d in meta["project"]["dependencies"])
    assert deps == ["numpy", "scipy"]
    imported, lazy = set(), {}
    for path in SOURCES:
        for line in path.read_text().splitlines():
            m = re.match(r"(\s*)(?:from|import)\s+([A-Za-z_][\w]*)", line)
            if m:
                (lazy.setdefault(path.name, set()) if m.group(1) else imported).add(m.group(2))
    allowed = {"numpy", "scipy", "__future__", "thermoref"} | set(__import__("sys").stdlib_module_names)
    third_party = imported - allowed
    assert third_party == set(), f"package imports {third_party} (run time may need only numpy and scipy)"
    # optional imports inside functions, each confined to the one module that needs it
    lazy_third = {name: mods - allowed for name, mods in lazy.items() if mods - allowed}
    assert lazy_third == {"conformance.py": {"pytest"}, "thrml_adapter.py": OPTIONAL_THRML}, lazy_third


#: What the thrml adapter imports lazily (the optional extra ``thermoref[thrml]``).
OPTIONAL_THRML = {"equinox", "jax", "thrml"}


def test_importing_the_package_imports_no_optional_dependency():
    import subprocess
    import sys

    code = ("import sys, thermoref, thermoref.backend; "
            "print(sorted(m for m in ('jax', 'thrml', 'pytest', 'equinox', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def _code_only(src: str) -> str:
    """The source without strings and comments (docstrings may mention what the code must not do)."""
    toks = tokenize.generate_tokens(io.StringIO(src).readline)
    return " ".join(t.string for t in toks if t.type not in (tokenize.STRING, tokenize.COMMENT))


def _code_lines(src: str) -> int:
    """Lines that hold code: docstrings (string statements), comments and blank lines do not count."""
    lines, prev = set(), None
    for t in tokenize.generate_tokens(io.StringIO(src).readline):
        statement_string = t.type == tokenize.STRING and (
            prev is None or prev.type in (tokenize.INDENT, tokenize.NEWLINE, tokenize.DEDENT))
        if not statement_string and t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                                                   tokenize.DEDENT, tokenize.ENDMARKER):
            lines.update(range(t.start[0], t.end[0] + 1))
        if t.type not in (tokenize.COMMENT, tokenize.NL):
            prev = t
    return len(lines)


def test_no_global_random_state_and_no_stubs():
    bad = re.compile(r"np \. random \. (seed|rand|randn|randint|choice|normal|uniform|random) \(|default_rng \( \)")
    for path in SOURCES:
        src = path.read_text()
        assert not bad.search(_code_only(src)), f"{path.name} uses global or hidden random state"
        assert "NotImplementedError" not in src, f"{path.name} has a stub"
        code = _code_lines(src)
        assert code <= 400, f"{path.name} has {code} lines of code (docstrings and comments aside): split the concept"
        assert src.count("\n") <= 1000, f"{path.name} is longer than 1000 lines: split the concept"


def test_logits_validation_is_shared():
    """Every law over logits outside attention rejects a fully masked row with the same named error."""
    import numpy as np
    import pytest

    from thermoref import attention, sampling

    bad = np.array([[0.0, 1.0], [-np.inf, -np.inf]])
    calls = [
        lambda: sampling.sample_categorical(bad, rng=0),
        lambda: attention.potts_marginals(bad, 0.5),  # one joint law over all rows: no law if a row has none
    ]
    for call in calls:
        with pytest.raises(ValueError, match="logits: every category of some row is -inf"):
            call()
    with pytest.raises(ValueError, match="logits: the last axis"):
        sampling.sample_categorical(np.zeros((2, 0)), rng=0)


def test_the_package_reads_as_the_table_of_contents():
    """The modules the package docstring lists are exactly the public top-level modules."""
    listed = set(re.findall(r":mod:`thermoref\.(\w+)`", thermoref.__doc__))
    top = {m for m in MODULES if "." not in m} - {"selftest"} | {"selftest"}
    assert listed == top

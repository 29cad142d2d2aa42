"""Sphinx helper for the API reference: a bare name in a docstring resolves as Python would resolve it.

The reference documents every public object once, at its canonical path: ``thermoref.<module>.<name>`` for
the flat modules, ``thermoref.ising.<name>`` and ``thermoref.attention.<name>`` for the subpackages' members.
A docstring may refer to an object of its own module by its bare name: ``:func:`block_gibbs``` in
``thermoref/ising/samplers.py``, ``:func:`softmax``` in the package docstring, whose ``__all__`` exports it.
Sphinx looks such a name up only next to the module being documented (``thermoref.ising.samplers.block_gibbs``),
where nothing is documented, and warns. This handler of ``missing-reference`` takes a bare name that the
module lists in its ``__all__``, finds the one documented object that *is* that Python object, and links there.

Nothing else is relaxed: a name the module does not export (a helper imported from another module), a dotted
target (a submodule path such as ``thermoref.ising.samplers.block_gibbs``, a private path) or a typo still
warns under ``-n``.

A public constant is documented by the ``#:`` comment above its assignment in the module that defines it.
autodoc looks for that comment only in the module it documents the constant under (``thermoref.ising`` for
``thermoref.ising.BETA_C``, defined in ``thermoref/ising/onsager.py``) and otherwise shows the docstring of the
value's *type* (``tuple``, ``numpy.float64``). The ``autodoc-process-docstring`` handler below replaces the
text of every ``thermoref`` constant by its ``#:`` comment, looked up in the documented module and in every
module below it that exports the same object, and by nothing when there is none (``tests/test_docstrings.py``
requires the comment). The comment is used as written, not passed through napoleon, which would read a first
line "a: b" as "type: description".
"""

from __future__ import annotations

import importlib
import pkgutil

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.pycode import ModuleAnalyzer
from sphinx.errors import PycodeError

_ROOT = "thermoref"


def _documented_home(env: BuildEnvironment, obj: object, name: str) -> str | None:
    """The one documented, non-alias Python-domain name ending in ``.name`` that is ``obj`` itself."""
    domain = env.get_domain("py")
    homes = []
    for fullname, entry in domain.objects.items():
        if entry.aliased or not fullname.startswith(_ROOT + ".") or not fullname.endswith("." + name):
            continue
        try:
            if pkgutil.resolve_name(fullname) is obj:
                homes.append(fullname)
        except (ImportError, AttributeError, ValueError):
            continue
    return homes[0] if len(homes) == 1 else None


def _resolve_bare_name(app: Sphinx, env: BuildEnvironment, node: nodes.Element, contnode: nodes.Element):
    if node.get("refdomain") != "py":
        return None
    modname = node.get("py:module") or ""
    target = node.get("reftarget", "")
    if not (modname == _ROOT or modname.startswith(_ROOT + ".")) or not target or target.startswith("."):
        return None
    head, _, rest = target.removesuffix("()").partition(".")
    try:
        module = importlib.import_module(modname)
    except ImportError:
        return None
    if head not in getattr(module, "__all__", ()):
        return None  # not this module's own public name: write the canonical path
    obj = getattr(module, head, None)
    if obj is None or isinstance(obj, type(importlib)):
        return None  # module refs are written in full
    home = _documented_home(env, obj, head)
    if home is None:
        return None
    new_target = home + ("." + rest if rest else "")
    domain = env.get_domain("py")
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], new_target, node, contnode)


def _constant_comment(name: str, obj: object) -> list[str] | None:
    """The ``#:`` comment of the constant ``name`` in its module or a module below it exporting ``obj``."""
    modname, _, attr = name.rpartition(".")
    try:
        package = importlib.import_module(modname)
    except ImportError:
        return None
    candidates = [modname]
    if hasattr(package, "__path__"):
        candidates += [m.name for m in pkgutil.walk_packages(package.__path__, modname + ".")]
    for candidate in candidates:
        module = importlib.import_module(candidate)
        if candidate != modname and not (attr in getattr(module, "__all__", ()) and getattr(module, attr) is obj):
            continue
        try:
            analyzer = ModuleAnalyzer.for_module(candidate)
            docs = analyzer.find_attr_docs()
        except PycodeError:
            continue
        if ("", attr) in docs:
            return [line for line in docs[("", attr)]]
    return None


def _constant_docstring(app: Sphinx, what: str, name: str, obj: object, options, lines: list[str]) -> None:
    if what != "data" or not name.startswith(_ROOT + "."):
        return
    comment = _constant_comment(name, obj)
    lines[:] = comment if comment is not None else []


def setup(app: Sphinx) -> dict:
    app.connect("missing-reference", _resolve_bare_name)
    # Priority 600: after napoleon's handler (500), so the comment replaces whatever napoleon made of it.
    app.connect("autodoc-process-docstring", _constant_docstring, priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

"""Bad input gets a named error, everywhere: every public callable against the generic bad values.

For every name in every public module's ``__all__`` and every public method of every public class, a spec in
``tests/fuzz_specs/`` gives one valid call. Each argument is then replaced, one at a time, by the bad values for
its type (NaN, +-inf, 1e308, 5e-324, empty, wrong ndim and dtype, negative, zero, int64 max, None, strings,
non-Generator rng, ...; see ``fuzz_specs/core.py``). Every case must either return a result without NaN (and
without inf unless documented), or raise ``ValueError``/``TypeError`` whose message starts with the parameter's
name; it must not hang, leak a warning, raise another exception type, or allocate beyond the result.

A public callable without a spec fails ``test_every_public_callable_has_a_spec``.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import pkgutil

import pytest

import thermoref
from fuzz_specs import load_all
from fuzz_specs.core import check_spec, public_parameters, target

SPECS = load_all()


def _public_callables() -> dict[str, object]:
    found = {}
    modules = ["thermoref"] + [m.name for m in pkgutil.walk_packages(thermoref.__path__, "thermoref.")
                               if not any(p.startswith("_") for p in m.name.split("."))]
    for modname in modules:
        mod = importlib.import_module(modname)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if inspect.ismodule(obj):
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                found.setdefault(_canonical(modname, name, obj), obj)
                if inspect.isclass(obj):
                    for mname, member in vars(obj).items():
                        if not mname.startswith("_") and inspect.isfunction(member):
                            found.setdefault(f"{_canonical(modname, name, obj)}.{mname}", member)
    return found


def _canonical(modname: str, name: str, obj: object) -> str:
    """The documented home of a public object: the shallowest public module below ``thermoref`` whose
    ``__all__`` lists it, walking up from where it is defined. Flat modules keep their path
    (``thermoref.gibbs.softmax``); subpackages document through their namespace (``thermoref.ising.block_gibbs``,
    not ``thermoref.ising.samplers.block_gibbs``).
    """
    parts = obj.__module__.split(".")
    home = None
    for i in range(len(parts), 1, -1):
        mod = ".".join(parts[:i])
        if any(p.startswith("_") for p in parts[:i]):
            continue
        if name in getattr(importlib.import_module(mod), "__all__", []):
            home = mod
    return f"{home or modname}.{name}"


PUBLIC = _public_callables()


#: Callables of an optional extra, specified only where the extra is installed (tests/fuzz_specs/thrml_family.py);
#: CI's thrml step fuzzes them in the environment that has thrml.
OPTIONAL = () if importlib.util.find_spec("thrml") is not None else ("thermoref.backend.ThrmlBackend",)


def test_every_public_callable_has_a_spec():
    missing = sorted(n for n in set(PUBLIC) - set(SPECS) if not n.startswith(OPTIONAL))
    assert missing == [], f"public callables without a bad-input spec: {missing}"


def test_every_spec_names_a_public_callable_and_covers_its_parameters():
    unknown = sorted(set(SPECS) - set(PUBLIC))
    assert unknown == [], f"specs of names that are not public: {unknown}"
    uncovered = []
    for name, s in SPECS.items():
        if s.result_type:
            continue
        func = PUBLIC[name]
        params = public_parameters(func)
        left = [p for p in params if p not in s.args and p not in s.skip]
        if left:
            uncovered.append(f"{name}: parameters neither fuzzed nor skipped with a reason: {left}")
    assert uncovered == []


@pytest.mark.parametrize("name", sorted(SPECS))
def test_bad_input_gets_a_named_error(name):
    s = SPECS[name]
    if s.result_type and not s.args:
        pytest.skip("a result type constructed by the package itself; its methods have their own specs")
    problems = check_spec(s)
    assert problems == [], "\n".join(problems)

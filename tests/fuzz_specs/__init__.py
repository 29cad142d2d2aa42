"""Valid calls of every public callable, from which tests/test_bad_input.py derives its bad-input cases.

Each family module (``gibbs_family.py`` ...) registers one :class:`Spec` per public function, class or
public method with :func:`spec`. ``tests/test_bad_input.py`` walks every name in every public module's
``__all__`` (and every public method of every public class) and fails for a callable without a spec, so a new
public function cannot be added without its bad-input cases.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SPECS: dict[str, "Spec"] = {}


@dataclass
class Spec:
    """One valid call of a public callable, and what its bad-input cases may do.

    Attributes
    ----------
    name : str
        Qualified name, e.g. ``"thermoref.gibbs.softmax"`` or ``"thermoref.ising.IsingModel.energy"``.
    args : dict
        A valid value for every parameter to fuzz (positional parameters by name too). Parameters left out
        keep their defaults and are not fuzzed.
    make : callable, optional
        For a method: ``make()`` returns the instance whose method is called.
    skip : dict
        Parameters not fuzzed, with the reason (e.g. a user-supplied callable).
    blame : dict
        For a parameter, other names an error may start with when that parameter is bad (e.g. a bad ``n``
        that makes ``W``'s shape wrong). The parameter's own name is always accepted.
    extra : dict
        Additional bad values per parameter, beyond the generic ones for its type.
    allow_inf : bool
        The result may contain ``+-inf`` as a documented value (never NaN).
    result_type : bool
        A frozen result dataclass that the package constructs itself: its constructor is not fuzzed (its
        public methods still are).
    timeout : float
        Seconds per case before it counts as a hang.
    """

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    make: Callable[[], Any] | None = None
    skip: dict[str, str] = field(default_factory=dict)
    blame: dict[str, tuple[str, ...]] = field(default_factory=dict)
    extra: dict[str, list] = field(default_factory=dict)
    allow_inf: bool = False
    result_type: bool = False
    timeout: float = 5.0


def spec(name: str, **kwargs: Any) -> Spec:
    """Register and return the spec of ``name``; a name may be registered once."""
    if name in SPECS:
        raise ValueError(f"spec for {name} registered twice")
    SPECS[name] = s = Spec(name, **kwargs)
    return s


def load_all() -> dict[str, Spec]:
    """Import every family module of this package (each registers its specs) and return the registry."""
    for m in pkgutil.iter_modules(__path__):
        if not m.name.startswith("_") and m.name != "core":
            importlib.import_module(f"{__name__}.{m.name}")
    return SPECS

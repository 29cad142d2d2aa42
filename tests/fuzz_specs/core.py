"""The bad values, the runner of one case, and the verdict on what the call did.

The promise checked for every case (one argument of a valid call replaced by a bad value): the call either
returns a result with no NaN (and no infinity unless the spec documents one), or raises ``ValueError`` or
``TypeError`` whose message starts with the parameter's name followed by a colon. It must not hang (a per-case
timer), leak a warning (warnings are errors), raise any other exception type, or allocate memory the result
does not need (the address space is capped during the call, so such an allocation fails as ``MemoryError``).
"""

from __future__ import annotations

import dataclasses
import inspect
import numbers
import resource
import signal
import warnings
from typing import Any

import numpy as np

from . import Spec

BIG = 2**63 - 1  # int64 max
HEADROOM = 3 * 2**30  # bytes of address space a case may add to what the process already maps


class Hang(Exception):
    """Raised by the timer when a case runs longer than its spec allows."""


def _on_alarm(signum, frame):  # noqa: ARG001
    raise Hang()


def _generic_float_array(v: np.ndarray) -> list[tuple[str, Any]]:
    shape = v.shape
    out = [
        ("NaN entries", np.full(shape, np.nan)),
        ("+inf entries", np.full(shape, np.inf)),
        ("-inf entries", np.full(shape, -np.inf)),
        ("1e308 entries", np.full(shape, 1e308)),
        ("-1e308 entries", np.full(shape, -1e308)),
        ("5e-324 entries", np.full(shape, 5e-324)),
        ("complex dtype", v.astype(complex)),
        ("object dtype", np.array(v, dtype=object)),
        ("string", "abc"),
        ("None", None),
    ]
    if v.ndim >= 1:
        out.append(("empty last axis", np.zeros(shape[:-1] + (0,))))
        out.append(("one NaN", _with(v, np.nan)))
        out.append(("one +inf", _with(v, np.inf)))
        out.append(("extra leading axis of 0", np.zeros((0,) + shape)))
    out.append(("wrong ndim (+1)", np.zeros(shape + (2,))))
    if v.ndim >= 1:
        out.append(("wrong ndim (0-d)", np.float64(v.ravel()[0]) if v.size else 0.0))
    return out


def _with(v: np.ndarray, x: float) -> np.ndarray:
    w = np.array(v, dtype=np.float64, copy=True)
    if w.size:
        w.flat[0] = x
    return w


def _generic_int_array(v: np.ndarray) -> list[tuple[str, Any]]:
    out = [("negative entries", np.full(v.shape, -5, dtype=v.dtype)),
           ("huge entries", np.full(v.shape, BIG, dtype=np.int64)),
           ("float entries", v.astype(float) + 0.5),
           ("None", None), ("string", "abc")]
    if v.ndim >= 1:
        out.append(("empty", np.zeros(v.shape[:-1] + (0,), dtype=v.dtype)))
        out.append(("wrong ndim (+1)", np.zeros(v.shape + (2,), dtype=v.dtype)))
        out.append(("extra leading axis of 0", np.zeros((0,) + v.shape, dtype=v.dtype)))
    return out


def bad_values(name: str, valid: Any) -> list[tuple[str, Any]]:
    """Generic bad values for a parameter, chosen from the type of its valid value."""
    if name == "rng":
        return [("None", None), ("string seed", "0"), ("negative seed", -1), ("float seed", 1.5),
                ("RandomState", np.random.RandomState(0)), ("bool", True), ("array", np.array([1, 2]))]
    if isinstance(valid, (bool, np.bool_)):
        return [("string", "yes"), ("None", None), ("array", np.array([True, False]))]
    if isinstance(valid, numbers.Integral):
        return [("None", None), ("string", "3"), ("bool", True), ("float", 1.5), ("NaN", np.nan),
                ("inf", np.inf), ("negative", -1), ("zero", 0), ("int64 max", BIG), ("10**30", 10**30),
                ("array", np.array([2, 3])), ("0-d float array", np.array(2.5))]
    if isinstance(valid, numbers.Real):
        return [("None", None), ("string", "1.0"), ("NaN", np.nan), ("+inf", np.inf), ("-inf", -np.inf),
                ("1e308", 1e308), ("-1e308", -1e308), ("5e-324", 5e-324), ("-5e-324", -5e-324),
                ("zero", 0.0), ("negative", -1.0), ("complex", 1j), ("array", np.array([1.0, 2.0])),
                ("empty array", np.zeros(0)), ("0-d array", np.array(0.5))]
    if isinstance(valid, str):
        return [("unknown string", "no-such-option"), ("None", None), ("int", 3)]
    if isinstance(valid, np.ndarray):
        if valid.dtype == np.bool_:
            return [("int dtype", valid.astype(np.int64)), ("wrong shape", np.ones((7, 5, 3), bool)),
                    ("None", None), ("string", "abc")]
        if np.issubdtype(valid.dtype, np.integer):
            return _generic_int_array(valid)
        return _generic_float_array(valid.astype(np.float64))
    if isinstance(valid, (list, tuple)) and valid and all(isinstance(x, numbers.Real) for x in valid):
        return _generic_float_array(np.asarray(valid, dtype=np.float64)) + [("wrong length", tuple(valid)[:1])]
    if isinstance(valid, dict):
        return [("not a mapping", [1]), ("bad key", {"a": 1}), ("out-of-range key", {10**6: 1}),
                ("bad value", {0: 7}), ("NaN value", {0: np.nan})]
    if valid is None:
        return [("string", "abc"), ("NaN", np.nan)]
    return [("None", None), ("string", "abc"), ("int", 3), ("NaN array", np.full(3, np.nan))]


def _floats(x: Any, seen: int = 0):
    """Every float array inside a result (arrays, scalars, tuples, lists, dicts, dataclasses)."""
    if seen > 4:
        return
    if isinstance(x, np.ndarray):
        if np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.complexfloating):
            yield x
    elif isinstance(x, (float, np.floating)):
        yield np.asarray(x)
    elif isinstance(x, (tuple, list)):
        for y in x:
            yield from _floats(y, seen + 1)
    elif isinstance(x, dict):
        for y in x.values():
            yield from _floats(y, seen + 1)
    elif dataclasses.is_dataclass(x) and not isinstance(x, type):
        for f in dataclasses.fields(x):
            yield from _floats(getattr(x, f.name), seen + 1)


def verdict_of_result(result: Any, s: Spec) -> str | None:
    """None if the result keeps the promise, else what is wrong with it."""
    for a in _floats(result):
        if np.isnan(a).any():
            return "returned NaN"
        if not s.allow_inf and np.isinf(a).any():
            return "returned inf (not documented for this callable)"
    return None


def run_case(s: Spec, func, args: dict, param: str) -> str | None:
    """Call ``func(**args)`` under the timer, the memory cap and warnings-as-errors; None if the promise holds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    mapped = _mapped_bytes()
    cap = mapped + HEADROOM
    old_handler = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, s.timeout)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = func(**args)
    except Hang:
        return f"hangs (> {s.timeout} s)"
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        names = (param,) + tuple(s.blame.get(param, ()))
        if any(msg.startswith(f"{n}:") for n in names):
            return None
        return f"{type(exc).__name__} not naming {param!r}: {msg[:160]}"
    except MemoryError:
        return "tried to allocate more than the result needs (MemoryError under the cap)"
    except Warning as exc:
        return f"leaked {type(exc).__name__}: {str(exc)[:160]}"
    except Exception as exc:  # noqa: BLE001 - any other type breaks the promise
        return f"{type(exc).__name__}: {str(exc)[:160]}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    return verdict_of_result(result, s)


def _mapped_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


def target(s: Spec):
    """The callable a spec names (a method is bound to a fresh instance from ``make``)."""
    import importlib

    parts = s.name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p)
        break
    if s.make is not None:
        return getattr(s.make(), parts[-1])
    return obj


def cases(s: Spec) -> list[tuple[str, str, Any]]:
    """(parameter, description, bad value) for every fuzzed parameter of the spec."""
    out = []
    for param, valid in s.args.items():
        if param in s.skip:
            continue
        for desc, bad in bad_values(param, valid) + list(s.extra.get(param, [])):
            out.append((param, desc, bad))
    return out


def check_spec(s: Spec) -> list[str]:
    """Run the valid call and every bad case; return the broken promises as lines of text."""
    problems = []
    func = target(s)
    sig_ok = s.make is not None or callable(func)
    if not sig_ok:
        return [f"{s.name}: not callable"]
    valid = run_case(s, func, dict(s.args), "<valid call>")
    if valid is not None:
        return [f"{s.name}: the spec's valid call itself fails: {valid}"]
    for param, desc, bad in cases(s):
        args = dict(s.args)
        args[param] = bad
        f = target(s) if s.make is not None else func  # a fresh instance per case: methods may mutate state
        problem = run_case(s, f, args, param)
        if problem is not None:
            problems.append(f"{s.name}({param}={desc}): {problem}")
    return problems


def public_parameters(func) -> list[str]:
    """Names of a callable's parameters (without self, *args, **kwargs)."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    return [p.name for p in sig.parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"]

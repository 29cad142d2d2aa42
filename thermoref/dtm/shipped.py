r"""The trained denoising models that ship with the package: written reproducibly, checked by sha256, read defensively.

A model file is the same plain ``.npz`` format as the transformer's shipped weights
(:mod:`thermoref.transformer.shipped`: uncompressed ZIP of ``.npy`` members with fixed timestamps, so equal
models give equal bytes and equal sha256; every member's header is checked against its size before its data is
read). Members: ``format``, ``name``, ``recipe`` (JSON text: how the model was trained, including the command
that reproduces it), ``side``, ``edges``, ``weights``, ``biases``, ``flip`` (the :class:`~thermoref.dtm.DTM`'s
fields) and ``history.<key>`` for each recorded training curve (float arrays). The shipped files
``thermoref/dtm/params/<name>.npz`` are checked against :data:`SHIPPED` before anything in them is parsed.

References: NumPy Enhancement Proposal 1 (2007) "A simple file format for NumPy arrays"; NIST (2015) FIPS 180-4
"Secure hash standard" (SHA-256).
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import resources
from types import MappingProxyType
from typing import Mapping

import numpy as np

from .._validation import MAX_BYTES, check_bool
from ..transformer.shipped import _check_path, _check_sha, _members, _read_member, _scalar, _write_archive
from .model import DTM

__all__ = ["SHIPPED", "save_dtm", "load_dtm"]

#: sha256 (hex) of each shipped model file ``thermoref/dtm/params/<name>.npz``, written by
#: ``python tools/train_dtm.py`` (one BLAS thread); each file's ``recipe`` holds the command for that file.
SHIPPED: Mapping[str, str] = MappingProxyType({
    "ebm": "bc2477ad08647d4aac672befa201920023205a3db698ce690aafaaf2d2b5e25a",
    "dtm-t2": "9040af4e6807babcb9ed8f50574a74ad59daed1c8282f25e703a49ac95d63d26",
    "dtm-t4": "aa80d86f21bc7b58ef99fc8cf12ab253d6f258625a816ee14efa05772a437720",
    "dtm-t8": "504e6d2670957768c1d7de0ef8b8699d78681ddb722a694ade5dcc9684df2ff7",
    "dtm-t8-penalty": "8964477fd5c227986123353ec6c0bac5460ca593099d56707817dc8d83162edc",
})

_FORMAT = "thermoref.dtm.model/1"
_FIELDS = {"side": "int", "edges": "ints", "weights": "floats", "biases": "floats", "flip": "floats"}
_MAX_MEMBERS = 256
_MAX_NAME = 64


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name: expected a model name (str), got {type(name).__name__}")
    if not 0 < len(name) <= _MAX_NAME or not all(c.isalnum() or c in "-_" for c in name):
        raise ValueError(f"name: expected 1-{_MAX_NAME} letters, digits, '-' or '_', got {name!r}")
    return name


def save_dtm(path: str | os.PathLike, dtm: DTM, *, name: str, recipe: Mapping[str, object],
             history: Mapping[str, np.ndarray] | None = None) -> str:
    r"""Write a model, how it was trained and its training curves to a ``.npz`` file; return the file's sha256.

    Parameters
    ----------
    path : str or os.PathLike
        Target file, ending in ``.npz``, in an existing directory (written atomically).
    dtm : DTM
        The model.
    name : str
        Its name (letters, digits, ``-``, ``_``).
    recipe : mapping
        JSON-serializable description of the training run (data family, seed, iterations, the command).
    history : mapping of str to array_like of shape (n_iterations,) or (n_iterations, T), optional
        Training curves (finite numbers), stored as ``history.<key>``.

    Returns
    -------
    str
        The sha256 of the file's bytes (64 hex digits): equal models and records give equal files.

    Notes
    -----
    Fixed member timestamps and uncompressed storage make the bytes a function of the arrays alone, so
    :math:`\mathrm{sha256}(\text{file})` identifies the model.

    References
    ----------
    NIST (2015) FIPS PUB 180-4, *Secure Hash Standard*.

    Examples
    --------
    >>> import os, tempfile
    >>> from thermoref.dtm import DTM, load_dtm, save_dtm
    >>> with tempfile.TemporaryDirectory() as d:
    ...     digest = save_dtm(os.path.join(d, "m.npz"), DTM.zeros(3, [0.2]), name="m", recipe={"seed": 0})
    ...     print(load_dtm(path=os.path.join(d, "m.npz"), sha256=digest).T)
    1
    """
    target = _check_path(path, for_writing=True)
    if not isinstance(dtm, DTM):
        raise TypeError(f"dtm: expected a thermoref.dtm.DTM, got {type(dtm).__name__}")
    name = _check_name(name)
    if not isinstance(recipe, Mapping):
        raise TypeError(f"recipe: expected a mapping, got {type(recipe).__name__}")
    try:
        recipe_text = json.dumps(dict(recipe), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"recipe: not JSON-serializable ({err})") from None
    members: dict[str, np.ndarray] = {
        "format": np.array(_FORMAT), "name": np.array(name), "recipe": np.array(recipe_text),
        "side": np.array(dtm.side, dtype=np.int64), "edges": dtm.edges, "weights": dtm.weights,
        "biases": dtm.biases, "flip": dtm.flip,
    }
    if history is not None:
        if not isinstance(history, Mapping):
            raise TypeError(f"history: expected a mapping of names to arrays, got {type(history).__name__}")
        for key, curve in history.items():  # a loop over a few named curves
            a = np.asarray(curve)
            if not isinstance(key, str) or not key.isidentifier():
                raise ValueError(f"history: keys must be identifiers, got {key!r}")
            if a.dtype.kind not in "fiu" or a.ndim > 2 or not np.isfinite(a).all():
                raise ValueError(f"history: {key!r} must hold finite numbers with at most 2 axes")
            members["history." + key] = a.astype(np.float64)
    return _write_archive(target, members)


def _parse(data: bytes) -> tuple[DTM, dict[str, object]]:
    zf, by_key = _members(data, "model", _MAX_MEMBERS)
    needed = ["format", "name", "recipe", *_FIELDS]
    missing = [k for k in needed if k not in by_key]
    if missing:
        raise ValueError(f"path: not a thermoref.dtm model file (missing {missing})")
    other = sorted(k for k in by_key if k not in needed and not k.startswith("history."))
    if other:
        raise ValueError(f"path: unexpected member(s) {other}")
    meta: dict[str, object] = {k: _scalar(_read_member(zf, by_key[k], len(data)), k, "str")
                               for k in ("format", "name", "recipe")}
    if meta["format"] != _FORMAT:
        raise ValueError(f"path: format {meta['format']!r}, expected {_FORMAT!r}")
    try:
        meta["recipe"] = json.loads(meta["recipe"])
    except (ValueError, RecursionError) as err:
        raise ValueError(f"path: the stored recipe is not JSON ({type(err).__name__})") from None
    fields = {}
    for key, kind in _FIELDS.items():  # five members
        arr = _read_member(zf, by_key[key], len(data))
        if kind == "int":
            fields[key] = _scalar(arr, key, "int")
        elif kind == "ints" and arr.dtype.kind != "i" or kind == "floats" and arr.dtype.kind != "f":
            raise ValueError(f"path: member {key!r} has dtype {arr.dtype}")
        else:
            fields[key] = arr
    try:
        dtm = DTM(**fields)
    except (ValueError, TypeError) as err:
        raise ValueError(f"path: the stored model is invalid ({err})") from None
    history = {}
    for key in sorted(k for k in by_key if k.startswith("history.")):  # a few curves
        arr = _read_member(zf, by_key[key], len(data))
        if arr.dtype.kind != "f" or not np.isfinite(arr).all():
            raise ValueError(f"path: member {key!r} must hold finite floats")
        history[key[len("history."):]] = arr
    meta["history"] = history
    return dtm, meta


def _shipped_path(name: str) -> str:
    return str(resources.files("thermoref.dtm").joinpath("params", f"{name}.npz"))


def load_dtm(name: str | None = None, *, path: str | os.PathLike | None = None, sha256: str | None = None,
             metadata: bool = False) -> DTM | tuple[DTM, dict[str, object]]:
    r"""Load a shipped trained model by name (verified by sha256), or any model file.

    Parameters
    ----------
    name : str, optional
        A key of :data:`SHIPPED`; exactly one of ``name`` and ``path``.
    path : str or os.PathLike, optional
        A file written by :func:`save_dtm`; **unverified** unless ``sha256`` is given (still parsed as
        untrusted input).
    sha256 : str, optional
        The digest the file must have; default :data:`SHIPPED` ``[name]`` for a shipped model.
    metadata : bool
        Also return ``{"format", "name", "recipe", "history"}``.

    Returns
    -------
    DTM, or (DTM, dict) with ``metadata``

    Notes
    -----
    The digest :math:`\mathrm{sha256}(\text{bytes})` is compared before the archive is parsed, so a modified
    file is refused without reading its contents.

    References
    ----------
    NIST (2015) FIPS PUB 180-4, *Secure Hash Standard*.

    Examples
    --------
    >>> import os, tempfile
    >>> from thermoref.dtm import DTM, load_dtm, save_dtm
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = save_dtm(os.path.join(d, "m.npz"), DTM.zeros(3, [0.2, 0.2]), name="m", recipe={})
    ...     dtm, meta = load_dtm(path=os.path.join(d, "m.npz"), metadata=True)
    >>> print(dtm.T, meta["name"])
    2 m
    """
    if (name is None) == (path is None):
        raise ValueError("name: give exactly one of name (a shipped model) and path (a model file)")
    expected = _check_sha(sha256)
    wanted = check_bool(metadata, "metadata")
    if name is not None:
        name = _check_name(name)
        if name not in SHIPPED:
            raise ValueError(f"name: unknown model {name!r}; shipped: {sorted(SHIPPED)}")
        file, expected = _shipped_path(name), expected or SHIPPED[name]
        if not os.path.isfile(file):
            raise ValueError(f"name: the shipped model file {file!r} is missing from this installation")
    else:
        file = _check_path(path)
    size = os.path.getsize(file)
    if size > MAX_BYTES:
        raise ValueError(f"path: {size} bytes, more than thermoref.MAX_BYTES = {MAX_BYTES}")
    with open(file, "rb") as f:
        data = f.read(size + 1)
    if len(data) != size:
        raise ValueError(f"path: {file!r} changed size while it was read")
    digest = hashlib.sha256(data).hexdigest()
    if expected is not None and digest != expected:
        who = "name" if name is not None else "path"
        raise ValueError(f"{who}: sha256 of {file!r} is {digest}, expected {expected}")
    dtm, meta = _parse(data)
    if name is not None and meta["name"] != name:
        raise ValueError(f"name: the file holds model {meta['name']!r}, not {name!r}")
    return (dtm, meta) if wanted else dtm

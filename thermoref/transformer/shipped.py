r"""The trained weights that ship with the package: a plain ``.npz`` format, written reproducibly, read defensively.

A weights file is an uncompressed ZIP archive of ``.npy`` arrays (what ``numpy.savez`` writes, read with
``numpy.load(..., allow_pickle=False)``), with fixed member timestamps so that the same parameters always give
the same bytes and the same sha256. Members: ``param.<name>`` for every parameter of
:func:`thermoref.transformer.param_shapes`; ``config.<field>`` for every field of
:class:`thermoref.transformer.TransformerConfig`; ``format``, ``task``, ``seed``, ``n_steps``, ``recipe`` (JSON
text), ``losses``, ``eval_accuracy``, ``eval_exact_match`` and ``n_eval`` (from the
:class:`thermoref.transformer.TrainResult` that made it). The shipped files
(``thermoref/transformer/weights/<task>.npz``) are checked against :data:`SHA256` before anything in them is
parsed; any file is then read as hostile input: sizes are bounded before allocation, every array header is
checked against the size of its member before its data is read, and the parameters pass
:func:`thermoref.transformer.check_params`.

References: NumPy Enhancement Proposal 1 (2007) "A simple file format for NumPy arrays"; PKWARE (2022)
".ZIP file format specification", APPNOTE 6.3.10; NIST (2015) FIPS 180-4 "Secure hash standard" (SHA-256).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import zipfile
import zlib
from importlib import resources
from types import MappingProxyType
from typing import Mapping

import numpy as np

from .._validation import MAX_BYTES, check_bool
from .config import TransformerConfig, check_params, param_shapes
from .tasks import TASKS
from .training import TrainResult

__all__ = ["SHA256", "load_pretrained", "save_weights"]

#: sha256 (hex) of each shipped weights file ``thermoref/transformer/weights/<task>.npz`` (read-only), written by
#: ``python -m thermoref train <task> --seed 0`` (one BLAS thread, OpenBLAS 0.3.31 on x86-64 Haswell kernels)
#: with the task's recipe (:data:`thermoref.transformer.RECIPES`).
SHA256: Mapping[str, str] = MappingProxyType({
    "copy": "a901336270301dfa153521b539ba2e6d4f9a54d6a08ee615f1949ff45f0bd424",
    "sort": "532f1d4dc0e99e6a6f7cb983f5488fcf68741509ae394569d9081280b6054537",
    "add": "a2dfea8ba8d1f9146f6a975a2a0beafa760915405c3a6aefde76189c836aaf83",
})

_FORMAT = "thermoref.transformer.weights/1"
_CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(TransformerConfig))
_META = {  # member -> kind: what the run stored besides the parameters
    "format": "str", "task": "str", "recipe": "str", "seed": "int", "n_steps": "int", "n_eval": "int",
    "eval_accuracy": "float", "eval_exact_match": "float", "losses": "floats",
}
_MAX_MEMBERS = 4096  # far more than the parameters of any model a config accepts with a few hundred layers
_MAX_TEXT = 2**16  # characters of a text member (the recipe's JSON is a few hundred)
_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest ZIP timestamp: fixed, so equal arrays give equal files


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(arr, order="C"), allow_pickle=False)
    return buf.getvalue()


def _file_bytes(members: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, arr in members.items():  # a loop over the file's members (a few dozen)
            info = zipfile.ZipInfo(key + ".npy", date_time=_DATE)
            info.external_attr = 0o644 << 16
            zf.writestr(info, _npy(arr))
    return buf.getvalue()


def save_weights(path: str | os.PathLike, result: TrainResult) -> str:
    r"""Write a trained model and its training record to a ``.npz`` file; return the file's sha256.

    Parameters
    ----------
    path : str or os.PathLike
        Output file, ending in ``.npz``; replaced atomically if it exists (its directory must exist).
    result : TrainResult
        What :func:`thermoref.transformer.train` returned.

    Returns
    -------
    str
        The sha256 of the file's bytes, 64 hexadecimal digits.

    Notes
    -----
    The bytes are a function of the result alone: members in a fixed order, stored uncompressed, with a
    fixed timestamp. Two runs that end in the same parameters therefore write identical files, and
    :math:`\mathrm{sha256}(\text{file})` identifies the weights (a collision would take about
    :math:`2^{128}` trials).

    References
    ----------
    NIST (2015) FIPS 180-4 "Secure hash standard"; NumPy Enhancement Proposal 1 (2007) "A simple file format
    for NumPy arrays".

    Examples
    --------
    >>> import os, tempfile
    >>> from thermoref.transformer.training import train
    >>> r = train("copy", seed=0, n_steps=2, batch_size=4, n_eval=8)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     digest = save_weights(os.path.join(d, "copy.npz"), r)
    ...     config, params = load_pretrained("copy", os.path.join(d, "copy.npz"), sha256=digest)
    >>> print(len(digest), config == r.config, np.array_equal(params["wte"], r.params["wte"]))
    64 True True
    """
    target = _check_path(path, for_writing=True)
    if not isinstance(result, TrainResult):
        raise TypeError(f"result: expected a TrainResult (from train), got {type(result).__name__}")
    params = check_params(result.params, result.config, name="result")
    losses = np.asarray(result.losses, dtype=np.float64)
    if losses.ndim != 1 or not np.isfinite(losses).all():
        raise ValueError("result: losses must be a 1-D array of finite numbers")
    members: dict[str, np.ndarray] = {
        "format": np.array(_FORMAT), "task": np.array(str(result.task)),
        "recipe": np.array(json.dumps(dict(result.recipe), sort_keys=True)),
        "seed": np.array(result.seed, dtype=np.int64), "n_steps": np.array(losses.size, dtype=np.int64),
        "n_eval": np.array(result.n_eval, dtype=np.int64),
        "eval_accuracy": np.array(result.eval_accuracy, dtype=np.float64),
        "eval_exact_match": np.array(result.eval_exact_match, dtype=np.float64), "losses": losses,
    }
    for field in _CONFIG_FIELDS:
        value = getattr(result.config, field)
        members["config." + field] = np.array(value, dtype=np.float64 if field == "ln_eps" else np.int64)
    members.update({"param." + k: v for k, v in params.items()})
    return _write_archive(target, members)


def _write_archive(target: str, members: dict[str, np.ndarray]) -> str:
    """Write the members as one reproducible archive, atomically (a ``.part`` file renamed); return its sha256."""
    data = _file_bytes(members)
    tmp = target + ".part"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, target)
    return hashlib.sha256(data).hexdigest()


def _check_path(path: object, *, for_writing: bool = False) -> str:
    if isinstance(path, (bool, int, float)) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a file path (str or os.PathLike), got {type(path).__name__}")
    p = os.fspath(path)
    if not isinstance(p, str):
        raise TypeError(f"path: expected a text path, got {type(p).__name__}")
    if for_writing:
        if not p.endswith(".npz"):
            raise ValueError(f"path: a weights file name must end with .npz, got {p!r}")
        parent = os.path.dirname(os.path.abspath(p))
        if not os.path.isdir(parent):
            raise ValueError(f"path: directory {parent!r} does not exist")
    elif not os.path.isfile(p):
        raise ValueError(f"path: no such file {p!r}")
    return p


def _check_sha(sha256: object) -> str | None:
    if sha256 is None:
        return None
    if not isinstance(sha256, str):
        raise TypeError(f"sha256: expected 64 hexadecimal digits (str) or None, got {type(sha256).__name__}")
    s = sha256.lower()
    if len(s) != 64 or any(c not in "0123456789abcdef" for c in s):
        raise ValueError(f"sha256: expected 64 hexadecimal digits, got {sha256!r}")
    return s


def _shipped_path(task: str) -> str:
    """The installed location of a task's shipped weights file (resolved through importlib.resources)."""
    return str(resources.files("thermoref.transformer").joinpath("weights", f"{task}.npz"))


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> np.ndarray:
    """One ``.npy`` member, its header checked against its size before the data is read."""
    key = info.filename[:-4]
    if info.file_size > limit:
        raise ValueError(f"path: member {key!r} holds {info.file_size} bytes, more than the {limit} it may")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
        raise ValueError(f"path: member {key!r} is encrypted or compressed by a method numpy.savez never uses")
    try:
        with zf.open(info) as f:
            raw = f.read()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise ValueError(f"path: member {key!r} cannot be read ({err})") from None
    buf = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(buf)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(buf)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(buf)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, OSError, SyntaxError) as err:
        raise ValueError(f"path: member {key!r} is not a valid .npy array ({err})") from None
    if dtype.hasobject or len(shape) > 2:
        raise ValueError(f"path: member {key!r} has dtype {dtype} and {len(shape)} axes; expected plain data")
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if need != len(raw) - buf.tell():
        raise ValueError(f"path: member {key!r} declares {need} bytes of data but holds {len(raw) - buf.tell()}")
    return np.load(io.BytesIO(raw), allow_pickle=False)


def _scalar(arr: np.ndarray, key: str, kind: str):
    ok = {"str": arr.dtype.kind == "U" and arr.ndim == 0 and arr.dtype.itemsize <= 4 * _MAX_TEXT,
          "int": arr.dtype.kind == "i" and arr.ndim == 0,
          "float": arr.dtype.kind == "f" and arr.ndim == 0 and bool(np.isfinite(arr).all()),
          "floats": arr.dtype.kind == "f" and arr.ndim == 1 and bool(np.isfinite(arr).all())}[kind]
    if not ok:
        what = {"str": "a text", "int": "an integer", "float": "a finite number", "floats": "1-D finite numbers"}[kind]
        raise ValueError(f"path: member {key!r} must hold {what}, got dtype {arr.dtype} and shape {arr.shape}")
    if kind == "floats":
        return arr.astype(np.float64)
    return str(arr) if kind == "str" else (int(arr) if kind == "int" else float(arr))


def _members(data: bytes, what: str, max_members: int) -> tuple[zipfile.ZipFile, dict[str, zipfile.ZipInfo]]:
    """The archive and its ``.npy`` members by key (name without ``.npy``); ``what`` names the file kind."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as err:
        raise ValueError(f"path: not a {what} file (not a readable .npz archive: {err})") from None
    if len(infos) > max_members:
        raise ValueError(f"path: {len(infos)} members, more than the {max_members} a {what} file may hold")
    by_key = {}
    for info in infos:  # a loop over the archive's members
        if not info.filename.endswith(".npy") or info.filename[:-4] in by_key:
            raise ValueError(f"path: unexpected or repeated member {info.filename!r}")
        by_key[info.filename[:-4]] = info
    return zf, by_key


def _parse(data: bytes) -> tuple[TransformerConfig, dict[str, np.ndarray], dict[str, object]]:
    zf, by_key = _members(data, "weights", _MAX_MEMBERS)
    needed = [*_META, *("config." + f for f in _CONFIG_FIELDS)]
    missing = [k for k in needed if k not in by_key]
    if missing:
        raise ValueError(f"path: not a thermoref weights file (missing {missing})")
    meta = {k: _scalar(_read_member(zf, by_key[k], len(data)), k, kind) for k, kind in _META.items()}
    if meta["format"] != _FORMAT:
        raise ValueError(f"path: format {meta['format']!r}, expected {_FORMAT!r}")
    fields = {}
    for f in _CONFIG_FIELDS:
        fields[f] = _scalar(_read_member(zf, by_key["config." + f], 4096), "config." + f,
                            "float" if f == "ln_eps" else "int")
    try:
        config = TransformerConfig(**fields)
    except (ValueError, TypeError) as err:
        raise ValueError(f"path: the stored config is invalid ({err})") from None
    try:
        meta["recipe"] = json.loads(meta["recipe"])
    except (ValueError, RecursionError) as err:
        raise ValueError(f"path: the stored recipe is not JSON ({type(err).__name__})") from None
    if not isinstance(meta["recipe"], dict):
        raise ValueError("path: the stored recipe is not a JSON object")
    shapes = param_shapes(config)
    names = [k[len("param."):] for k in by_key if k.startswith("param.")]
    other = sorted(k for k in by_key if not k.startswith("param.") and k not in needed)
    if other:
        raise ValueError(f"path: unexpected member(s) {other}")
    missing = [k for k in shapes if k not in names]
    extra = sorted(k for k in names if k not in shapes)
    if missing:
        raise ValueError(f"path: missing parameter(s) {missing}")
    if extra:
        raise ValueError(f"path: unexpected parameter(s) {extra}")
    params = {}
    for key, shape in shapes.items():  # a loop over parameter blocks
        arr = _read_member(zf, by_key["param." + key], 8 * int(np.prod(shape)) + 4096)
        if arr.shape != shape:
            raise ValueError(f"path: {key!r} must have shape {shape}, got {arr.shape}")
        params[key] = arr
    return config, check_params(params, config, name="path"), meta


def load_pretrained(
    task: str,
    path: str | os.PathLike | None = None,
    *,
    sha256: str | None = None,
    metadata: bool = False,
) -> tuple[TransformerConfig, dict[str, np.ndarray]] | tuple[TransformerConfig, dict[str, np.ndarray], dict]:
    r"""Load a task's trained model: the shipped weights (verified by sha256), or any weights file.

    Parameters
    ----------
    task : str
        The task the weights must be for, one of :data:`thermoref.transformer.TASKS`.
    path : str or os.PathLike, optional
        A weights file written by :func:`save_weights`. Default: the package's shipped file, whose sha256 must
        equal ``SHA256[task]``. A file given here is **unverified** unless ``sha256`` is given: it is still
        parsed defensively and its names, shapes and values are validated, but nothing vouches for its origin.
    sha256 : str, optional
        The sha256 (64 hex digits) the file must have; default ``SHA256[task]`` for the shipped file and no
        check for a ``path``.
    metadata : bool
        Also return the training record stored with the weights.

    Returns
    -------
    config : TransformerConfig
        The model's shape.
    params : dict of str to ndarray (each of the shape param_shapes gives)
        The parameters, named and shaped as in :func:`thermoref.transformer.param_shapes`.
    meta : dict
        Only with ``metadata=True``: ``task``, ``seed``, ``n_steps``, ``recipe`` (dict), ``losses`` (ndarray of
        shape (n_steps,)), ``eval_accuracy``, ``eval_exact_match``, ``n_eval`` and ``format``.

    Notes
    -----
    The digest :math:`\mathrm{sha256}(\text{bytes})` is compared before the archive is parsed, so a modified or
    replaced shipped file is refused (``ValueError`` starting ``task:``; a ``path`` whose digest differs from
    ``sha256`` starts ``path:``) without reading its contents. A file for another task is refused
    (``task:``), and so are a missing, extra or wrongly shaped parameter, a non-float or non-finite entry, a
    member whose header disagrees with its size, and a file larger than ``thermoref.MAX_BYTES`` (``path:``).

    References
    ----------
    NIST (2015) FIPS 180-4 "Secure hash standard"; NumPy Enhancement Proposal 1 (2007) "A simple file format
    for NumPy arrays".

    Examples
    --------
    >>> from thermoref.transformer import accuracy, forward, make_batch
    >>> config, params = load_pretrained("copy")
    >>> batch = make_batch("copy", 256, rng=12345, split="eval")
    >>> token_acc, exact = accuracy(forward(params, batch.tokens, config), batch)
    >>> print(config.d_model, token_acc >= 0.995)
    32 True
    """
    if not isinstance(task, str):
        raise TypeError(f"task: expected a task name (str), got {type(task).__name__}")
    if task not in TASKS:
        raise ValueError(f"task: unknown task {task!r}; expected one of {TASKS}")
    expected = _check_sha(sha256)
    metadata = check_bool(metadata, "metadata")
    shipped = path is None
    file = _shipped_path(task) if shipped else _check_path(path)
    if shipped:
        expected = expected or SHA256[task]
        if not os.path.isfile(file):
            raise ValueError(f"task: the shipped weights file {file!r} is missing from this installation")
    size = os.path.getsize(file)
    if size > MAX_BYTES:
        raise ValueError(f"path: {size} bytes, more than thermoref.MAX_BYTES = {MAX_BYTES}")
    with open(file, "rb") as f:
        data = f.read(size + 1)  # a bounded buffer (read(n) allocates n bytes up front)
    if len(data) != size:
        raise ValueError(f"path: {file!r} changed size while it was read")
    digest = hashlib.sha256(data).hexdigest()
    if expected is not None and digest != expected:
        why = f"the shipped {task} weights were modified or replaced" if shipped else "not the file claimed"
        raise ValueError(f"{'task' if shipped else 'path'}: sha256 of {file!r} is {digest}, expected {expected} "
                         f"({why})")
    config, params, meta = _parse(data)
    if meta["task"] != task:
        raise ValueError(f"task: the file holds weights for {meta['task']!r}, not {task!r}")
    return (config, params, meta) if metadata else (config, params)

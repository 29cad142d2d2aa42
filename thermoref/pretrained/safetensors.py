r"""A safetensors reader in NumPy: one read-only memory map, every tensor a zero-copy view, hostile files refused.

The format: an 8-byte little-endian unsigned header length :math:`N`, then :math:`N` bytes of UTF-8 JSON mapping
each tensor name to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets relative to the end of the
header) and an optional ``"__metadata__"`` object of strings, then the data buffer, which the tensors must cover
exactly, without gaps or overlaps.

References: Hugging Face (2022) "safetensors: a simple, safe way to store and distribute tensors",
https://github.com/huggingface/safetensors (format description in its README).
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np

from .._validation import check_positive_int
from .files import _check_span, _is_int, _malformed, _open_memmap, _shape_size

__all__ = ["read_safetensors", "safetensors_metadata"]

#: dtype code -> little-endian NumPy dtype. BF16 (no NumPy dtype) and the F8 codes are refused by name.
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
           "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
_MAX_DIMS = 64  # NumPy's limit on the number of axes


def _unique_object(pairs: list[tuple[str, object]]) -> dict:
    """``json`` hook: build an object, refusing a repeated key (two tensors of one name are ambiguous)."""
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"the key {k!r} appears twice")
        out[k] = v
    return out


def _parse(path: object, max_header_bytes: int):
    """Map the file and check its header; return (path, memmap, data start, {name: (dtype, shape, begin, end)},
    metadata)."""
    max_header_bytes = check_positive_int(max_header_bytes, "max_header_bytes")
    p, mm = _open_memmap(path)
    size = mm.shape[0]
    if size < 8:
        raise _malformed(p, f"the file has {size} bytes, fewer than the 8 of the header length")
    (n,) = struct.unpack_from("<Q", mm, 0)
    if n > max_header_bytes:
        raise _malformed(p, f"the header claims {n} bytes, more than max_header_bytes={max_header_bytes}")
    _check_span(p, 8, n, size, "the header")
    try:
        header = json.loads(bytes(mm[8:8 + n]).decode("utf-8"), object_pairs_hook=_unique_object)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise _malformed(p, f"the header is not UTF-8 JSON ({str(exc)[:120]})") from None
    if not isinstance(header, dict):
        raise _malformed(p, f"the header is a JSON {type(header).__name__}, not an object")
    metadata = header.pop("__metadata__", {})
    if not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise _malformed(p, "__metadata__ must be an object of strings")
    start, length = 8 + n, size - 8 - n  # the data buffer
    entries = {name: _entry(p, name, info, length) for name, info in header.items()}
    # The tensors, sorted by offset, must tile [0, length) exactly.
    end = 0
    for name, (_, _, b, e) in sorted(entries.items(), key=lambda kv: (kv[1][2], kv[1][3])):
        if b < end:
            raise _malformed(p, f"tensor {name!r} at data_offsets [{b}, {e}) overlaps the tensor before it "
                                f"(ending at {end})")
        if b > end:
            raise _malformed(p, f"the bytes [{end}, {b}) of the data buffer belong to no tensor (a gap)")
        end = e
    if end != length:
        raise _malformed(p, f"the tensors cover {end} of the data buffer's {length} bytes")
    return p, mm, start, entries, metadata


def _entry(p: Path, name: str, info: object, length: int) -> tuple[np.dtype, tuple[int, ...], int, int]:
    """Check one header entry; return (dtype, shape, begin, end)."""
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= info.keys():
        raise _malformed(p, f"tensor {name!r} must be an object with dtype, shape and data_offsets")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(code, str):
        raise _malformed(p, f"tensor {name!r}: dtype must be a string, got {code!r}")
    if code not in _DTYPES:
        hint = " (bfloat16 has no NumPy dtype; convert the file to F32)" if code == "BF16" else ""
        raise _malformed(p, f"tensor {name!r} has dtype {code!r}, which this reader does not read{hint}; "
                            f"supported: {', '.join(_DTYPES)}")
    if not (isinstance(shape, list) and all(_is_int(d) for d in shape)):
        raise _malformed(p, f"tensor {name!r}: shape must be a list of integers, got {shape!r:.80}")
    if len(shape) > _MAX_DIMS or any(d < 0 for d in shape):
        raise _malformed(p, f"tensor {name!r}: shape {shape!r:.80} has a negative dimension or more than "
                            f"{_MAX_DIMS} axes")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)):
        raise _malformed(p, f"tensor {name!r}: data_offsets must be two integers, got {offsets!r:.80}")
    b, e = offsets
    if not 0 <= b <= e <= length:
        raise _malformed(p, f"tensor {name!r}: data_offsets [{b}, {e}) lie outside the data buffer of {length} "
                            f"bytes")
    dtype = np.dtype(_DTYPES[code])
    n = _shape_size(p, shape, f"tensor {name!r}")
    if n * dtype.itemsize != e - b:
        raise _malformed(p, f"tensor {name!r}: {code} of shape {tuple(shape)} needs {n * dtype.itemsize} bytes, "
                            f"data_offsets give {e - b}")
    return dtype, tuple(shape), b, e


def read_safetensors(path: str | os.PathLike, *, max_header_bytes: int = 100 * 2**20) -> dict[str, np.ndarray]:
    r"""Every tensor of a safetensors file, as read-only zero-copy views into one memory map of the file.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.safetensors`` file.
    max_header_bytes : int
        Largest JSON header accepted (default 100 MiB, the limit of the reference reader); a header length above
        it is refused before anything is read.

    Returns
    -------
    dict of str to ndarray of the stored shape
        Name (as in the file, in the header's order) to a read-only array of the stored shape and dtype
        (``float64``, ``float32``, ``float16``, ``int64`` ... ``uint8``, ``bool``), each a view into one
        ``numpy.memmap`` of the file: nothing is copied until used.

    Raises
    ------
    MalformedFileError
        The file breaks the format (``path: `` first): shorter than 8 bytes; a header length above
        ``max_header_bytes`` or beyond the file; a header that is not UTF-8 JSON or not an object, or repeats a
        key; an entry without ``dtype``/``shape``/``data_offsets`` or with wrong types; an unknown dtype (BF16
        and F8 included: NumPy has no such dtype); a negative dimension; a shape whose byte size differs from
        its offsets (products in Python integers, so no overflow); offsets outside the data buffer; tensors
        that overlap, or leave a gap, or do not reach the end of the buffer; a BOOL tensor holding a byte other
        than 0 or 1.

    Notes
    -----
    Tensor :math:`t` of dtype size :math:`s_t` and shape :math:`(n_1, \dots, n_k)` occupies the file bytes

    .. math::

        [\,8 + N + b_t,\; 8 + N + e_t\,), \qquad e_t - b_t = s_t \prod_{i=1}^{k} n_i,

    where :math:`N` is the header length; sorted by :math:`b_t`, the intervals :math:`[b_t, e_t)` tile the
    data buffer exactly. Values are returned as stored (little-endian), without a scan for NaN.

    References
    ----------
    Hugging Face (2022) "safetensors", https://github.com/huggingface/safetensors.

    Examples
    --------
    >>> from thermoref.pretrained import MINILM, verified_file
    >>> from thermoref.pretrained.safetensors import read_safetensors
    >>> weights = read_safetensors(verified_file(MINILM))
    >>> w = weights["embeddings.word_embeddings.weight"]
    >>> print(w.shape, w.dtype, w.flags.writeable)
    (30522, 384) float32 False
    """
    p, mm, start, entries, _ = _parse(path, max_header_bytes)
    out = {}
    for name, (dtype, shape, b, e) in entries.items():
        a = np.ndarray(shape, dtype=dtype, buffer=mm, offset=start + b)  # (shape) view, no copy
        if dtype == np.bool_ and e > b and mm[start + b:start + e].max() > 1:
            raise _malformed(p, f"tensor {name!r}: a BOOL byte is neither 0 nor 1")
        out[name] = a
    return out


def safetensors_metadata(path: str | os.PathLike) -> dict[str, str]:
    r"""The ``__metadata__`` of a safetensors file (string to string), after checking the whole header.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.safetensors`` file.

    Returns
    -------
    dict of str to str
        The file's free-form metadata; ``{}`` when it has none.

    Raises
    ------
    MalformedFileError
        As :func:`read_safetensors` (the header is checked the same way, with the default header limit).

    Notes
    -----
    Reads the header only: :math:`8 + N` bytes of a file whose header is :math:`N` bytes long.

    References
    ----------
    Hugging Face (2022) "safetensors", https://github.com/huggingface/safetensors.

    Examples
    --------
    >>> from thermoref.pretrained import MINILM, verified_file
    >>> from thermoref.pretrained.safetensors import safetensors_metadata
    >>> safetensors_metadata(verified_file(MINILM))
    {'format': 'pt'}
    """
    return dict(_parse(path, 100 * 2**20)[4])

r"""What the model-file readers share: the error for a hostile file, and bounded, overflow-safe byte arithmetic.

A model file is input from outside the program, so its readers treat every length, count, offset and shape in it
as hostile until checked: an offset must lie inside the file, a size product is computed with Python integers
(which cannot overflow) before NumPy sees it, and a declared size is compared with what the file could hold
before anything is allocated. A file that breaks its format's rules raises :class:`MalformedFileError`.

References: the safetensors format (Hugging Face, 2022, https://github.com/huggingface/safetensors) and the GGUF
format (Gerganov, G. et al., 2023, ggml ``docs/gguf.md``); llama.cpp's reader tests list the hostile cases.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .cards import _check_path

__all__ = ["MalformedFileError"]

#: Largest size (bytes or elements) any declared quantity may take: NumPy's ``intp`` on a 64-bit machine.
_INT64_MAX = 2**63 - 1


class MalformedFileError(ValueError):
    """A model file that breaks its format's rules, refused before any of its data is used.

    A ``ValueError`` whose message starts with ``"path: "`` and the file, then what is wrong (a header longer
    than the limit, an offset outside the file, a size product that overflows, ...).

    Attributes
    ----------
    args : tuple of str
        The message.

    Examples
    --------
    >>> import os, tempfile
    >>> from thermoref.pretrained.files import MalformedFileError
    >>> from thermoref.pretrained.safetensors import read_safetensors
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "x.safetensors")
    ...     with open(p, "wb") as f:
    ...         _ = f.write(bytes([255] * 8))  # an 8-byte header length of 2**64 - 1
    ...     try:
    ...         read_safetensors(p)
    ...     except MalformedFileError as err:
    ...         print(str(err).replace(p, "x.safetensors"))
    path: 'x.safetensors': the header claims 18446744073709551615 bytes, more than max_header_bytes=104857600
    """


def _malformed(path: Path, reason: str) -> MalformedFileError:
    """The error for ``path``, message ``"path: '<file>': <reason>"``."""
    return MalformedFileError(f"path: {str(path)!r}: {reason}")


def _open_memmap(path: object) -> tuple[Path, np.memmap]:
    """Check ``path`` names a non-empty regular file and map it read-only as bytes (one ``np.memmap``)."""
    p = _check_path(path)
    if not p.is_file():
        raise ValueError(f"path: {str(p)!r} is not a regular file")
    try:
        size = os.path.getsize(p)
        if size == 0:
            raise _malformed(p, "the file is empty")
        return p, np.memmap(p, dtype=np.uint8, mode="r")
    except OSError as exc:
        raise ValueError(f"path: {str(p)!r} cannot be opened ({exc.strerror or exc})") from None


def _check_span(path: Path, offset: int, length: int, size: int, what: str) -> None:
    """Refuse ``[offset, offset + length)`` unless it lies inside ``[0, size)`` (Python ints: no overflow)."""
    if offset < 0 or length < 0 or offset + length > size:
        raise _malformed(path, f"{what} spans bytes [{offset}, {offset + length}), outside the {size} bytes "
                               f"available")


def _shape_size(path: Path, dims: list[int], what: str) -> int:
    """Number of elements of a shape, refusing a product whose nonzero factors overflow int64."""
    n = 1
    nonzero = 1
    for d in dims:
        n *= d
        nonzero *= max(d, 1)
        if nonzero > _INT64_MAX:
            raise _malformed(path, f"{what} has shape {tuple(dims)}, whose size product overflows int64")
    return n


def _is_int(x: object) -> bool:
    """A JSON integer: a Python ``int`` that is not a ``bool``."""
    return isinstance(x, int) and not isinstance(x, bool)

r"""A GGUF v3 reader in NumPy: metadata as Python values, tensors dequantized from one read-only memory map.

GGUF (ggml's file format) is a header (magic ``GGUF``, version 3, the tensor and metadata counts), typed
metadata key-value pairs, one info record per tensor (name, dimensions ``ne`` fastest-first, ggml type, offset),
padding to the alignment ``general.alignment`` (default 32), then the tensor data. Quantized tensors are stored
in blocks of 32 values that share a float16 scale; :func:`dequantize` decodes F32, F16, Q4_0, Q4_1 and Q8_0,
vectorized over blocks, with the float32 arithmetic of the reference ``gguf`` package, so that the numbers agree
bit for bit. Every length, count, dimension and offset in the file is checked before use: a hostile file raises
:class:`thermoref.pretrained.MalformedFileError` before anything is allocated.

References: Gerganov, G. et al. (2023) "GGUF", ggml ``docs/gguf.md`` (https://github.com/ggml-org/ggml); the
block layouts are ggml's ``block_q4_0``, ``block_q4_1`` and ``block_q8_0`` (``ggml-common.h``).
"""

from __future__ import annotations

import math
import numbers
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import check_allocation, check_positive_int
from .files import _INT64_MAX, _check_span, _malformed, _open_memmap, _shape_size

__all__ = ["GGML_TYPES", "GGUFTensor", "GGUFFile", "read_gguf", "dequantize"]

#: The ggml tensor types this reader reads and dequantizes: ``("F32", "F16", "Q4_0", "Q4_1", "Q8_0")``.
GGML_TYPES = ("F32", "F16", "Q4_0", "Q4_1", "Q8_0")

# type -> (values per block, bytes per block) and the block's record layout (ggml-common.h)
_BLOCK = {"F32": (1, 4), "F16": (1, 2), "Q4_0": (32, 18), "Q4_1": (32, 20), "Q8_0": (32, 34)}
_RECORD = {"Q4_0": np.dtype([("d", "<f2"), ("qs", "u1", (16,))]),
           "Q4_1": np.dtype([("d", "<f2"), ("m", "<f2"), ("qs", "u1", (16,))]),
           "Q8_0": np.dtype([("d", "<f2"), ("qs", "i1", (32,))])}
# every ggml type id the spec names, so that an unsupported type is refused by name
_TYPE_NAMES = dict(enumerate(["F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0", "Q8_1",
                              "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS",
                              "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64",
                              "IQ1_M", "BF16", "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8", "TQ1_0", "TQ2_0",
                              "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4"]))
# metadata value type -> (struct format, little-endian dtype) of a scalar (8 = string, 9 = array: read apart)
_SCALAR = {t: (f, np.dtype(d)) for t, f, d in [(0, "<B", "u1"), (1, "<b", "i1"), (2, "<H", "<u2"), (3, "<h", "<i2"),
                                                (4, "<I", "<u4"), (5, "<i", "<i4"), (6, "<f", "<f4"), (7, "<B", "u1"),
                                                (10, "<Q", "<u8"), (11, "<q", "<i8"), (12, "<d", "<f8")]}
_BOOL, _STRING, _ARRAY = 7, 8, 9
_MAX_DIMS = 4  # GGML_MAX_DIMS
_MAX_KEY, _MAX_NAME = 65535, 64  # the spec's limits on a key and a tensor name, in bytes
_MAX_DEPTH = 8  # nesting of arrays of arrays
_MIN_KV, _MIN_INFO = 13, 32  # fewest bytes of one metadata pair / one tensor info with one dimension


@dataclass(frozen=True)
class GGUFTensor:
    r"""Where one tensor of a GGUF file lies, its shape in NumPy order, and its ggml type.

    Attributes
    ----------
    name : str
        The tensor's name in the file.
    shape : tuple of int
        NumPy (row-major) shape: ggml's dimensions ``ne`` reversed, so ``ne[0]``, the contiguous axis, is last.
    ggml_type : str
        One of :data:`GGML_TYPES`.
    offset : int
        Byte offset of the tensor's data from the start of the file.
    nbytes : int
        Bytes the data occupies.

    Notes
    -----
    A type with blocks of :math:`B` values in :math:`b` bytes stores a tensor of :math:`n = \prod_i n_i` values
    in :math:`n b / B` bytes (:math:`B = 1` for F32 and F16; :math:`B = 32`, :math:`b = 18, 20, 34` for Q4_0,
    Q4_1, Q8_0); the last NumPy axis is a multiple of :math:`B`.

    References
    ----------
    Gerganov, G. et al. (2023) "GGUF", ggml ``docs/gguf.md``.

    Examples
    --------
    >>> from thermoref.pretrained import SMOLLM2, verified_file
    >>> from thermoref.pretrained.gguf import read_gguf
    >>> t = read_gguf(verified_file(SMOLLM2)).tensors["blk.0.attn_q.weight"]
    >>> print(t.shape, t.ggml_type, t.nbytes)
    (576, 576) Q4_1 207360
    """

    name: str
    shape: tuple[int, ...]
    ggml_type: str
    offset: int
    nbytes: int


@dataclass(frozen=True, eq=False, repr=False)
class GGUFFile:
    r"""A GGUF v3 file: its metadata, its tensors' places, and a read-only memory map of its bytes.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    metadata : dict of str to object
        Key to value, in file order: ``int``, ``float``, ``bool`` or ``str`` scalars; arrays of numbers or
        booleans as 1-d ndarrays of shape (n,) (copies); arrays of strings, and arrays of arrays, as lists.
    tensors : dict of str to GGUFTensor
        Name to :class:`GGUFTensor`, in file order.
    buffer : ndarray of shape (file size,)
        The whole file as a read-only ``numpy.memmap`` of ``uint8``; tensor data are views into it.

    Notes
    -----
    The tensor data start at the end of the tensor infos rounded up to the alignment :math:`A`,
    :math:`A \lceil p / A \rceil`, and each tensor's offset in that section is a multiple of :math:`A`.

    References
    ----------
    Gerganov, G. et al. (2023) "GGUF", ggml ``docs/gguf.md``.

    Examples
    --------
    >>> from thermoref.pretrained import SMOLLM2, verified_file
    >>> from thermoref.pretrained.gguf import read_gguf
    >>> f = read_gguf(verified_file(SMOLLM2))
    >>> print(f.metadata["general.architecture"], f.metadata["llama.block_count"], len(f.tensors))
    llama 30 272
    """

    path: Path
    metadata: dict
    tensors: dict
    buffer: np.ndarray

    def __repr__(self) -> str:
        return f"GGUFFile({str(self.path)!r}, {len(self.metadata)} metadata items, {len(self.tensors)} tensors)"

    def _info(self, name: object) -> GGUFTensor:
        if not isinstance(name, str):
            raise TypeError(f"name: expected a tensor name (str), got {type(name).__name__}")
        if name not in self.tensors:
            raise ValueError(f"name: no tensor {name[:80]!r} in {self.path.name} (it has {len(self.tensors)}, "
                             f"e.g. {next(iter(self.tensors), None)!r})")
        return self.tensors[name]

    def raw(self, name: str) -> np.ndarray:
        r"""The stored bytes of one tensor, as a read-only zero-copy view into the memory map.

        Parameters
        ----------
        name : str
            A key of ``tensors``.

        Returns
        -------
        ndarray of shape (nbytes,)
            ``uint8`` view of the file bytes :math:`[\mathrm{offset}, \mathrm{offset} + \mathrm{nbytes})`.

        Notes
        -----
        :math:`\mathrm{offset} = s + o`: the data section's start :math:`s` plus the tensor's aligned offset
        :math:`o` in it.

        References
        ----------
        Gerganov, G. et al. (2023) "GGUF", ggml ``docs/gguf.md``.

        Examples
        --------
        >>> from thermoref.pretrained import SMOLLM2, verified_file
        >>> from thermoref.pretrained.gguf import read_gguf
        >>> b = read_gguf(verified_file(SMOLLM2)).raw("output_norm.weight")
        >>> print(b.shape, b.dtype, b.flags.writeable)
        (2304,) uint8 False
        """
        t = self._info(name)
        return np.ndarray((t.nbytes,), dtype=np.uint8, buffer=self.buffer, offset=t.offset)

    def tensor(self, name: str, dtype: type = np.float64) -> np.ndarray:
        r"""One tensor, dequantized and cast to ``dtype``, in NumPy shape.

        Parameters
        ----------
        name : str
            A key of ``tensors``.
        dtype : numpy.float64 or numpy.float32
            The result's dtype (the dequantized float32 values convert exactly).

        Returns
        -------
        ndarray of shape ``tensors[name].shape``
            A new array; see :func:`dequantize` for the formulas.

        Raises
        ------
        MalformedFileError
            The tensor holds a NaN or infinite value or scale.

        Notes
        -----
        Q4_1 decodes value :math:`j` of a block as :math:`d\,q_j + m`; see :func:`dequantize`.

        References
        ----------
        Gerganov, G. et al. (2023) "GGUF", ggml ``docs/gguf.md``.

        Examples
        --------
        >>> from thermoref.pretrained import SMOLLM2, verified_file
        >>> from thermoref.pretrained.gguf import read_gguf
        >>> w = read_gguf(verified_file(SMOLLM2)).tensor("token_embd.weight")
        >>> print(w.shape, w.dtype)
        (49152, 576) float64
        """
        t = self._info(name)
        if dtype is None or isinstance(dtype, (bool, np.ndarray)):
            raise TypeError(f"dtype: expected numpy.float64 or numpy.float32, got {type(dtype).__name__}")
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"dtype: expected numpy.float64 or numpy.float32, got {dtype!r:.60}") from None
        if dt not in (np.float64, np.float32):
            raise ValueError(f"dtype: expected numpy.float64 or numpy.float32, got {dt}")
        out = _decode(self.raw(name), t.ggml_type)
        if out is None:
            raise _malformed(self.path, f"tensor {name!r} holds a NaN or infinite value or scale")
        return out.reshape(t.shape).astype(dt, copy=False)


class _Cursor:
    """Sequential little-endian reads from the mapped file, each checked against the bytes that remain."""

    def __init__(self, path: Path, mm: np.ndarray, max_string_bytes: int, max_array_length: int) -> None:
        self.path, self.buf, self.size, self.pos = path, memoryview(mm), mm.shape[0], 0
        self.max_string_bytes, self.max_array_length = max_string_bytes, max_array_length

    def fail(self, reason: str) -> Exception:
        return _malformed(self.path, reason)

    def take(self, n: int, what: str) -> int:
        if n > self.size - self.pos:
            raise self.fail(f"{what} at byte {self.pos} needs {n} bytes; the file has {self.size - self.pos} left")
        start, self.pos = self.pos, self.pos + n
        return start

    def unpack(self, fmt: str, n: int, what: str):
        return struct.unpack_from(fmt, self.buf, self.take(n, what))

    def string(self, what: str, limit: int | None = None) -> str:
        limit = self.max_string_bytes if limit is None else limit
        (n,) = self.unpack("<Q", 8, f"the length of {what}")
        if n > limit:
            raise self.fail(f"{what} at byte {self.pos - 8} claims {n} bytes, more than the limit {limit}")
        s = self.take(n, what)
        try:
            return str(self.buf[s:s + n], "utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"{what} at byte {s} is not UTF-8") from None

    def value(self, vtype: int, what: str, depth: int = 0):
        if vtype in _SCALAR:
            fmt, dt = _SCALAR[vtype]
            (v,) = self.unpack(fmt, dt.itemsize, what)
            if vtype == _BOOL and v not in (0, 1):
                raise self.fail(f"{what} is a bool stored as {v}, not 0 or 1")
            if dt.kind == "f" and not np.isfinite(v):
                raise self.fail(f"{what} is {v}")
            return bool(v) if vtype == _BOOL else v
        if vtype == _STRING:
            return self.string(what)
        if vtype != _ARRAY:
            raise self.fail(f"{what} has value type {vtype}, not one of GGUF's 0..12")
        if depth >= _MAX_DEPTH:
            raise self.fail(f"{what} nests arrays more than {_MAX_DEPTH} deep")
        itype, n = self.unpack("<IQ", 12, f"the array header of {what}")
        if n > self.max_array_length:
            raise self.fail(f"{what} is an array of {n} items, more than max_array_length={self.max_array_length}")
        least = _SCALAR[itype][1].itemsize if itype in _SCALAR else 8 if itype == _STRING else 12
        if n * least > self.size - self.pos:
            raise self.fail(f"{what} is an array of {n} items, longer than the {self.size - self.pos} bytes left "
                            f"in the file could hold")
        if itype in _SCALAR:
            dt = _SCALAR[itype][1]
            arr = np.frombuffer(self.buf, dtype=dt, count=n, offset=self.take(n * dt.itemsize, what)).copy()
            if itype == _BOOL:
                if n and arr.max() > 1:
                    raise self.fail(f"{what} holds a bool other than 0 or 1")
                return arr.astype(bool)
            if dt.kind == "f" and not np.isfinite(arr).all():
                raise self.fail(f"{what} holds a NaN or infinite value")
            return arr.astype(dt.newbyteorder("="))
        if itype == _STRING:
            return [self.string(f"item {i} of {what}") for i in range(n)]
        if itype == _ARRAY:
            return [self.value(_ARRAY, f"item {i} of {what}", depth + 1) for i in range(n)]
        raise self.fail(f"{what} is an array of value type {itype}, not one of GGUF's 0..12")


def read_gguf(path: str | os.PathLike, *, max_string_bytes: int = 2**24, max_array_length: int = 2**22) -> GGUFFile:
    r"""Read a GGUF v3 file's metadata and tensor infos, checking every count, length and offset in it.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.gguf`` file (little-endian, version 3).
    max_string_bytes : int
        Longest metadata string accepted, in bytes (default 16 MiB: a chat template or an embedded tokenizer
        fits). Keys are limited to 65535 bytes and tensor names to 64, as the spec says.
    max_array_length : int
        Most items in one metadata array (default :math:`2^{22}`: four million, sixteen times a large vocabulary).

    Returns
    -------
    GGUFFile
        Metadata as Python values, the tensor infos, and the file's memory map (nothing is copied: the tensors
        are decoded on demand by :meth:`GGUFFile.tensor`).

    Raises
    ------
    MalformedFileError
        The file breaks the format (``path: `` first): not the ``GGUF`` magic; a version other than 3 (a
        big-endian file is named as such); counts of tensors or metadata the file could not hold; a string or
        an array longer than its limit or than the bytes left; arrays nested more than 8 deep; an unknown
        value type; a bool other than 0/1, a NaN or infinite float, invalid UTF-8; a repeated key or tensor
        name; more than 4 dimensions (GGML_MAX_DIMS) or none; a dimension product that overflows int64; an
        unknown ggml type, or one outside :data:`GGML_TYPES` (named, with the supported list); a contiguous
        axis that is not a whole number of blocks; an alignment that is not a positive multiple of 8; an offset
        that is not aligned; tensor data outside the file or overlapping another tensor's.

    Notes
    -----
    Counts are checked before any loop: :math:`13\,n_\mathrm{kv} + 32\,n_\mathrm{tensors}` bytes at least must
    remain after the 24-byte header, and an array of :math:`n` items of at least :math:`s` bytes each needs
    :math:`n s` bytes. Offsets are Python integers, so no check can overflow.

    References
    ----------
    Gerganov, G. et al. (2023) "GGUF", ggml ``docs/gguf.md`` (https://github.com/ggml-org/ggml).

    Examples
    --------
    >>> from thermoref.pretrained import SMOLLM2, verified_file
    >>> from thermoref.pretrained.gguf import read_gguf
    >>> f = read_gguf(verified_file(SMOLLM2))
    >>> print(f.metadata["tokenizer.ggml.model"], len(f.metadata["tokenizer.ggml.tokens"]))
    gpt2 49152
    >>> print(f.tensors["token_embd.weight"].ggml_type)
    Q8_0
    """
    max_string_bytes = check_positive_int(max_string_bytes, "max_string_bytes")
    max_array_length = check_positive_int(max_array_length, "max_array_length")
    p, mm = _open_memmap(path)
    c = _Cursor(p, mm, max_string_bytes, max_array_length)
    if c.size < 4 or bytes(mm[:4]) != b"GGUF":
        raise c.fail(f"not a GGUF file (the first bytes are {bytes(mm[:4])!r}, not b'GGUF')")
    c.pos = 4
    (version,) = c.unpack("<I", 4, "the version")
    if version != 3:
        big = " (a big-endian file: this reader reads little-endian files)" if version == 3 << 24 else ""
        raise c.fail(f"GGUF version {version}{big}; this reader reads version 3 only")
    n_tensors, n_kv = c.unpack("<QQ", 16, "the tensor and metadata counts")
    if _MIN_KV * n_kv + _MIN_INFO * n_tensors > c.size - c.pos:
        raise c.fail(f"the header declares {n_tensors} tensors and {n_kv} metadata items, more than the "
                     f"{c.size - c.pos} bytes left could hold")
    metadata: dict[str, object] = {}
    for _ in range(n_kv):
        key = c.string("a metadata key", _MAX_KEY)
        if key in metadata:
            raise c.fail(f"the metadata key {key[:80]!r} appears twice")
        (vtype,) = c.unpack("<I", 4, f"the value type of {key[:80]!r}")
        metadata[key] = c.value(vtype, f"metadata {key[:80]!r}")
    infos = [_tensor_info(c) for _ in range(n_tensors)]
    alignment = metadata.get("general.alignment", 32)
    if isinstance(alignment, (bool, np.ndarray, list, str, float)) or alignment <= 0 or alignment % 8:
        raise c.fail(f"general.alignment is {alignment!r:.40}, not a positive multiple of 8")
    start = -(-c.pos // alignment) * alignment  # the data section
    tensors: dict[str, GGUFTensor] = {}
    end = 0
    for name, shape, ggml_type, offset, nbytes in sorted(infos, key=lambda t: t[3]):
        if name in tensors:
            raise c.fail(f"the tensor name {name!r} appears twice")
        if offset % alignment:
            raise c.fail(f"tensor {name!r} has offset {offset}, not a multiple of the alignment {alignment}")
        if offset < end:
            raise c.fail(f"tensor {name!r} at data offset {offset} overlaps the tensor before it (ending at {end})")
        _check_span(p, start + offset, nbytes, c.size, f"the data of tensor {name!r}")
        end = offset + nbytes
        tensors[name] = GGUFTensor(name, shape, ggml_type, start + offset, nbytes)
    order = {info[0]: k for k, info in enumerate(infos)}
    tensors = dict(sorted(tensors.items(), key=lambda kv: order[kv[0]]))
    return GGUFFile(p, metadata, tensors, mm)


def _tensor_info(c: _Cursor) -> tuple[str, tuple[int, ...], str, int, int]:
    """One tensor info record: (name, NumPy shape, ggml type, offset in the data section, nbytes)."""
    name = c.string("a tensor name", _MAX_NAME)
    (n_dims,) = c.unpack("<I", 4, f"n_dims of tensor {name!r}")
    if not 1 <= n_dims <= _MAX_DIMS:
        raise c.fail(f"tensor {name!r} has {n_dims} dimensions; GGUF allows 1 to {_MAX_DIMS} (GGML_MAX_DIMS)")
    ne = list(c.unpack(f"<{n_dims}Q", 8 * n_dims, f"the dimensions of tensor {name!r}"))
    type_id, offset = c.unpack("<IQ", 12, f"the type and offset of tensor {name!r}")
    ggml_type = _TYPE_NAMES.get(type_id)
    if ggml_type is None:
        raise c.fail(f"tensor {name!r} has unknown ggml type {type_id}")
    if ggml_type not in GGML_TYPES:
        raise c.fail(f"tensor {name!r} has ggml type {ggml_type}, which this reader does not dequantize "
                     f"(supported: {', '.join(GGML_TYPES)})")
    block, size = _BLOCK[ggml_type]
    n = _shape_size(c.path, ne, f"tensor {name!r}")
    if ne[0] % block:
        raise c.fail(f"tensor {name!r}: ne[0] = {ne[0]} is not a multiple of {ggml_type}'s block of {block}")
    return name, tuple(reversed(ne)), ggml_type, offset, n // block * size


def _decode(data: np.ndarray, ggml_type: str) -> np.ndarray | None:
    """Flat float32 values of contiguous ``uint8`` data of a whole number of blocks; None if any value or scale
    is NaN or infinite (checked before any multiplication, so no warning)."""
    if ggml_type in ("F32", "F16"):
        out = data.view("<f4" if ggml_type == "F32" else "<f2").astype(np.float32)  # (n,)
        return out if np.isfinite(out).all() else None
    blocks = data.view(_RECORD[ggml_type])  # (n_blocks,) records
    d = blocks["d"].astype(np.float32)[:, None]  # (n_blocks, 1)
    m = blocks["m"].astype(np.float32)[:, None] if ggml_type == "Q4_1" else None
    if not (np.isfinite(d).all() and (m is None or np.isfinite(m).all())):
        return None
    qs = blocks["qs"]  # (n_blocks, 16) nibble pairs, or (n_blocks, 32) int8
    if ggml_type == "Q8_0":
        out = qs.astype(np.float32)  # (n_blocks, 32)
    else:  # value j < 16 is the low nibble of byte j, value j >= 16 the high nibble of byte j - 16
        out = np.concatenate((qs & 0x0F, qs >> 4), axis=1).astype(np.float32)  # (n_blocks, 32)
        if ggml_type == "Q4_0":
            out -= 8
    out *= d  # float32: one rounding, as the reference
    if m is not None:
        out += m  # (d q) + m, two roundings, as the reference (no fused multiply-add)
    return out.reshape(-1)


def _as_shape(shape: object) -> tuple[int, ...]:
    if isinstance(shape, (str, bytes)) or shape is None or isinstance(shape, (bool, np.bool_)):
        raise TypeError(f"shape: expected a sequence of integers, got {type(shape).__name__}")
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    if isinstance(shape, np.ndarray) and shape.ndim != 1:
        raise ValueError(f"shape: expected a 1-d sequence of integers, got an array of shape {shape.shape}")
    try:
        dims = shape.tolist() if isinstance(shape, np.ndarray) else list(shape)
    except TypeError:
        raise TypeError(f"shape: expected a sequence of integers, got {type(shape).__name__}") from None
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, (bool, np.bool_)) for d in dims):
        raise TypeError(f"shape: expected integers, got {shape!r:.80}")
    dims = [int(d) for d in dims]
    if any(d < 0 for d in dims):
        raise ValueError(f"shape: dimensions must be >= 0, got {tuple(dims)}")
    nonzero = 1
    for d in dims:
        nonzero *= max(d, 1)
    if nonzero > _INT64_MAX:
        raise ValueError(f"shape: the size product of {tuple(dims)} overflows int64")
    return tuple(dims)


def dequantize(data: bytes | np.ndarray, ggml_type: str, shape: tuple[int, ...]) -> np.ndarray:
    r"""Decode the stored bytes of a ggml tensor to float32, vectorized over blocks.

    Parameters
    ----------
    data : bytes or ndarray of shape (nbytes,)
        The stored bytes (``bytes``, ``bytearray``, ``memoryview`` or a ``uint8`` array), e.g.
        :meth:`GGUFFile.raw`.
    ggml_type : str
        One of :data:`GGML_TYPES`.
    shape : tuple of int
        The NumPy shape; its last axis is a whole number of blocks (32 values for the Q types).

    Returns
    -------
    ndarray of shape ``shape``
        float32 values, bit for bit those of the reference ``gguf.quants.dequantize``.

    Notes
    -----
    A block of 32 values shares a float16 scale :math:`d` (Q4_1 also a float16 minimum :math:`m`); with
    :math:`q_j` the stored 4-bit (value :math:`j < 16` is the low nibble of byte :math:`j`, value
    :math:`j \ge 16` the high nibble of byte :math:`j - 16`) or signed 8-bit integer,

    .. math::

        \text{Q4\_0: } x_j = d\,(q_j - 8), \qquad \text{Q4\_1: } x_j = d\,q_j + m, \qquad
        \text{Q8\_0: } x_j = d\,q_j,

    computed in float32 with one rounding per operation (no fused multiply-add), as the reference does. F16
    values widen exactly; F32 values are copied.

    References
    ----------
    Gerganov, G. et al. (2023) "GGUF", ggml ``docs/gguf.md``; ggml ``ggml-common.h`` (``block_q4_0``,
    ``block_q4_1``, ``block_q8_0``).

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.pretrained.gguf import dequantize
    >>> block = np.float16(0.5).tobytes() + np.float16(-1.0).tobytes() + bytes([0x10] + [0x21] * 15)
    >>> print(dequantize(block, "Q4_1", (32,))[[0, 1, 16, 17]])
    [-1.  -0.5 -0.5  0. ]
    """
    if not isinstance(ggml_type, str):
        raise TypeError(f"ggml_type: expected a str, got {type(ggml_type).__name__}")
    if ggml_type not in GGML_TYPES:
        raise ValueError(f"ggml_type: {ggml_type[:40]!r} is not supported; supported: {', '.join(GGML_TYPES)}")
    shape = _as_shape(shape)
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = np.frombuffer(data, dtype=np.uint8)
    elif not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        what = f"an array of dtype {data.dtype}" if isinstance(data, np.ndarray) else type(data).__name__
        raise TypeError(f"data: expected bytes or a uint8 array, got {what}")
    block, size = _BLOCK[ggml_type]
    if block > 1 and (not shape or shape[-1] % block):
        raise ValueError(f"shape: the last axis of a {ggml_type} tensor is a whole number of blocks of {block}, "
                         f"got shape {shape}")
    n = math.prod(shape)  # a Python int
    if data.size != n // block * size:
        raise ValueError(f"data: holds {data.size} bytes; a {ggml_type} tensor of shape {shape} needs "
                         f"{n // block * size}")
    check_allocation(shape, "shape", itemsize=4)
    out = _decode(np.ascontiguousarray(data).reshape(-1), ggml_type)
    if out is None:
        raise ValueError(f"data: holds a NaN or infinite {ggml_type} value or scale")
    return out.reshape(shape)

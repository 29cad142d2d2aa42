"""The safetensors and GGUF readers (issue 14): round trips, hostile files, and bit-exact dequantization.

Oracles, none of which imports the readers' code: small writers in this file that build the bytes from the
published formats with ``struct`` and ``json``; an independent parse of the real MiniLM file (``json`` +
``np.frombuffer`` over file slices); the registry's ``gguf`` package (``gguf.GGUFReader`` for metadata and tensor
infos, ``gguf.quants.dequantize`` for the decoded values) and a scalar float32 loop over the block formulas.
Hostile files must raise ``MalformedFileError`` with a message starting ``path: `` under a cap on the address
space, so a reader that allocated what a header declares fails instead of passing.
"""

from __future__ import annotations

import contextlib
import json
import resource
import struct

import gguf
import numpy as np
import pytest

from thermoref.pretrained import MINILM, SMOLLM2, verified_file
from thermoref.pretrained.files import MalformedFileError
from thermoref.pretrained.gguf import GGML_TYPES, dequantize, read_gguf
from thermoref.pretrained.safetensors import read_safetensors, safetensors_metadata

PATH_ERROR = r"^path: '"


@contextlib.contextmanager
def _address_space_cap(extra: int = 2**30):
    """Cap the address space at what is mapped now plus ``extra``: a reader that allocates what a hostile header
    declares gets a MemoryError instead of succeeding or swapping."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        mapped = int(f.read().split()[0]) * resource.getpagesize()
    cap = mapped + extra if hard == resource.RLIM_INFINITY else min(mapped + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# ---------------------------------------------------------------------------------------------------------
# A safetensors writer (the format: u64 header length, JSON header, data buffer)
# ---------------------------------------------------------------------------------------------------------
_ST_CODE = {np.dtype("<f8"): "F64", np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("<i8"): "I64",
            np.dtype("<i4"): "I32", np.dtype("<i2"): "I16", np.dtype("i1"): "I8", np.dtype("<u8"): "U64",
            np.dtype("<u4"): "U32", np.dtype("<u2"): "U16", np.dtype("u1"): "U8", np.dtype("?"): "BOOL"}


def _st_bytes(header: object, data: bytes = b"", *, raw: bytes | None = None, length: int | None = None) -> bytes:
    h = json.dumps(header).encode() if raw is None else raw
    return struct.pack("<Q", len(h) if length is None else length) + h + data


def _write_safetensors(path, tensors: dict, metadata: dict | None = None, reverse: bool = False) -> None:
    """Tensors in the given order; ``reverse`` stores the data in the opposite order to the header's."""
    header, chunks, offset = {}, {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in (reversed(list(tensors)) if reverse else tensors):
        a = np.array(tensors[name], order="C")
        chunks[name] = a.tobytes()
        header[name] = {"dtype": _ST_CODE[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    if reverse:
        header = {k: header[k] for k in ([] if metadata is None else ["__metadata__"]) + list(tensors)}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)  # writers pad the header to 8 bytes
    data = b"".join(chunks[n] for n in (reversed(list(tensors)) if reverse else tensors))
    path.write_bytes(struct.pack("<Q", len(h)) + h + data)


def test_safetensors_round_trip_every_dtype(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {
        "f64": rng.standard_normal((3, 4)), "f32": rng.standard_normal((2, 3, 5)).astype("<f4"),
        "f16": rng.standard_normal(7).astype("<f2"), "i64": rng.integers(-2**62, 2**62, (2, 2)),
        "i32": rng.integers(-2**31, 2**31, 5, dtype="<i4"), "i16": np.array([-32768, 32767], "<i2"),
        "i8": np.array([[-128, 127, 0]], "i1"), "u64": np.array([2**64 - 1], "<u8"),
        "u32": np.array([2**32 - 1], "<u4"), "u16": np.array([65535], "<u2"), "u8": np.arange(256, dtype="u1"),
        "bool": np.array([True, False, True]), "scalar": np.array(2.5), "empty": np.zeros((0, 3), "<f4"),
    }
    path = tmp_path / "t.safetensors"
    _write_safetensors(path, tensors, metadata={"format": "np", "note": "ünïcode"}, reverse=True)
    got = read_safetensors(path)
    assert list(got) == list(tensors)  # the header's order
    for name, a in tensors.items():
        assert got[name].dtype == a.dtype and got[name].shape == a.shape, name
        assert np.array_equal(got[name], a), name
        assert not got[name].flags.writeable
    bases = {id(a.base) for a in got.values()}
    assert len(bases) == 1 and isinstance(next(iter(got.values())).base, np.memmap)  # one map, zero copies
    assert safetensors_metadata(path) == {"format": "np", "note": "ünïcode"}


def test_safetensors_without_tensors_or_metadata(tmp_path):
    (tmp_path / "e").write_bytes(_st_bytes({}))
    assert read_safetensors(tmp_path / "e") == {} and safetensors_metadata(tmp_path / "e") == {}


_A = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


def _entry(**kw):
    return {"a": {**_A, **kw}}


ST_HOSTILE = [
    ("empty file", b"", {}, "empty"),
    ("shorter than 8 bytes", b"\x02\x00\x00", {}, "fewer than the 8"),
    ("header length 2**64 - 1", struct.pack("<Q", 2**64 - 1) + b"{}", {}, "max_header_bytes"),
    ("header above max_header_bytes", _st_bytes({}), {"max_header_bytes": 1}, "max_header_bytes=1"),
    ("header beyond the file", _st_bytes({}, length=1000), {}, "header spans"),
    ("header not UTF-8", _st_bytes(None, raw=b'{"\xff": 1}'), {}, "UTF-8 JSON"),
    ("header not JSON", _st_bytes(None, raw=b'{"a": '), {}, "UTF-8 JSON"),
    ("header nested 10**5 deep", _st_bytes(None, raw=b"[" * 10**5), {}, "UTF-8 JSON"),
    ("header a JSON list", _st_bytes([]), {}, "not an object"),
    ("a repeated key", _st_bytes(None, raw=b'{"a": %s, "a": %s}' % ((json.dumps(_A).encode(),) * 2),
                                 data=bytes(8)), {}, "twice"),
    ("__metadata__ not strings", _st_bytes({"__metadata__": {"k": 1}}), {}, "__metadata__"),
    ("__metadata__ not an object", _st_bytes({"__metadata__": ["k"]}), {}, "__metadata__"),
    ("entry not an object", _st_bytes({"a": [1]}), {}, "must be an object"),
    ("entry without dtype", _st_bytes({"a": {"shape": [2], "data_offsets": [0, 8]}}, bytes(8)), {}, "dtype"),
    ("entry without shape", _st_bytes({"a": {"dtype": "F32", "data_offsets": [0, 8]}}, bytes(8)), {}, "shape"),
    ("entry without data_offsets", _st_bytes({"a": {"dtype": "F32", "shape": [2]}}, bytes(8)), {}, "data_off"),
    ("dtype not a string", _st_bytes(_entry(dtype=4), bytes(8)), {}, "dtype must be a string"),
    ("unknown dtype", _st_bytes(_entry(dtype="F128"), bytes(8)), {}, "supported: F64"),
    ("BF16", _st_bytes(_entry(dtype="BF16", shape=[4]), bytes(8)), {}, "bfloat16 has no NumPy dtype"),
    ("shape not a list", _st_bytes(_entry(shape="2"), bytes(8)), {}, "list of integers"),
    ("shape of floats", _st_bytes(_entry(shape=[2.0]), bytes(8)), {}, "list of integers"),
    ("shape of booleans", _st_bytes(_entry(shape=[True, True]), bytes(8)), {}, "list of integers"),
    ("negative dimension", _st_bytes(_entry(shape=[-2, -1]), bytes(8)), {}, "negative"),
    ("65 axes", _st_bytes(_entry(shape=[1] * 63 + [2, 1]), bytes(8)), {}, "64 axes"),
    ("three data_offsets", _st_bytes(_entry(data_offsets=[0, 4, 8]), bytes(8)), {}, "two integers"),
    ("data_offsets not integers", _st_bytes(_entry(data_offsets=[0, 8.0]), bytes(8)), {}, "two integers"),
    ("begin after end", _st_bytes(_entry(data_offsets=[8, 0]), bytes(8)), {}, "outside the data buffer"),
    ("end beyond the buffer", _st_bytes(_entry(data_offsets=[0, 2**70]), bytes(8)), {}, "outside the data"),
    ("byte size differs from shape", _st_bytes(_entry(shape=[3]), bytes(8)), {}, "needs 12 bytes"),
    ("size product overflows", _st_bytes(_entry(shape=[2**32, 2**32]), bytes(8)), {}, "overflows int64"),
    ("zero dimension beside a huge one", _st_bytes(_entry(shape=[0, 2**70], data_offsets=[0, 0])), {},
     "overflows int64"),
    ("overlapping tensors", _st_bytes({"a": _A, "b": {**_A, "data_offsets": [4, 12]}}, bytes(12)), {},
     "overlaps"),
    ("a gap between tensors", _st_bytes({"a": {**_A, "shape": [1], "data_offsets": [0, 4]},
                                         "b": {**_A, "shape": [1], "data_offsets": [8, 12]}}, bytes(12)), {},
     "a gap"),
    ("a gap before the first tensor", _st_bytes(_entry(data_offsets=[4, 12]), bytes(12)), {}, "a gap"),
    ("bytes after the last tensor", _st_bytes(_entry(), bytes(12)), {}, "cover 8 of the data buffer's 12"),
    ("a BOOL byte of 2", _st_bytes({"b": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}, b"\x01\x02"),
     {}, "BOOL byte"),
]


@pytest.mark.parametrize("content, kwargs, match", [c[1:] for c in ST_HOSTILE], ids=[c[0] for c in ST_HOSTILE])
def test_hostile_safetensors_are_refused(tmp_path, content, kwargs, match):
    path = tmp_path / "h.safetensors"
    path.write_bytes(content)
    with _address_space_cap(), pytest.raises(MalformedFileError, match=PATH_ERROR) as err:
        read_safetensors(path, **kwargs)
    assert match in str(err.value)
    if not kwargs and match != "BOOL byte":  # the header checks are shared; the BOOL bytes are data
        with pytest.raises(MalformedFileError, match=PATH_ERROR):
            safetensors_metadata(path)


def test_safetensors_bad_paths(tmp_path):
    with pytest.raises(ValueError, match="^path: .*does not exist"):
        read_safetensors(tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match="^path: .*not a regular file"):
        read_safetensors(tmp_path)
    with pytest.raises(TypeError, match="^path: "):
        read_safetensors(3)


@pytest.fixture(scope="module")
def minilm():
    path = verified_file(MINILM)
    return path, read_safetensors(path)


def test_real_minilm_against_an_independent_parse(minilm):
    path, weights = minilm
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        assert header.pop("__metadata__") == safetensors_metadata(path) == {"format": "pt"}
        assert list(weights) == list(header) and len(weights) == 104
        for name in ("embeddings.word_embeddings.weight", "encoder.layer.3.attention.self.query.weight",
                     "encoder.layer.5.output.LayerNorm.bias", "embeddings.position_ids"):
            b, e = header[name]["data_offsets"]
            f.seek(8 + n + b)
            want = np.frombuffer(f.read(e - b), dtype={"F32": "<f4", "I64": "<i8"}[header[name]["dtype"]])
            assert np.array_equal(weights[name], want.reshape(header[name]["shape"]))
    # the published architecture: BERT vocabulary 30522, d 384, FFN 1536, 6 layers, 512 positions
    assert weights["embeddings.word_embeddings.weight"].shape == (30522, 384)
    assert weights["encoder.layer.5.intermediate.dense.weight"].shape == (1536, 384)  # (out, in)
    assert weights["embeddings.position_embeddings.weight"].shape == (512, 384)
    assert np.array_equal(weights["embeddings.position_ids"], np.arange(512)[None])
    assert sum(name.endswith("attention.self.query.weight") for name in weights) == 6


# ---------------------------------------------------------------------------------------------------------
# A GGUF v3 writer (little-endian; ggml docs/gguf.md)
# ---------------------------------------------------------------------------------------------------------
_FMT = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_TYPE_ID = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 8}
_SIZES = {"F32": (1, 4), "F16": (1, 2), "Q4_0": (32, 18), "Q4_1": (32, 20), "Q8_0": (32, 34)}


def _s(b: bytes) -> bytes:
    return struct.pack("<Q", len(b)) + b


def _enc(vtype: int, v) -> bytes:
    """A metadata value; an array is ``(item type, items)``."""
    if vtype in _FMT:
        return struct.pack("<" + _FMT[vtype], v)
    if vtype == 8:
        return _s(v.encode())
    itype, items = v
    return struct.pack("<IQ", itype, len(items)) + b"".join(_enc(itype, x) for x in items)


def _kv(key: str, vtype: int, v=None, *, payload: bytes | None = None) -> bytes:
    return _s(key.encode()) + struct.pack("<I", vtype) + (_enc(vtype, v) if payload is None else payload)


def _info(name: str, ne: list[int], type_id: int, offset: int) -> bytes:
    return _s(name.encode()) + struct.pack(f"<I{len(ne)}Q", len(ne), *ne) + struct.pack("<IQ", type_id, offset)


def _gguf(kvs=(), infos=(), data=b"", *, n_tensors=None, n_kv=None, version=3, magic=b"GGUF", align=32) -> bytes:
    body = (magic + struct.pack("<IQQ", version, len(infos) if n_tensors is None else n_tensors,
                                len(kvs) if n_kv is None else n_kv) + b"".join(kvs) + b"".join(infos))
    return body + bytes(-len(body) % align) + data


def _write_gguf(path, metadata: list, tensors: list, alignment: int | None = None) -> None:
    """``metadata``: (key, vtype, value); ``tensors``: (name, ne, ggml type, stored bytes)."""
    align = 32 if alignment is None else alignment
    kvs = [_kv(k, t, v) for k, t, v in metadata] + ([] if alignment is None else [_kv("general.alignment", 4,
                                                                                         alignment)])
    infos, data = [], b""
    for name, ne, typ, raw in tensors:
        data += bytes(-len(data) % align)
        infos.append(_info(name, ne, _TYPE_ID[typ], len(data)))
        data += raw
    path.write_bytes(_gguf(kvs, infos, data, align=align))


def _finite_f16_bits(rng, n: int) -> np.ndarray:
    """Random float16 bit patterns, every finite value possible (subnormals, +-0, +-65504), no inf or NaN."""
    bits = rng.integers(0, 2**16, n, dtype=np.uint16)
    return np.where((bits >> 10) & 0x1F == 0x1F, bits & np.uint16(0xBFFF), bits).astype("<u2")


def _random_blocks(rng, ggml_type: str, n_blocks: int) -> bytes:
    """Random stored blocks with finite scales, plus blocks of extreme scales and codes."""
    if ggml_type in ("F32", "F16"):
        if ggml_type == "F16":
            return _finite_f16_bits(rng, 32 * n_blocks).tobytes()
        bits = rng.integers(0, 2**32, 32 * n_blocks, dtype=np.uint32)
        return np.where((bits >> 23) & 0xFF == 0xFF, bits & np.uint32(0xBFFFFFFF), bits).astype("<u4").tobytes()
    n_scales = 2 if ggml_type == "Q4_1" else 1
    n_codes = 32 if ggml_type == "Q8_0" else 16
    scales = _finite_f16_bits(rng, n_scales * n_blocks).reshape(n_blocks, n_scales)
    codes = rng.integers(0, 256, (n_blocks, n_codes), dtype=np.uint8)
    extreme = np.array([0x7BFF, 0xFBFF, 0x0001, 0x8001, 0x0000, 0x8000, 0x3C00], dtype="<u2")  # +-max, +-tiny, +-0, 1
    k = min(n_blocks, len(extreme))
    scales[:k] = extreme[:k, None]
    codes[:k:2] = 0xFF
    codes[1:k:2] = 0x00 if ggml_type != "Q8_0" else 0x80  # the int8 code -128
    return np.concatenate([scales.view(np.uint8), codes], axis=1).tobytes()


def _reference(raw: bytes, ggml_type: str, n_rows: int) -> np.ndarray:
    data = np.frombuffer(raw, dtype=np.uint8).reshape(n_rows, -1)
    return gguf.quants.dequantize(data, gguf.GGMLQuantizationType[ggml_type])


def _scalar_oracle(raw: bytes, ggml_type: str) -> np.ndarray:
    """The block formulas of docs/gguf.md / ggml-common.h, one np.float32 scalar operation at a time."""
    block, size = _SIZES[ggml_type]
    out = []
    for k in range(len(raw) // size):
        b = raw[k * size:(k + 1) * size]
        f16 = lambda i: np.float32(np.frombuffer(b[i:i + 2], "<f2")[0])  # noqa: E731
        if ggml_type == "Q8_0":
            out += [np.float32(q) * f16(0) for q in np.frombuffer(b[2:], "i1").tolist()]
            continue
        qs = b[4:] if ggml_type == "Q4_1" else b[2:]
        nib = [x & 15 for x in qs] + [x >> 4 for x in qs]
        if ggml_type == "Q4_1":
            out += [f16(0) * np.float32(q) + f16(2) for q in nib]
        else:
            out += [f16(0) * np.float32(q - 8) for q in nib]
    return np.array(out, dtype=np.float32)


@pytest.mark.parametrize("ggml_type", GGML_TYPES)
def test_dequantize_bit_for_bit_against_the_reference_package(ggml_type):
    rng = np.random.default_rng(list(GGML_TYPES).index(ggml_type))
    n_rows, per_row = 64, 4  # 256 blocks
    raw = _random_blocks(rng, ggml_type, n_rows * per_row)
    ours = dequantize(raw, ggml_type, (n_rows, 32 * per_row))
    assert ours.dtype == np.float32 and ours.shape == (n_rows, 32 * per_row)
    ref = _reference(raw, ggml_type, n_rows)
    assert np.array_equal(ours.view(np.uint32), ref.view(np.uint32))  # bitwise, signed zeros included
    if ggml_type not in ("F32", "F16"):
        first = raw[:_SIZES[ggml_type][1] * 12]  # the extreme blocks and a few random ones
        assert np.array_equal(ours.reshape(-1)[:12 * 32].view(np.uint32), _scalar_oracle(first, ggml_type).view(
            np.uint32))


def test_dequantize_nibble_order_and_formulas():
    # byte j holds the codes j (low nibble) and (j + 1) % 16 (high nibble): value j < 16 is the low nibble of
    # byte j, value 16 + j the high nibble of byte j
    qs = bytes(((j + 1) % 16) << 4 | j for j in range(16))
    q = np.concatenate([np.arange(16), (np.arange(16) + 1) % 16])
    raw = np.float16(0.5).tobytes() + np.float16(-1).tobytes() + qs  # Q4_1, d = 0.5, m = -1
    assert np.array_equal(dequantize(raw, "Q4_1", (32,)), 0.5 * q - 1)
    raw0 = np.float16(2).tobytes() + qs  # Q4_0, d = 2
    assert np.array_equal(dequantize(raw0, "Q4_0", (1, 32)), 2 * (q - 8)[None])
    raw8 = np.float16(-0.25).tobytes() + np.arange(-16, 16, dtype="i1").tobytes()
    assert np.array_equal(dequantize(np.frombuffer(raw8, np.uint8), "Q8_0", [32]), -0.25 * np.arange(-16, 16))


@pytest.mark.parametrize("ggml_type, raw, shape", [
    ("Q4_1", np.float16(np.inf).tobytes() + bytes(18), (32,)),
    ("Q4_1", bytes(2) + np.float16(np.nan).tobytes() + bytes(16), (32,)),
    ("Q4_0", np.float16(-np.inf).tobytes() + bytes(16), (32,)),
    ("Q8_0", np.float16(np.nan).tobytes() + bytes(32), (32,)),
    ("F32", np.array([1.0, np.inf], "<f4").tobytes(), (2,)),
    ("F16", np.array([np.nan], "<f2").tobytes(), (1,)),
])
def test_dequantize_refuses_non_finite_values_and_scales(ggml_type, raw, shape):
    with pytest.raises(ValueError, match="^data: .*NaN or infinite"):
        dequantize(raw, ggml_type, shape)


def test_dequantize_refuses_bad_arguments():
    raw = bytes(20)
    with pytest.raises(ValueError, match="^ggml_type: .*supported: F32, F16, Q4_0, Q4_1, Q8_0"):
        dequantize(raw, "Q4_K", (32,))
    with pytest.raises(ValueError, match="^shape: .*blocks of 32"):
        dequantize(raw, "Q4_1", (16,))
    with pytest.raises(ValueError, match="^data: holds 20 bytes.*needs 40"):
        dequantize(raw, "Q4_1", (2, 32))
    with pytest.raises(ValueError, match="^shape: .*overflows"):
        dequantize(raw, "Q4_1", (2**40, 2**40, 32))
    with pytest.raises(TypeError, match="^data: "):
        dequantize(np.zeros(10, np.int16), "Q4_1", (32,))
    with pytest.raises(TypeError, match="^shape: "):
        dequantize(raw, "Q4_1", (32.0,))
    assert dequantize(b"", "Q8_0", (0, 32)).shape == (0, 32)


_METADATA = [  # (key, value type, value) for every value type
    ("general.architecture", 8, "llama"), ("t.u8", 0, 255), ("t.i8", 1, -128), ("t.u16", 2, 65535),
    ("t.i16", 3, -32768), ("t.u32", 4, 2**32 - 1), ("t.i32", 5, -2**31), ("t.f32", 6, 0.1),
    ("t.bool", 7, True), ("t.false", 7, False), ("t.str", 8, "ünï ☃"), ("t.empty_str", 8, ""),
    ("t.u64", 10, 2**64 - 1), ("t.i64", 11, -2**63), ("t.f64", 12, -1e308),
    ("t.arr_i32", 9, (5, [1, -2, 3])), ("t.arr_f32", 9, (6, [0.5, -1e30])), ("t.arr_bool", 9, (7, [True, False])),
    ("t.arr_u64", 9, (10, [2**64 - 1])), ("t.arr_f64", 9, (12, [1e-300])), ("t.arr_str", 9, (8, ["a", "", "Ġt"])),
    ("t.arr_empty", 9, (0, [])),
]
_DTYPE_OF = {0: "u1", 1: "i1", 2: "u2", 3: "i2", 4: "u4", 5: "i4", 6: "f4", 7: "?", 10: "u8", 11: "i8", 12: "f8"}


def _tiny_tensors(rng):
    f32 = rng.standard_normal((2, 3)).astype("<f4")  # ne = [3, 2]
    f16 = rng.standard_normal(5).astype("<f2")
    return [("f32", [3, 2], "F32", f32.tobytes()), ("f16", [5], "F16", f16.tobytes()),
            ("q40", [32, 2], "Q4_0", _random_blocks(rng, "Q4_0", 2)),
            ("q41", [64, 1, 3], "Q4_1", _random_blocks(rng, "Q4_1", 6)),
            ("q80", [32, 1, 2, 1], "Q8_0", _random_blocks(rng, "Q8_0", 2))], {"f32": f32, "f16": f16}


@pytest.mark.parametrize("alignment", [None, 64])
def test_gguf_round_trip_and_agreement_with_the_reference_reader(tmp_path, alignment):
    tensors, values = _tiny_tensors(np.random.default_rng(1))
    path = tmp_path / "t.gguf"
    _write_gguf(path, _METADATA, tensors, alignment)
    f = read_gguf(path)
    meta = dict(f.metadata)
    if alignment is not None:
        assert meta.pop("general.alignment") == alignment
    assert list(meta) == [k for k, _, _ in _METADATA]
    for key, vtype, v in _METADATA:
        got = meta[key]
        if vtype == 9 and v[0] != 8:
            assert isinstance(got, np.ndarray) and got.dtype == np.dtype(_DTYPE_OF[v[0]]), key
            assert np.array_equal(got, np.array(v[1], dtype=_DTYPE_OF[v[0]])), key
        elif vtype == 9:
            assert got == v[1], key
        else:
            want = float(np.float32(v)) if vtype == 6 else v
            assert got == want and type(got) is type(want), key
    ref = gguf.GGUFReader(path)
    for key, field in ref.fields.items():
        if not key.startswith("GGUF."):
            got = f.metadata[key]
            assert (got.tolist() if isinstance(got, np.ndarray) else got) == field.contents(), key
    assert list(f.tensors) == [t.name for t in ref.tensors]
    for t in ref.tensors:
        ours = f.tensors[t.name]
        assert (ours.offset, ours.nbytes, ours.ggml_type) == (t.data_offset, t.n_bytes, t.tensor_type.name)
        assert ours.offset % (alignment or 32) == 0
        want = gguf.quants.dequantize(t.data, t.tensor_type)
        assert ours.shape == want.shape == tuple(reversed([int(x) for x in t.shape]))
        assert np.array_equal(f.tensor(t.name, np.float32).view(np.uint32), want.view(np.uint32)), t.name
        assert np.shares_memory(f.raw(t.name), f.buffer) and not f.raw(t.name).flags.writeable
    assert np.array_equal(f.tensor("f32"), values["f32"]) and f.tensor("f32").dtype == np.float64
    assert np.array_equal(f.tensor("f16"), values["f16"])
    assert f.tensors["q41"].shape == (3, 1, 64)  # ne reversed


def test_gguf_nested_arrays(tmp_path):
    nested = (9, [(4, [1, 2]), (8, ["x"]), (9, [(7, [True])])])
    path = tmp_path / "n.gguf"
    _write_gguf(path, [("t.nested", 9, nested)], [])
    got = read_gguf(path).metadata["t.nested"]
    assert isinstance(got, list) and len(got) == 3
    assert np.array_equal(got[0], np.array([1, 2], "u4")) and got[1] == ["x"]
    assert isinstance(got[2], list) and np.array_equal(got[2][0], [True])


def test_gguf_tensor_method_refuses_bad_names_and_dtypes_and_nan_weights(tmp_path):
    path = tmp_path / "t.gguf"
    bad_block = np.float16(np.nan).tobytes() + bytes(18)
    _write_gguf(path, [], [("ok", [32], "Q4_1", bytes(20)), ("nan", [32], "Q4_1", bad_block)])
    f = read_gguf(path)
    assert np.array_equal(f.tensor("ok"), np.zeros(32))
    with pytest.raises(MalformedFileError, match=PATH_ERROR + ".*'nan' holds a NaN"):
        f.tensor("nan")
    with pytest.raises(ValueError, match="^name: no tensor 'missing'"):
        f.tensor("missing")
    with pytest.raises(ValueError, match="^dtype: "):
        f.tensor("ok", np.float16)
    with pytest.raises(TypeError, match="^name: "):
        f.raw(3)


_K = _kv("general.architecture", 8, "llama")
_T = _info("w", [32], 3, 0)  # a Q4_1 tensor of 20 bytes at data offset 0


def _nested(depth: int) -> bytes:
    v = (0, [1])
    for _ in range(depth - 1):
        v = (9, [v])
    return _kv("k", 9, v)


GGUF_HOSTILE = [
    ("empty file", b"", {}, "empty"),
    ("3 bytes", b"GGU", {}, "not a GGUF file"),
    ("wrong magic", _gguf([_K], magic=b"GGML"), {}, "not a GGUF file"),
    ("version 2", _gguf([_K], version=2), {}, "version 2;"),
    ("a big-endian file", _gguf([_K], version=3 << 24), {}, "big-endian"),
    ("truncated counts", b"GGUF" + struct.pack("<I", 3) + bytes(5), {}, "counts at byte 8"),
    ("2**63 tensors", _gguf([_K], n_tensors=2**63), {}, "could hold"),
    ("2**60 metadata items", _gguf([_K], n_kv=2**60), {}, "could hold"),
    ("a key of 2**62 bytes", _gguf([struct.pack("<Q", 2**62) + b"k" * 20]), {}, "more than the limit 65535"),
    ("a key of 65536 bytes", _gguf([_kv("k" * 65536, 0, 1)]), {}, "limit 65535"),
    ("a string beyond the file", _gguf([_kv("k", 8, payload=struct.pack("<Q", 1000) + b"abc")]), {},
     "needs 1000 bytes"),
    ("a string above max_string_bytes", _gguf([_kv("k", 8, "hello")]), {"max_string_bytes": 4}, "limit 4"),
    ("a string not UTF-8", _gguf([_kv("k", 8, payload=_s(b"\xff\xfe"))]), {}, "not UTF-8"),
    ("unknown value type 13", _gguf([_kv("k", 13, payload=bytes(8))]), {}, "value type 13"),
    ("an array of unknown item type", _gguf([_kv("k", 9, payload=struct.pack("<IQ", 99, 1) + bytes(16))]), {},
     "value type 99"),
    ("an array above max_array_length", _gguf([_kv("k", 9, (0, [1, 2, 3]))]), {"max_array_length": 2},
     "max_array_length=2"),
    ("2**61 uint64 items", _gguf([_kv("k", 9, payload=struct.pack("<IQ", 10, 2**61))]),
     {"max_array_length": 2**63}, "could hold"),
    ("2**61 strings", _gguf([_kv("k", 9, payload=struct.pack("<IQ", 8, 2**61))]), {"max_array_length": 2**63},
     "could hold"),
    ("2**61 arrays", _gguf([_kv("k", 9, payload=struct.pack("<IQ", 9, 2**61))]), {"max_array_length": 2**63},
     "could hold"),
    ("arrays nested 9 deep", _gguf([_nested(9)]), {}, "more than 8 deep"),
    ("a bool stored as 2", _gguf([_kv("k", 7, payload=b"\x02")]), {}, "not 0 or 1"),
    ("a bool array holding 2", _gguf([_kv("k", 9, payload=struct.pack("<IQ", 7, 2) + b"\x01\x02")]), {},
     "bool other than 0 or 1"),
    ("a NaN float32", _gguf([_kv("k", 6, float("nan"))]), {}, "is nan"),
    ("an infinite float64 in an array", _gguf([_kv("k", 9, (12, [1.0, float("inf")]))]), {}, "infinite"),
    ("a repeated key", _gguf([_K, _K]), {}, "appears twice"),
    ("a truncated value", _gguf([_kv("k", 4, payload=b"\x01\x00")], align=1), {}, "needs 4 bytes"),
    ("5 dimensions", _gguf([_K], [_info("w", [32, 1, 1, 1, 1], 3, 0)], bytes(20)), {}, "GGML_MAX_DIMS"),
    ("0 dimensions", _gguf([_K], [_info("w", [], 0, 0)], bytes(4)), {}, "0 dimensions"),
    ("a dimension product over int64", _gguf([_K], [_info("w", [2**32, 2**32], 0, 0)], bytes(32)), {},
     "overflows int64"),
    ("a zero beside a huge dimension", _gguf([_K], [_info("w", [0, 2**64 - 1], 0, 0)]), {}, "overflows int64"),
    ("unknown ggml type 99", _gguf([_K], [_info("w", [32], 99, 0)], bytes(20)), {}, "unknown ggml type 99"),
    ("unsupported ggml type Q4_K", _gguf([_K], [_info("w", [256], 12, 0)], bytes(144)), {},
     "Q4_K, which this reader does not dequantize (supported: F32, F16, Q4_0, Q4_1, Q8_0)"),
    ("ne[0] not a whole number of blocks", _gguf([_K], [_info("w", [16], 3, 0)], bytes(20)), {},
     "not a multiple of Q4_1's block of 32"),
    ("an offset not aligned", _gguf([_K], [_info("w", [32], 3, 8)], bytes(64)), {}, "not a multiple of the "
                                                                                      "alignment 32"),
    ("tensor data beyond the file", _gguf([_K], [_info("w", [32 * 1000], 3, 0)], bytes(20)), {},
     "outside the"),
    ("an offset of 2**63", _gguf([_K], [_info("w", [32], 3, 2**63)], bytes(20)), {}, "outside the"),
    ("overlapping tensors", _gguf([_K], [_T, _info("v", [64], 3, 0)], bytes(40)), {}, "overlaps"),
    ("a repeated tensor name", _gguf([_K], [_T, _info("w", [32], 3, 32)], bytes(64)), {}, "appears twice"),
    ("a tensor name of 65 bytes", _gguf([_K], [_info("n" * 65, [32], 3, 0)], bytes(20)), {}, "limit 64"),
    ("a truncated tensor info", _gguf([_K], [_T[:-4]], n_tensors=1, align=1), {}, "needs 12 bytes"),
    ("alignment 12", _gguf([_kv("general.alignment", 4, 12)], [_T], bytes(20)), {}, "positive multiple of 8"),
    ("alignment 0", _gguf([_kv("general.alignment", 4, 0)], [_T], bytes(20)), {}, "positive multiple of 8"),
    ("alignment a string", _gguf([_kv("general.alignment", 8, "32")], [_T], bytes(20)), {}, "multiple of 8"),
]


@pytest.mark.parametrize("content, kwargs, match", [c[1:] for c in GGUF_HOSTILE], ids=[c[0] for c in GGUF_HOSTILE])
def test_hostile_gguf_files_are_refused(tmp_path, content, kwargs, match):
    path = tmp_path / "h.gguf"
    path.write_bytes(content)
    with _address_space_cap(), pytest.raises(MalformedFileError, match=PATH_ERROR) as err:
        read_gguf(path, **kwargs)
    assert match in str(err.value)


def test_a_valid_minimal_gguf_is_read(tmp_path):
    # the hostile cases above are one change away from this file, which must load
    (tmp_path / "ok.gguf").write_bytes(_gguf([_K], [_T], bytes(20)))
    f = read_gguf(tmp_path / "ok.gguf")
    assert f.metadata == {"general.architecture": "llama"} and f.tensors["w"].shape == (32,)
    (tmp_path / "none.gguf").write_bytes(_gguf())
    assert read_gguf(tmp_path / "none.gguf").tensors == {}


# ---------------------------------------------------------------------------------------------------------
# The real SmolLM2 file against the reference package
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def smollm2():
    path = verified_file(SMOLLM2)
    return read_gguf(path), gguf.GGUFReader(path)


def test_real_smollm2_metadata_matches_the_reference_reader(smollm2):
    ours, ref = smollm2
    keys = [k for k in ref.fields if not k.startswith("GGUF.")]
    assert list(ours.metadata) == keys and len(keys) == 33
    for key in keys:
        got, want = ours.metadata[key], ref.fields[key].contents()
        if isinstance(got, np.ndarray):
            assert got.tolist() == want, key
        else:
            assert got == want and type(got) is type(want), key
    assert len(ours.metadata["tokenizer.ggml.merges"]) == 48900 and ours.metadata["llama.block_count"] == 30


def test_real_smollm2_every_tensor_bit_for_bit(smollm2):
    ours, ref = smollm2
    assert list(ours.tensors) == [t.name for t in ref.tensors] and len(ref.tensors) == 272
    seen = set()
    for t in ref.tensors:
        info = ours.tensors[t.name]
        assert (info.offset, info.nbytes, info.ggml_type) == (t.data_offset, t.n_bytes, t.tensor_type.name)
        want = gguf.quants.dequantize(t.data, t.tensor_type)
        got = ours.tensor(t.name, np.float32)
        assert got.shape == want.shape == info.shape, t.name
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), t.name
        seen.add(info.ggml_type)
    assert seen == {"Q4_1", "Q8_0", "F32"}
    emb = ours.tensor("token_embd.weight")  # float64 by default, exactly the float32 values
    assert emb.dtype == np.float64 and emb.shape == (49152, 576)

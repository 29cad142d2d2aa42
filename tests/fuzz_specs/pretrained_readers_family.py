"""Specs: thermoref.pretrained's file readers (issue 14): safetensors, GGUF, dequantization.

The valid calls read tiny files written here (a few bytes, so that each of the many cases is fast); the extra bad
values add hostile files, which must be refused as ``path: ...`` (``MalformedFileError`` is a ``ValueError``).
"""

import json
import struct
import tempfile
from pathlib import Path

import numpy as np

import thermoref.pretrained

from . import spec

_DIR = tempfile.TemporaryDirectory(prefix="thermoref-fuzz-readers-")  # removed when the interpreter exits
_D = Path(_DIR.name)


def _name(module: str, name: str) -> str:
    """The canonical name: the package namespace once ``thermoref.pretrained`` exports it, else the module."""
    home = "thermoref.pretrained" if name in thermoref.pretrained.__all__ else f"thermoref.pretrained.{module}"
    return f"{home}.{name}"


def _file(name: str, content: bytes) -> str:
    (_D / name).write_bytes(content)
    return str(_D / name)


_HEADER = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}).encode()
_ST = _file("ok.safetensors", struct.pack("<Q", len(_HEADER)) + _HEADER + np.arange(4, dtype="<f4").tobytes())
_ST_BAD = [("empty file", _file("empty.bin", b"")),
           ("header length 2**64 - 1", _file("huge.safetensors", b"\xff" * 8 + b"{}")),
           ("offsets outside the buffer", _file("off.safetensors", struct.pack("<Q", len(_HEADER)) + _HEADER
                                                + bytes(8))),
           ("a directory", str(_D))]

# one Q4_1 block (d = 0.5, m = -1, codes 0..15 twice) and the GGUF v3 file that holds it as tensor "w" (ne [32])
_BLOCK = np.float16(0.5).tobytes() + np.float16(-1.0).tobytes() + bytes(range(0, 256, 17))
_KV = struct.pack("<Q", 20) + b"general.architecture" + struct.pack("<IQ", 8, 5) + b"llama"
_INFO = struct.pack("<Q", 1) + b"w" + struct.pack("<IQIQ", 1, 32, 3, 0)
_HEAD = b"GGUF" + struct.pack("<IQQ", 3, 1, 1) + _KV + _INFO
_GGUF = _file("ok.gguf", _HEAD + bytes(-len(_HEAD) % 32) + _BLOCK)
_GGUF_BAD = [("empty file", _file("empty.gguf", b"")),
             ("2**63 tensors", _file("count.gguf", b"GGUF" + struct.pack("<IQQ", 3, 2**63, 0))),
             ("version 2", _file("v2.gguf", b"GGUF" + struct.pack("<IQQ", 2, 0, 0))),
             ("a directory", str(_D))]


def _tiny_gguf():
    from thermoref.pretrained.gguf import read_gguf

    return read_gguf(_GGUF)


spec(_name("files", "MalformedFileError"), result_type=True)

spec(_name("safetensors", "read_safetensors"), args=dict(path=_ST, max_header_bytes=100 * 2**20),
     extra={"path": _ST_BAD})
spec(_name("safetensors", "safetensors_metadata"), args=dict(path=_ST), extra={"path": _ST_BAD})

spec(_name("gguf", "GGUFTensor"), result_type=True)
spec(_name("gguf", "GGUFFile"), result_type=True)
spec(_name("gguf", "GGUFFile") + ".raw", make=_tiny_gguf, args=dict(name="w"),
     extra={"name": [("a missing name", "v"), ("bytes", b"w")]})
spec(_name("gguf", "GGUFFile") + ".tensor", make=_tiny_gguf, args=dict(name="w", dtype=np.float64),
     extra={"name": [("a missing name", "v")],
            "dtype": [("float16", np.float16), ("int32", np.int32), ("a dtype string", "float16"),
                      ("bool", True), ("a dtype instance", np.dtype("complex128"))]})
spec(_name("gguf", "read_gguf"), args=dict(path=_GGUF, max_string_bytes=2**24, max_array_length=2**22),
     extra={"path": _GGUF_BAD})
spec(_name("gguf", "dequantize"), args=dict(data=_BLOCK, ggml_type="Q4_1", shape=(1, 32)),
     extra={"data": [("too few bytes", _BLOCK[:-1]), ("int16 array", np.zeros(10, np.int16)),
                     ("a NaN scale", np.float16(np.nan).tobytes() + _BLOCK[2:]),
                     ("an infinite minimum", _BLOCK[:2] + np.float16(np.inf).tobytes() + _BLOCK[4:]),
                     ("a float array", np.zeros(20))],
            "ggml_type": [("an unsupported type", "Q4_K"), ("lower case", "q4_1")],
            "shape": [("a last axis of 16", (2, 16)), ("a negative dimension", (-1, 32)),
                      ("an overflowing product", (2**62, 2**62, 32)), ("booleans", (True, 32)),
                      ("a 2-d array", np.ones((2, 2), int)), ("a huge zero-size shape", (0, 2**63, 32))]})

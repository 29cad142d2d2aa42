"""Specs: thermoref.pretrained's tokenizers (issue 14): WordPiece, byte-level BPE, their encode/decode.

The valid calls use tiny vocabularies (BERT's own test vocabulary; the 256 GPT-2 byte characters plus a merge and
a control token), so that each of the many cases is fast. The classmethods ``from_file`` / ``from_gguf`` are not
walked by the harness; ``tests/test_pretrained_tokenizers.py`` gives them bad files and bad metadata.
"""

import numpy as np

import thermoref.pretrained

from . import spec


def _name(name: str) -> str:
    """The canonical name: the package namespace once ``thermoref.pretrained`` exports it, else the module."""
    home = "thermoref.pretrained" if name in thermoref.pretrained.__all__ else "thermoref.pretrained.tokenizers"
    return f"{home}.{name}"


_VOCAB = ["[UNK]", "[CLS]", "[SEP]", "[MASK]", "want", "##want", "##ed", "wa", "un", "runn", "##ing", ","]
_BYTES = [chr(b) for b in [*range(33, 127), *range(161, 173), *range(174, 256)]] + [chr(256 + n) for n in range(68)]
_TOKENS = _BYTES + ["Ġt", "<|im_start|>"]
_TYPES = np.array([1] * 257 + [3])
# Bad values beyond the generic ones: strings that are not a vocabulary entry, lists with a non-string.
_NOT_IN_VOCAB = [("token not in the vocabulary", "[NOPE]"), ("empty string", "")]
_BAD_LIST = [("list with a non-string", ["a", 3]), ("a bytes object", b"abc")]


def _wordpiece():
    from thermoref.pretrained.tokenizers import WordPieceTokenizer

    return WordPieceTokenizer(_VOCAB)


def _bpe():
    from thermoref.pretrained.tokenizers import ByteBPETokenizer

    return ByteBPETokenizer(_TOKENS, ["Ġ t"], token_types=_TYPES, bos_id=257, add_bos=True)


spec(_name("Tokenization"), result_type=True)
spec(_name("WordPieceTokenizer"),
     args=dict(vocab=_VOCAB, lowercase=True, strip_accents=None, unk_token="[UNK]", cls_token="[CLS]",
               sep_token="[SEP]", added_tokens=("[MASK]",), max_input_chars_per_word=100),
     extra={"vocab": _BAD_LIST + [("duplicate entries", ["a", "a"]), ("empty vocabulary", [])],
            "added_tokens": _BAD_LIST,
            "strip_accents": [("int", 1), ("string", "yes")],
            **{k: _NOT_IN_VOCAB for k in ("unk_token", "cls_token", "sep_token")}})
spec(_name("WordPieceTokenizer") + ".encode", make=_wordpiece,
     args=dict(text="UNwant\u00e9d,running [MASK]", special_tokens=True),
     extra={"text": [("bytes", b"abc"), ("lone surrogate", "a\ud800b"), ("control characters only", "\x00\x05"),
                     ("a word over the length limit", "x" * 1000)]})
spec(_name("ByteBPETokenizer"),
     args=dict(tokens=_TOKENS, merges=["Ġ t"], token_types=_TYPES, pre="smollm", bos_id=257, eos_id=0,
               add_bos=True, add_eos=False),
     extra={"tokens": _BAD_LIST + [("duplicate entries", ["a", "a"]), ("no tokens", [])],
            "merges": _BAD_LIST + [("merge without a space", ["Ġt"]), ("merge of unknown tokens", ["x y"]),
                                   ("merge whose result is not a token", ["a b"]), ("two spaces", ["Ġ t x"])],
            "token_types": [("wrong length", np.ones(3, dtype=np.int64)), ("type 7", np.full(258, 7)),
                            ("bool", np.ones(258, dtype=bool)), ("list of floats", [1.0] * 258)],
            "pre": [("another GGUF pre-tokenizer", "llama3")]})
spec(_name("ByteBPETokenizer") + ".encode", make=_bpe,
     args=dict(text="<|im_start|>the 12 café \U0001f642", special_tokens=True),
     extra={"text": [("bytes", b"abc"), ("lone surrogate", "a\ud800b"), ("only control tokens", "<|im_start|>" * 3)]})
spec(_name("ByteBPETokenizer") + ".decode", make=_bpe,
     args=dict(ids=np.array([257, 83, 256, 0])),
     extra={"ids": [("bool ids", np.array([True, False])), ("id = vocab_size", [258]), ("nested list", [[1, 2]]),
                    ("list with a float", [1, 2.5])]})

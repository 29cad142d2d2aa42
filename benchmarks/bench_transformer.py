"""Benchmark: the NumPy transformer's training and inference throughput, against the same model in PyTorch CPU.

Workload (issue 11): ``thermoref.transformer`` with vocabulary 16, context 32, width 64, 2 layers, 4 heads
(MLP 4x, 103 168 parameters), on batches of 64 sequences of the ``copy`` task (16 symbols, separator, the 16
symbols again: 32 input tokens, the last 16 scored), so one step sees 64 x 32 = 2048 tokens.

Methods (every timing end to end; interleaved in one run by ``_common.Timer``, minimum and median over rounds,
ratios from the minima of the same run):

* training, one step = forward + backward + clipping to global norm 1 + AdamW (lr 1e-3, weight decay 0.01 on
  the matrices only), timed over ``--steps`` steps per call on pre-drawn batches:
  ``numpy``: :func:`thermoref.transformer.loss_and_grad`, :func:`~thermoref.transformer.clip_grad_norm`,
  :class:`~thermoref.transformer.AdamW`; ``torch``: the same model written here in PyTorch (explicit masked
  softmax attention, autograd, ``clip_grad_norm_``, ``torch.optim.AdamW`` with the same parameter groups);
  ``torch sdpa``: the same with ``F.scaled_dot_product_attention(is_causal=True)``, PyTorch's fused kernel.
  The target is judged against the faster PyTorch variant.
* inference, one call = logits of the whole (64, 32) batch: ``numpy exact``
  (:func:`thermoref.transformer.forward`), ``numpy sampled K=16 (exact)`` and ``(gumbel)`` (the same with
  ``seam=AttentionSeam(16, backend=...)``: every head of every layer draws 16 keys per query), and ``torch``
  (``torch.no_grad`` forward) for reference.

Both dtypes are timed (float64, the package default, and float32, allowed for training speed). Before timing,
the PyTorch model is loaded with the NumPy parameters and checked to compute the same function: float64 logits
agree to 1e-12 relative (the run stops otherwise), and the loss, every gradient and the parameters after
``--steps`` training steps (same clipping and optimizer) are compared; float32 logits are compared to float32
resolution.

Threads: the NumPy side runs with the BLAS threads the machine gives by default (``OPENBLAS_NUM_THREADS`` if
set; read back with threadpoolctl when installed), and PyTorch is set to the same count
(``torch.set_num_threads``); both are printed and stored. Elementwise NumPy work runs on one core either way.

Targets (issue 11): NumPy training throughput >= 0.5x PyTorch CPU's; sampled inference at K = 16 within 3x of
exact inference.

PyTorch is never a dependency of thermoref; run this from an environment that has it (see
``benchmarks/README.md``). Without PyTorch the script says so and measures the NumPy side only.

Usage::

    python benchmarks/bench_transformer.py [--rounds 5] [--steps 5] [--infer-reps 10] [--dtype float64 float32]
    python benchmarks/bench_transformer.py --profile [--dtype float64]   # cProfile of NumPy training steps
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import io
import math
import os
import pstats

import numpy as np
from _common import Timer, compare, progress, write_results

from thermoref.transformer import (AdamW, AttentionSeam, TransformerConfig, clip_grad_norm, forward, get_task,
                                   init_params, loss_and_grad, make_batch)

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the NumPy side is measured alone
    torch = None

BATCH, CONTEXT, WIDTH, LAYERS, HEADS, SYMBOLS = 64, 32, 64, 2, 4, 15
K_SAMPLES = 16
LR, WEIGHT_DECAY, CLIP = 1e-3, 0.01, 1.0
CFG = TransformerConfig(vocab_size=SYMBOLS + 1, context=CONTEXT, d_model=WIDTH, n_heads=HEADS, n_layers=LAYERS)
TASK = get_task("copy", length=CONTEXT // 2, n_symbols=SYMBOLS)  # 2L + 1 = 33 tokens: 32 inputs


# ------------------------------------------------------------------------------------------ the PyTorch model
def torch_forward(tp: dict, tokens, cfg: TransformerConfig, *, sdpa: bool = False):
    """Logits (B, T, V) of the model of ``thermoref.transformer.forward``, in PyTorch, from parameters ``tp``.

    Same layout as ``thermoref.transformer.param_shapes``: row vectors (``y = x W + b``), ``w_qkv`` columns
    ``[q | k | v]`` with head h in columns ``h*d_h:(h+1)*d_h`` of each third, pre-norm blocks, exact (erf)
    GELU, final LayerNorm, head tied to the token embedding.
    """
    B, T = tokens.shape
    D, H = cfg.d_model, cfg.n_heads
    dh = D // H
    x = tp["wte"][tokens] + tp["wpe"][:T]  # (B, T, D)
    future = torch.ones(T, T, dtype=torch.bool).triu(1)  # (T, T): key after query
    for layer in range(cfg.n_layers):
        p = f"blocks.{layer}."
        u = F.layer_norm(x, (D,), tp[p + "ln_1.g"], tp[p + "ln_1.b"], cfg.ln_eps).reshape(B * T, D)
        qkv = torch.addmm(tp[p + "attn.b_qkv"], u, tp[p + "attn.w_qkv"]).view(B, T, 3, H, dh)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # 3 x (B, H, T, d_h)
        if sdpa:
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, d_h)
        else:
            ell = (q @ k.transpose(-1, -2)) / math.sqrt(dh)  # (B, H, T, T)
            o = torch.softmax(ell.masked_fill(future, -math.inf), dim=-1) @ v  # (B, H, T, d_h)
        y = o.transpose(1, 2).reshape(B * T, D)  # (B T, D)
        x = x + torch.addmm(tp[p + "attn.b_out"], y, tp[p + "attn.w_out"]).view(B, T, D)
        u2 = F.layer_norm(x, (D,), tp[p + "ln_2.g"], tp[p + "ln_2.b"], cfg.ln_eps).reshape(B * T, D)
        hidden = F.gelu(torch.addmm(tp[p + "mlp.b_in"], u2, tp[p + "mlp.w_in"]))  # (B T, rD), erf GELU
        x = x + torch.addmm(tp[p + "mlp.b_out"], hidden, tp[p + "mlp.w_out"]).view(B, T, D)
    z = F.layer_norm(x, (D,), tp["ln_f.g"], tp["ln_f.b"], cfg.ln_eps)  # (B, T, D)
    return z @ tp["wte"].T  # (B, T, V)


def torch_params(params: dict, requires_grad: bool) -> dict:
    return {k: torch.tensor(v).requires_grad_(requires_grad) for k, v in params.items()}


def torch_targets(batch) -> "torch.Tensor":
    """Targets with the unscored positions set to -100 (ignored): cross_entropy's mean is over the mask."""
    return torch.from_numpy(np.where(batch.mask, batch.targets, -100))


def torch_loss(tp, tokens, targets, cfg, sdpa=False):
    logits = torch_forward(tp, tokens, cfg, sdpa=sdpa)  # (B, T, V)
    return F.cross_entropy(logits.reshape(-1, cfg.vocab_size), targets.reshape(-1), ignore_index=-100)


class TorchTrainer:
    """One PyTorch training step: forward, backward, clipping, AdamW with decay on the matrices only."""

    def __init__(self, params, cfg, batches, sdpa):
        self.tp = torch_params(params, True)
        decay = [t for t in self.tp.values() if t.ndim == 2]
        rest = [t for t in self.tp.values() if t.ndim != 2]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                                      {"params": rest, "weight_decay": 0.0}], lr=LR, eps=1e-8)
        self.cfg, self.sdpa = cfg, sdpa
        self.data = [(torch.from_numpy(b.tokens), torch_targets(b)) for b in batches]

    def run(self):
        for tokens, targets in self.data:
            self.opt.zero_grad(set_to_none=True)
            loss = torch_loss(self.tp, tokens, targets, self.cfg, self.sdpa)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.tp.values(), CLIP)
            self.opt.step()
        return loss.item()


class NumpyTrainer:
    """One thermoref training step: loss_and_grad, clip_grad_norm, AdamW.step."""

    def __init__(self, params, cfg, batches):
        self.params = copy.deepcopy(params)
        self.opt = AdamW(self.params, lr=LR, weight_decay=WEIGHT_DECAY)
        self.cfg, self.batches = cfg, batches

    def run(self):
        for b in self.batches:
            loss, grads = loss_and_grad(self.params, b.tokens, b.targets, self.cfg, mask=b.mask)
            grads, _ = clip_grad_norm(grads, CLIP)
            self.opt.step(self.params, grads)
        return loss


# --------------------------------------------------------------------------------------------- agreement
def rel_err(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), np.finfo(float).tiny))


def check_agreement(params64: dict, batches: list) -> dict:
    """Both implementations on the same parameters: logits, loss, gradients and a few training steps (float64),
    logits (float32)."""
    out = {}
    batch = batches[0]
    tokens_t = torch.from_numpy(batch.tokens)
    logits_np = forward(params64, batch.tokens, CFG)  # (B, T, V)
    tp = torch_params(params64, True)
    for name, sdpa in (("torch", False), ("torch sdpa", True)):
        with torch.no_grad():
            out[f"float64 logits rel err ({name})"] = rel_err(torch_forward(tp, tokens_t, CFG, sdpa=sdpa).numpy(),
                                                              logits_np)
    loss_np, grads_np = loss_and_grad(params64, batch.tokens, batch.targets, CFG, mask=batch.mask)
    loss_t = torch_loss(tp, tokens_t, torch_targets(batch), CFG)
    loss_t.backward()
    out["float64 loss rel err"] = abs(loss_np - loss_t.item()) / abs(loss_t.item())
    errs = {k: rel_err(grads_np[k], tp[k].grad.numpy()) for k in params64}
    worst = max(errs, key=errs.get)
    out["float64 gradient rel err (worst block)"] = errs[worst]
    out["float64 gradient worst block"] = worst
    params32 = {k: v.astype(np.float32) for k, v in params64.items()}
    with torch.no_grad():
        l32 = torch_forward(torch_params(params32, False), tokens_t, CFG).numpy()
    out["float32 logits rel err (torch)"] = rel_err(forward(params32, batch.tokens, CFG), l32)
    out["float32 logits rel err (numpy float32 vs float64)"] = rel_err(forward(params32, batch.tokens, CFG),
                                                                       logits_np)
    out["numpy float32 forward: logits dtype"] = str(forward(params32, batch.tokens, CFG).dtype)
    ours, theirs = NumpyTrainer(params64, CFG, batches), TorchTrainer(params64, CFG, batches, sdpa=False)
    ours.run(), theirs.run()  # the same optimizer: clipping, AdamW, decay on the matrices only
    # Adam's update m / (sqrt(v) + eps) is nearly scale-free in g, so the rounding of a tiny gradient entry moves
    # its update by a relative amount that is not small: compare in units of the largest possible move, lr * steps
    out[f"float64 params after {len(batches)} steps: max |diff| / (lr steps)"] = max(
        float(np.max(np.abs(ours.params[k] - theirs.tp[k].detach().numpy()))) for k in params64) / (LR * len(batches))
    return out


def blas_threads() -> tuple[int, str]:
    """The BLAS threads NumPy uses here (threadpoolctl if installed, else the environment, else the cores)."""
    try:
        from threadpoolctl import threadpool_info
        pools = [p for p in threadpool_info()
                 if p.get("user_api") == "blas" and "numpy" in os.path.basename(os.path.dirname(p["filepath"]))]
        if pools:
            return int(pools[0]["num_threads"]), f"{pools[0]['internal_api']} (threadpoolctl)"
    except ImportError:
        pass
    env = os.environ.get("OPENBLAS_NUM_THREADS")
    return (int(env), "OPENBLAS_NUM_THREADS") if env else (os.cpu_count() or 1, "cpu_count (assumed default)")


# ------------------------------------------------------------------------------------------------- main
def profile_numpy(dtype, steps):
    params = init_params(CFG, rng=0, dtype=dtype)
    batches = [make_batch(TASK, BATCH, rng=100 + s) for s in range(steps)]
    trainer = NumpyTrainer(params, CFG, batches)
    trainer.run()  # warm-up
    prof = cProfile.Profile()
    prof.enable()
    trainer.run()
    prof.disable()
    s = io.StringIO()
    pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(25)
    print(f"cProfile of {steps} NumPy training steps ({np.dtype(dtype).name}), by own time:\n{s.getvalue()}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="training steps per timed call")
    parser.add_argument("--infer-reps", type=int, default=10, help="forward passes per timed inference call")
    parser.add_argument("--dtype", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    parser.add_argument("--profile", action="store_true", help="profile the NumPy training step and exit")
    args = parser.parse_args(argv)
    if args.profile:
        for dt in args.dtype:
            profile_numpy(np.dtype(dt), args.steps)
        return

    n_threads, source = blas_threads()
    tokens_per_step = BATCH * (TASK.seq_len - 1)
    progress(f"bench_transformer: vocab {CFG.vocab_size}, context {CONTEXT}, width {WIDTH}, {LAYERS} layers, "
             f"{HEADS} heads, {CFG.n_params} parameters; batch {BATCH} x {TASK.seq_len - 1} = {tokens_per_step} "
             f"tokens per step; dtypes {args.dtype}; {args.rounds} interleaved rounds of {args.steps} training "
             f"steps / {args.infer_reps} forward passes")
    threads = {"numpy_blas_threads": n_threads, "numpy_blas_threads_source": source}
    if torch is None:
        progress("PyTorch is not installed here: measuring the NumPy side only (see benchmarks/README.md)")
    else:
        torch.set_num_threads(n_threads)
        threads.update(torch_version=torch.__version__, torch_num_threads=torch.get_num_threads(),
                       torch_interop_threads=torch.get_num_interop_threads())
    threads["load_average_at_start"] = os.getloadavg()[0]
    progress(f"threads: {threads}")

    batches = [make_batch(TASK, BATCH, rng=100 + s) for s in range(args.steps)]
    agreement = {}
    if torch is not None:
        base = init_params(CFG, rng=0)
        rng = np.random.default_rng(1)  # perturb so that LayerNorm gains, biases and positions all matter
        perturbed = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in base.items()}
        agreement = check_agreement(perturbed, batches)
        print("agreement of the two implementations (max |difference| / max |reference|):")
        for k, v in agreement.items():
            print(f"  {k:52s} {v:.2e}" if isinstance(v, float) else f"  {k:52s} {v}")
        if not agreement["float64 logits rel err (torch)"] <= 1e-12:
            raise SystemExit("the PyTorch model does not compute the NumPy model's function: not timing it")

    train, infer = Timer("training", rounds=args.rounds), Timer("inference", rounds=args.rounds)
    gen = np.random.default_rng(7)
    tokens = batches[0].tokens
    for dt in args.dtype:
        params = init_params(CFG, rng=0, dtype=dt)
        train.add(f"numpy {dt}", NumpyTrainer(params, CFG, batches).run)
        if torch is not None:
            train.add(f"torch {dt}", TorchTrainer(params, CFG, batches, sdpa=False).run)
            train.add(f"torch sdpa {dt}", TorchTrainer(params, CFG, batches, sdpa=True).run)

        def reps(fn):
            def run():
                for _ in range(args.infer_reps):
                    fn()
            return run

        infer.add(f"numpy exact {dt}", reps(lambda p=params: forward(p, tokens, CFG)))
        for backend in ("exact", "gumbel"):
            seam = AttentionSeam(K_SAMPLES, backend=backend)
            infer.add(f"numpy sampled K={K_SAMPLES} ({backend}) {dt}",
                      reps(lambda p=params, s=seam: forward(p, tokens, CFG, seam=s, rng=gen)))
        if torch is not None:
            tp, tt = torch_params(params, False), torch.from_numpy(tokens)

            def torch_infer(tp=tp, tt=tt):
                with torch.no_grad():
                    torch_forward(tp, tt, CFG)
            infer.add(f"torch exact {dt}", reps(torch_infer))
    stats = {"training": train.run(), "inference": infer.run()}
    threads["load_average_at_end"] = os.getloadavg()[0]
    progress(f"1-minute load average: {threads['load_average_at_start']:.1f} at start, "
             f"{threads['load_average_at_end']:.1f} at end, on {os.cpu_count()} cores")

    per_call = {"training": args.steps, "inference": args.infer_reps}
    rates = {}
    print(f"\n{'method':40s}{'min [ms]':>10s}{'median [ms]':>13s}{'tokens/s':>12s}   (per step / per forward)")
    for kind, table in stats.items():
        for name, s in table.items():
            t_min, t_med = s["min"] / per_call[kind], s["median"] / per_call[kind]
            rates[f"{kind}: {name}"] = tokens_per_step / t_min
            print(f"{kind[:5] + ' ' + name:40s}{1e3 * t_min:10.2f}{1e3 * t_med:13.2f}{tokens_per_step / t_min:12,.0f}")

    ratios, targets = {}, {}
    for dt in args.dtype:
        t_np = stats["training"][f"numpy {dt}"]["min"]
        if torch is not None:
            t_eager, t_sdpa = (stats["training"][f"{n} {dt}"]["min"] for n in ("torch", "torch sdpa"))
            ratios[f"training {dt}: numpy / torch (tokens/s)"] = t_eager / t_np
            ratios[f"training {dt}: numpy / torch sdpa (tokens/s)"] = t_sdpa / t_np
            best = min(t_eager, t_sdpa)
            targets[f"training {dt}: numpy >= 0.5x faster PyTorch"] = (best / t_np, best / t_np >= 0.5)
            ratios[f"inference {dt}: numpy exact / torch (tokens/s)"] = (
                stats["inference"][f"torch exact {dt}"]["min"] / stats["inference"][f"numpy exact {dt}"]["min"])
        t_exact = stats["inference"][f"numpy exact {dt}"]["min"]
        for backend in ("exact", "gumbel"):
            r = stats["inference"][f"numpy sampled K={K_SAMPLES} ({backend}) {dt}"]["min"] / t_exact
            ratios[f"inference {dt}: sampled K={K_SAMPLES} ({backend}) / exact (time)"] = r
            targets[f"inference {dt}: sampled ({backend}) <= 3x exact"] = (r, r <= 3.0)
    print("\nratios (of minima, this run):")
    for label, r in ratios.items():
        print(f"  {label:58s} {r:6.2f}")
    print("\ntargets (issue 11):")
    for label, (r, met) in targets.items():
        print(f"  {label:58s} {r:6.2f}  {'met' if met else 'NOT met'}")
    rows = []
    sizes = {"batch": BATCH, "context": CONTEXT, "width": WIDTH, "layers": LAYERS, "heads": HEADS,
             "tokens_per_step": tokens_per_step}
    for dt in args.dtype:
        if torch is not None:
            for peer in ("torch", "torch sdpa"):
                rows.append(compare(f"training {dt}: numpy vs {peer}", sizes | {"dtype": dt}, stats["training"],
                                    subject=f"numpy {dt}", baseline=f"{peer} {dt}", kind="peer", peer="torch",
                                    per_call=args.steps, unit="s per training step",
                                    note="one step = forward + backward + clipping + AdamW; "
                                         f"{threads['numpy_blas_threads']} BLAS thread(s) on both sides"))
            rows.append(compare(f"inference {dt}: numpy exact vs torch", sizes | {"dtype": dt}, stats["inference"],
                                subject=f"numpy exact {dt}", baseline=f"torch exact {dt}", kind="peer", peer="torch",
                                per_call=args.infer_reps, unit="s per forward pass"))
        for backend in ("exact", "gumbel"):
            rows.append(compare(f"inference {dt}: sampled K={K_SAMPLES} ({backend}) vs exact",
                                sizes | {"dtype": dt, "K": K_SAMPLES}, stats["inference"],
                                subject=f"numpy sampled K={K_SAMPLES} ({backend}) {dt}", baseline=f"numpy exact {dt}",
                                kind="thermoref", per_call=args.infer_reps, unit="s per forward pass",
                                note="sampled attention against exact attention in the same NumPy model"))
    write_results("bench_transformer", rows, notes=[
        f"{args.rounds} interleaved rounds of {args.steps} training steps / {args.infer_reps} forward passes",
        "PyTorch eager and scaled_dot_product_attention on the CPU, loaded with the NumPy parameters and "
        "checked to agree before timing (details.agreement)"] if torch is not None else [
        f"{args.rounds} interleaved rounds; PyTorch not installed: NumPy rows only"], details={
        "workload": {"config": CFG.__dict__ | {"n_params": CFG.n_params}, "task": "copy", "batch": BATCH,
                     "tokens_per_step": tokens_per_step, "K": K_SAMPLES, "dtypes": args.dtype,
                     "steps_per_call": args.steps, "forwards_per_call": args.infer_reps,
                     "optimizer": {"lr": LR, "weight_decay": WEIGHT_DECAY, "clip": CLIP}},
        "threads": threads,
        "agreement": agreement,
        "timings": stats,
        "tokens_per_second": rates,
        "ratios": ratios,
        "targets_met": {label: bool(met) for label, (_, met) in targets.items()},
    })


if __name__ == "__main__":
    main()

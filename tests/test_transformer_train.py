"""Training the task models and the shipped weights: reproducibility, learning, the weights file, the CLI.

Oracles: ``hashlib`` on the raw file bytes (for the digests), ``numpy.savez`` (an independent writer of the
weights format, for the malformed files), plain-Python integer arithmetic and the documented held-out rule (to
enumerate all 1000 held-out additions), SciPy's beta quantiles (Clopper-Pearson bounds), and ln V / ln n for the
losses a model that ignores its context can reach.

Statistical test of the shipped models (copy, sort): statistic k = number of fresh held-out sequences with some
wrong answer token among n = 4000 (a stream no training or report uses), k ~ Binomial(n, 1 - EM) (sequences are
independent). The test passes when the one-sided Clopper-Pearson lower bound on EM at level 1 - 1e-3 is
>= 0.995, i.e. k <= 7. A sequence's fraction of right answer tokens is >= its exact-match indicator, so
EM <= per-token accuracy, and a model whose per-token accuracy is below 0.995 passes with probability <= 1e-3
(the false-claim rate). Power: a model with EM = 0.9995 passes with probability P(Binomial(4000, 5e-4) <= 7)
= 0.9989. Measured on 20 000 other held-out sequences: copy 0 and add 0 wrong sequences, sort 8 (EM 0.9996,
per-token accuracy 0.99995), for which the test fails with probability P(Binomial(4000, 4e-4) > 7) = 2.6e-4.
``add`` has only 1000 held-out problems: all of them are scored, so its exact match is computed, not estimated.
"""

from __future__ import annotations

import hashlib
import math
import pathlib
import shutil

import numpy as np
import pytest
from scipy.stats import beta, binom

from thermoref.__main__ import main
from thermoref.transformer import forward, get_task, make_batch, task_seeds
from thermoref.transformer import shipped
from thermoref.transformer.shipped import SHA256, load_pretrained, save_weights
from thermoref.transformer.training import RECIPES, TrainResult, lr_schedule, train

ALPHA = 1e-3
N_SEQ = 4000
WEIGHTS = pathlib.Path(shipped.__file__).parent / "weights"


def short(seed: int, **kw) -> TrainResult:
    return train("copy", seed=seed, n_steps=kw.pop("n_steps", 3), batch_size=kw.pop("batch_size", 8),
                 n_eval=kw.pop("n_eval", 16), **kw)


# ------------------------------------------------------------------------------------------- reproducibility
def test_same_seed_same_bits_other_seed_other_bits():
    a, b, c = short(7), short(7), short(8)
    assert np.array_equal(a.losses, b.losses)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert (a.eval_accuracy, a.eval_exact_match) == (b.eval_accuracy, b.eval_exact_match)
    assert not np.array_equal(a.losses, c.losses)
    assert all(not np.array_equal(a.params[k], c.params[k]) for k in a.params if a.params[k].ndim == 2)


def test_the_schedule_warms_up_then_decays_to_the_floor():
    N, eta, r = 101, 2e-3, 0.1
    rates = lr_schedule(np.arange(N), N, eta, warmup=0.05, min_lr_ratio=r)
    W = 5  # round(0.05 * 101)
    assert np.allclose(rates[:W], eta * np.arange(1, W + 1) / W, rtol=0, atol=1e-18)
    assert rates[W - 1] == eta and np.all(np.diff(rates[W - 1:]) < 0)
    assert rates[-1] == r * eta  # cos(pi) = -1 exactly: the last step sits on the floor
    assert math.isclose(rates[52], (1 + r) * eta / 2, rel_tol=1e-12)  # half way: (52 + 1 - W) / (N - W) = 1/2


def test_training_loss_falls_below_what_ignoring_the_context_allows():
    """80 steps of the copy model at batch 16 and peak rate 1e-2 (deterministic; about 1 s).

    At initialization the loss is ln 11 = 2.398 (near-uniform logits over V = 11 ids). A model that ignores the
    prompt can at best learn the answer's marginal, uniform on 10 symbols, whose cross-entropy is exactly
    ln 10 = 2.303 on every batch. The mean of the last 10 losses of this run, measured for seeds 0-9:
    0.36 (seed 0), 1.02, 0.45, 1.45, 0.65, 1.19, 1.11, 1.74, 1.21, 0.41. The threshold 2.0 lies above the worst
    of ten seeds (another BLAS's rounding perturbs the trajectory no more than a new seed does) and 0.3 nats
    below ln 10, so passing proves that the model reads the prompt, i.e. attends back.
    """
    r = short(0, n_steps=80, batch_size=16, lr=1e-2)
    assert abs(r.losses[0] - math.log(11)) < 0.05
    assert r.losses[-10:].mean() < 2.0  # ln 10 - 0.30


def test_a_sampled_seam_trains_reproducibly_and_differs_from_exact():
    from thermoref.transformer import AttentionSeam

    seam = AttentionSeam(4, backend="gumbel")
    a, b, exact = short(1, seam=seam), short(1, seam=seam), short(1)
    assert np.array_equal(a.losses, b.losses)
    assert a.losses[0] != exact.losses[0]  # the first forward pass already samples


@pytest.mark.parametrize("bad, match", [
    (dict(lr=2.0), "lr: must lie in"), (dict(n_steps=0), "n_steps: must be >= 1"),
    (dict(seed=-1), "seed: must be >= 0"), (dict(progress=3), "progress: expected a callable"),
])
def test_bad_arguments_are_named(bad, match):
    kw = dict(seed=0, n_steps=2, batch_size=4, n_eval=4) | bad
    with pytest.raises((ValueError, TypeError), match=match):
        train("copy", **kw)


# -------------------------------------------------------------------------------------------- weights files
@pytest.mark.parametrize("task", ["copy", "sort", "add"])
def test_shipped_files_match_their_digests_and_are_small(task):
    data = (WEIGHTS / f"{task}.npz").read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHA256[task]
    assert len(data) < 2**20


def test_save_then_load_round_trips_bit_for_bit(tmp_path):
    r = short(2)
    digest = save_weights(tmp_path / "w.npz", r)
    assert digest == hashlib.sha256((tmp_path / "w.npz").read_bytes()).hexdigest()
    assert save_weights(tmp_path / "again.npz", r) == digest  # same result, same bytes
    config, params, meta = load_pretrained("copy", tmp_path / "w.npz", sha256=digest, metadata=True)
    assert config == r.config and all(np.array_equal(params[k], r.params[k]) for k in r.params)
    assert meta["seed"] == 2 and meta["n_steps"] == 3 and np.array_equal(meta["losses"], r.losses)
    assert meta["recipe"]["batch_size"] == 8 and meta["eval_accuracy"] == r.eval_accuracy


def test_a_tampered_copy_is_refused(tmp_path, monkeypatch):
    data = bytearray((WEIGHTS / "copy.npz").read_bytes())
    data[len(data) // 2] ^= 1  # one bit inside some parameter's data
    bad = tmp_path / "copy.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="^path: sha256 of .* expected " + SHA256["copy"]):
        load_pretrained("copy", bad, sha256=SHA256["copy"])
    monkeypatch.setattr(shipped, "_shipped_path", lambda task: str(bad))  # the installed file replaced
    with pytest.raises(ValueError, match="^task: sha256 of .*the shipped copy weights were modified"):
        load_pretrained("copy")


def test_a_foreign_task_file_is_refused():
    with pytest.raises(ValueError, match="^task: the file holds weights for 'copy', not 'sort'"):
        load_pretrained("sort", WEIGHTS / "copy.npz")


def _savez(path, members):
    np.savez(path, **members)  # numpy's own writer: an independent producer of the format
    return path


@pytest.mark.parametrize("edit, match", [
    pytest.param(lambda m: m.pop("param.ln_f.b"), r"^path: missing parameter\(s\) \['ln_f.b'\]", id="missing"),
    pytest.param(lambda m: m.update({"param.extra": np.zeros(3)}), r"^path: unexpected parameter\(s\) \['extra'\]",
                 id="extra"),
    pytest.param(lambda m: m.update({"param.wpe": np.zeros((3, 32))}),
                 r"^path: 'wpe' must have shape \(16, 32\), got \(3, 32\)", id="wrong-shape"),
    pytest.param(lambda m: m["param.wte"].__setitem__((0, 0), np.nan), "^path: 'wte' contains NaN", id="nan"),
    pytest.param(lambda m: m.update({"config.d_model": np.array(-4)}), "^path: the stored config is invalid",
                 id="bad-config"),
    pytest.param(lambda m: m.pop("task"), r"^path: not a thermoref weights file \(missing \['task'\]\)",
                 id="no-task"),
    pytest.param(lambda m: m.update({"recipe": np.array("[" * 60_000)}), r"^path: the stored recipe is not JSON",
                 id="nested-json"),
    pytest.param(lambda m: m.update({"seed": np.array(0.5)}), r"^path: member 'seed' must hold an integer",
                 id="float-seed"),
])
def test_malformed_files_are_refused_with_the_mismatch_named(tmp_path, edit, match):
    config, params, meta = load_pretrained("copy", metadata=True)
    with np.load(WEIGHTS / "copy.npz", allow_pickle=False) as z:
        members = {k: np.array(z[k]) for k in z.files}
    assert set(members) >= {"param." + k for k in params}
    _savez(tmp_path / "ok.npz", members)
    load_pretrained("copy", tmp_path / "ok.npz")  # numpy's writer is read back: the edit alone is refused
    edit(members)
    with pytest.raises(ValueError, match=match):
        load_pretrained("copy", _savez(tmp_path / "bad.npz", members))


def test_a_header_that_overstates_its_data_is_refused_before_allocation(tmp_path):
    """A member whose .npy header declares 10**9 x 32 float64 (256 GB) in a few bytes: refused from the header."""
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 32)})
    src = zipfile.ZipFile(WEIGHTS / "copy.npz")
    with zipfile.ZipFile(tmp_path / "big.npz", "w") as out:
        for info in src.infolist():
            data = header.getvalue() + bytes(64) if info.filename == "param.wte.npy" else src.read(info)
            out.writestr(info.filename, data)
    with pytest.raises(ValueError, match="^path: member 'param.wte' declares 256000000000 bytes of data but holds 64"):
        load_pretrained("copy", tmp_path / "big.npz")


def test_not_a_weights_file(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="^path: not a weights file"):
        load_pretrained("copy", tmp_path / "x.npz")
    with pytest.raises(ValueError, match="^path: no such file"):
        load_pretrained("copy", tmp_path / "missing.npz")
    data = bytearray((WEIGHTS / "copy.npz").read_bytes())
    data[len(data) // 2] ^= 1  # no digest claimed: the flipped bit is caught by the archive's CRC-32
    (tmp_path / "flipped.npz").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="^path: member '.*' cannot be read .*CRC"):
        load_pretrained("copy", tmp_path / "flipped.npz")


# ------------------------------------------------------------------------------------- the shipped models
@pytest.mark.parametrize("task", ["copy", "sort"])
def test_shipped_model_meets_its_target_on_fresh_sequences(task):
    config, params = load_pretrained(task)
    batch = make_batch(task, N_SEQ, rng=np.random.default_rng(task_seeds(20_261_203)[1]), split="eval")
    logits = np.concatenate([forward(params, batch.tokens[i:i + 500], config) for i in range(0, N_SEQ, 500)])
    right = np.argmax(logits, axis=-1) == batch.targets  # (n, T)
    failures = int((~np.all(right | ~batch.mask, axis=1)).sum())
    k_max = max(k for k in range(50) if beta.ppf(ALPHA, N_SEQ - k, k + 1) >= 0.995)
    assert k_max == 7 and binom.cdf(k_max, N_SEQ, 5e-4) > 0.998  # the test's size and power (docstring)
    assert failures <= k_max, f"{failures} of {N_SEQ} held-out sequences have a wrong answer token"


def test_shipped_adder_is_right_on_every_held_out_problem():
    pairs = [(a, b) for a in range(100) for b in range(100) if (37 * a + 91 * b) % 100 < 10]
    assert len(pairs) == 1000
    text = [f"{a:02d}+{b:02d}={str(a + b).zfill(3)[::-1]}" for a, b in pairs]  # reversed answer digits
    seq = np.array([[int(c) if c.isdigit() else {"+": 10, "=": 11}[c] for c in s] for s in text])  # (1000, 9)
    config, params = load_pretrained("add")
    pred = np.argmax(forward(params, seq[:, :-1], config), axis=-1)[:, -3:]  # (1000, 3) answer positions
    exact = np.all(pred == seq[:, -3:], axis=1)
    assert exact.mean() >= 0.99, f"exact match {exact.mean()} on the 1000 held-out additions"


# ------------------------------------------------------------------------------------------------------ CLI
def test_cli_trains_and_reports(tmp_path, capsys):
    out = tmp_path / "copy.npz"
    assert main(["train", "copy", "--seed", "0", "--steps", "3", "--eval", "64", "--out", str(out)]) == 0
    text = capsys.readouterr()
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert "step 3/3" in text.err and "tokens/s" in text.err
    for needle in ("per-token accuracy", "exact match", "Clopper-Pearson", "64 fresh sequences", "wall time",
                   f"sha256 {digest}", "equals the shipped copy weights: no"):
        assert needle in text.out, needle
    config, params = load_pretrained("copy", out, sha256=digest)
    assert config.d_model == RECIPES["copy"]["d_model"]

"""Specs: thermoref.decoding laws, schedules and noisy heads (issue 13, helper "laws").

Merge into tests/fuzz_specs/<decoding family>.py. ``_D`` is the documented home (the names are exported by
thermoref/decoding/__init__.py).
"""

import numpy as np

from . import spec

_D = "thermoref.decoding."
_L = np.array([1.3, -0.4, 2.1, 0.2, -1.5, 0.9])
_TR = dict(beta=1.2, top_k=4, top_p=0.9, min_p=0.05, counts=np.array([0.0, 1.0, 2.0, 0.0, 0.0, 1.0]),
           repetition_penalty=0.3)

# counts and logits are a shape pair: a wrong-shaped logits is reported as counts' mismatch with it
spec(_D + "decoding_logits", args=dict(logits=_L, **_TR), allow_inf=True, blame={"logits": ("counts",)})
spec(_D + "decoding_law", args=dict(logits=_L, **_TR), blame={"logits": ("counts",)})
spec(_D + "sample_decoding", args=dict(logits=_L, size=5, rng=0, backend=None, block_size=4, **_TR),
     blame={"logits": ("counts",)})
spec(_D + "decoding_rule", args=dict(schedule=np.array([0.5, 1.0]), top_k=4, top_p=0.9, min_p=0.05,
                                     repetition_penalty=0.3, relax=np.array([0.5, 1.0]), backend=None,
                                     block_size=None))
spec(_D + "beta_schedule", args=dict(kind="linear", n_steps=5, beta_start=0.2, beta_end=2.0))
spec(_D + "metropolis_kernel", args=dict(logits=_L, beta=0.7))
spec(_D + "annealed_law", args=dict(logits=_L, betas=np.array([0.2, 0.6, 1.0]), start=1),
     blame={"logits": ("start",)})
spec(_D + "sample_annealed", args=dict(logits=_L, betas=np.array([0.2, 0.6, 1.0]), size=4, start=1, rng=0),
     blame={"logits": ("start",)})
spec(_D + "gaussian_argmax_law", args=dict(logits=_L, sigma=0.8))
spec(_D + "noisy_argmax", args=dict(logits=_L, scale=0.8, size=4, noise="gaussian", rng=0))
spec(_D + "best_gaussian_sigma", args=dict(logits=_L[:3], beta=1.0, criterion="tv"), allow_inf=True)
spec(_D + "DacHeadError", result_type=True)
spec(_D + "dac_head_error", args=dict(logits=_L, bits=6, full_scale=3.0, beta=1.0))

# ---------------------------------------------------------------- negatives for sampled softmax

_D = "thermoref.decoding."
_LN = np.array([1.0, -0.5, 2.0, 0.3, -1.0, 0.7])


def _copy_model():
    from thermoref.transformer import load_pretrained, make_batch

    cfg, params = load_pretrained("copy")
    return cfg, params, make_batch("copy", 2, rng=0)


_CFG, _P, _B = _copy_model()

spec(_D + "NegativeLaw", result_type=True)
spec(_D + "SampledSoftmaxMoments", result_type=True)
spec(_D + "negative_law", args=dict(logits=_LN, target=2, K=2, beta=0.8, replace=False,
                                    proposal=np.array([5.0, 1.0, 3.0, 1.0, 2.0, 4.0])),
     blame={"logits": ("target", "proposal"), "target": ("logits",), "K": ("logits",)})
spec(_D + "sample_negatives", args=dict(logits=_LN, target=2, K=2, size=3, beta=0.8, replace=False,
                                        proposal=None, rng=0),
     blame={"logits": ("target",), "target": ("logits",)})
spec(_D + "sampled_softmax_loss", args=dict(logits=_LN, target=2, negatives=np.array([0, 1, 1]),
                                            log_expected_count=np.array([-0.5, 0.1, 0.1])),
     blame={"logits": ("target", "negatives"), "target": ("negatives",), "negatives": ("log_expected_count",)})
spec(_D + "sampled_softmax_moments", args=dict(logits=_LN, target=2, K=2, beta=0.8, replace=True,
                                               proposal="uniform", corrected=True),
     blame={"logits": ("target", "proposal"), "target": ("logits",)})
spec(_D + "expected_calibration_error", args=dict(probs=np.array([[0.85, 0.15], [0.38, 0.62]]),
                                                  labels=np.array([0, 0]), n_bins=5),
     blame={"probs": ("labels",)})
spec(_D + "contrastive_loss_and_grad", args=dict(params=_P, tokens=_B.tokens, targets=_B.targets, config=_CFG,
                                                 K=2, lam=0.5, rng=0, mask=_B.mask, proposal="uniform",
                                                 replace=True, corrected=True),
     blame={"tokens": ("targets", "mask"), "targets": ("mask",)}, timeout=10.0)
spec(_D + "contrastive_finetune", args=dict(params=_P, config=_CFG, task="copy", n_steps=1, lam=0.5, K=2, rng=0,
                                            lr=1e-3, batch_size=2, proposal=None, replace=True, corrected=True),
     timeout=10.0)

# ---------------------------------------------------------------- two-unit pipelines

_D = "thermoref.decoding."
_LP = np.array([1.3, -0.4, 2.1, -np.inf, -1.5, 0.9])


def _unit():
    from thermoref.backend import HalfVocabularyPipeline

    return HalfVocabularyPipeline()


spec(_D + "half_vocabulary_law", args=dict(logits=_LP, beta=0.8, draw=3))
spec(_D + "HalfVocabularyError", result_type=True)
spec(_D + "half_vocabulary_error", args=dict(logits=_LP, beta=0.8))
spec(_D + "AlternatingPipeline", args=dict(tau0=1.0, energy_per_update=1e-18))
spec(_D + "SplitVocabularyPipeline", args=dict(tau0=1.0, energy_per_update=1e-18))
spec(_D + "pipeline_rule", args=dict(unit=_unit(), beta=0.7),
     extra={"unit": [("an object without the methods", object()), ("a unit class", type(_unit()))]})
spec(_D + "PipelineTiming", result_type=True)
spec(_D + "pipeline_timing", args=dict(t_mix=10.0, t_read=1.0, t_partition=2.0, mix_exponent=1.0, heavier_half=0.7),
     extra={"heavier_half": [("below 1/2", 0.3)]})

# ---------------------------------------------------------------- softmax on binary p-bits

_D = "thermoref.decoding."
_L4 = np.array([0.7, -1.1, 1.6, 0.1])

spec(_D + "onehot_network", args=dict(logits=_L4, penalty=2.0))
spec(_D + "onehot_leak", args=dict(logits=np.stack([_L4, -_L4]), penalty=2.0, beta=1.1))
spec(_D + "OneHotLaw", result_type=True)
spec(_D + "onehot_law", args=dict(logits=_L4, penalty=2.0, beta=1.1, readout="argmax"))
# a wrong-length logits row is reported as the states' mismatch with it (a shape pair)
spec(_D + "decode_onehot", args=dict(states=np.array([[0, 1, 0, 0], [1, 1, 0, 0]]), logits=_L4, readout="argmax"),
     blame={"logits": ("states",)})
spec(_D + "onehot_transition_matrix", args=dict(logits=_L4[:3], penalty=2.0, beta=1.1, schedule="systematic"))
spec(_D + "OneHotMixing", result_type=True)
# max_sweeps = 1: a bad penalty/beta that is still valid must not make the fuzz case walk a long chain
spec(_D + "onehot_mixing", args=dict(logits=_L4[:3], penalty=2.0, beta=1.1, readout="reject", eps=0.05, start=0,
                                     schedule="random", max_sweeps=50), allow_inf=True)
spec(_D + "tree_law", args=dict(logits=np.array([[0.7, -np.inf, 1.6, 0.1, -0.4]]), beta=1.1))
spec(_D + "sample_tree", args=dict(logits=np.array([[0.7, -np.inf, 1.6, 0.1, -0.4]]), size=6, beta=1.1, rng=0))

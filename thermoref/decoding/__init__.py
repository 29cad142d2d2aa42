r"""Sampling heads (chapter 10): the next-token draw, its schedules and truncations, pipelines, negatives, p-bits.

A language model's last step draws the next token from :math:`e^{\beta\ell}/Z`: where sampling hardware meets
ML first. Every public name of the submodules is available here and documented here.

==============================================  ==========================================================
:mod:`thermoref.decoding.laws`                  the next-token law after penalty, temperature, top-k, top-p,
                                                min-p; its sampler; a decoding rule for ``generate``
:mod:`thermoref.decoding.schedules`             beta over generation steps; a relaxing head (annealed chain)
:mod:`thermoref.decoding.noise`                 argmax of noisy logits (Gumbel, Gaussian); DAC-limited heads
:mod:`thermoref.decoding.pipeline`              two-unit pipelines: the half-vocabulary design's law; exact
                                                pipelines; what each hides in latency
:mod:`thermoref.decoding.negatives`             negatives for sampled softmax, its bias and log-Q correction
:mod:`thermoref.decoding.onehot`                a softmax row on binary p-bits: the one-hot embedding (law,
                                                leak, mixing wall) and the exact binary tree
==============================================  ==========================================================

References: Holtzman, A. et al. (2020) "The curious case of neural text degeneration", ICLR (nucleus sampling);
Jean, S. et al. (2015) "On using very large target vocabulary for neural machine translation", ACL (sampled
softmax).
"""

from . import laws, negatives, noise, onehot, pipeline, schedules
from .laws import decoding_law, decoding_logits, decoding_rule, sample_decoding
from .negatives import (
    NegativeLaw,
    SampledSoftmaxMoments,
    contrastive_finetune,
    contrastive_loss_and_grad,
    expected_calibration_error,
    negative_law,
    sample_negatives,
    sampled_softmax_loss,
    sampled_softmax_moments,
)
from .noise import DacHeadError, best_gaussian_sigma, dac_head_error, gaussian_argmax_law, noisy_argmax
from .onehot import (
    READOUTS,
    OneHotLaw,
    OneHotMixing,
    decode_onehot,
    onehot_law,
    onehot_leak,
    onehot_mixing,
    onehot_network,
    onehot_transition_matrix,
    sample_tree,
    tree_law,
)
from .pipeline import (
    PIPELINE_DESIGNS,
    AlternatingPipeline,
    HalfVocabularyError,
    PipelineTiming,
    SplitVocabularyPipeline,
    half_vocabulary_error,
    half_vocabulary_law,
    pipeline_rule,
    pipeline_timing,
)
from .schedules import SCHEDULES, annealed_law, beta_schedule, metropolis_kernel, sample_annealed

__all__ = [
    # submodules
    "laws", "schedules", "noise", "negatives", "pipeline", "onehot",
    # transforms of the next-token law
    "decoding_logits", "decoding_law", "sample_decoding", "decoding_rule",
    # schedules and relaxing heads
    "SCHEDULES", "beta_schedule", "metropolis_kernel", "annealed_law", "sample_annealed",
    # noise on logits, DAC-limited heads
    "gaussian_argmax_law", "noisy_argmax", "best_gaussian_sigma", "DacHeadError", "dac_head_error",
    # two-unit pipelines
    "half_vocabulary_law", "HalfVocabularyError", "half_vocabulary_error", "AlternatingPipeline",
    "SplitVocabularyPipeline", "pipeline_rule", "PIPELINE_DESIGNS", "PipelineTiming", "pipeline_timing",
    # negatives for energy-based objectives
    "negative_law", "NegativeLaw", "sample_negatives", "sampled_softmax_loss", "sampled_softmax_moments",
    "SampledSoftmaxMoments", "expected_calibration_error", "contrastive_loss_and_grad", "contrastive_finetune",
    # softmax on binary p-bits
    "onehot_network", "onehot_leak", "onehot_law", "OneHotLaw", "READOUTS", "decode_onehot",
    "onehot_transition_matrix", "onehot_mixing", "OneHotMixing", "tree_law", "sample_tree",
]

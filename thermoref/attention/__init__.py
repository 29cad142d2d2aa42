r"""Attention is a Gibbs law (chapter 7): exact and sampled attention, samplers, head statistics, variants.

==============================================  ==========================================================
:mod:`thermoref.attention.exact`                logits, masks, weights, softmax attention, logit templates
:mod:`thermoref.attention.sampled`              sampled and blended attention with the exact, Gumbel, chain backends
:mod:`thermoref.attention.chain`                one Metropolis chain per query row (the ``chain`` backend)
:mod:`thermoref.attention.heads`                a head's thermodynamics and the samples it needs
:mod:`thermoref.attention.pbit`                 attention from independent sigmoid bits (not softmax)
:mod:`thermoref.attention.potts`                a Potts chain over query positions: coupled rows, exactly
==============================================  ==========================================================

Conventions of the whole family: ``query`` :math:`Q` (..., T, d_k), ``key`` :math:`K` (..., S, d_k) and
``value`` :math:`V` (..., S, d_v); logits :math:`\ell = QK^\top/\sqrt{d_k}`, energies :math:`E = -\ell` at
:math:`kT = 1`; ``n_samples`` is the number :math:`K` of keys drawn per query.

**Masks and the one rule for a fully masked row.** A masked key has logit ``-inf``. A query row whose every
key is masked has no Gibbs law. Every function here that works row by row treats such a row as *inert*: it
attends nothing. Its weights and its output are zero, no key is drawn (index ``-1``; a chain has acceptance 0,
effective sample size 0 and :math:`\tau_{\rm int} = 1`), and every per-row statistic is zero (entropy,
collision, :math:`1-p_{\max}`, specific heat, sampling error, samples needed, Jacobian). The Potts chain of
:mod:`~thermoref.attention.potts` is one joint law over all rows, which does not exist if any row is fully
masked: it raises ``ValueError`` naming ``logits``. A *finite* sentinel such as :math:`-3.4\times10^{38}`
(as some frameworks write masks) is not a mask but a logit: its key's weight :math:`e^{\ell - \ell_{\max}}` is
exactly 0 in float64, so the exact samplers never draw it and the chain never starts at or moves to it; a row
made only of equal sentinels is uniform, not inert.

References: Vaswani, A. et al. (2017) "Attention is all you need", NeurIPS; Jaynes, E. T. (1957) Phys. Rev.
106, 620; Metropolis, N. et al. (1953) J. Chem. Phys. 21, 1087.
"""

from . import chain, exact, heads, pbit, potts, sampled
from .chain import ChainSamples, metropolis_keys
from .exact import (
    attention_logits,
    attention_weights,
    block_logits,
    causal_mask,
    local_logits,
    random_logits,
    softmax_attention,
)
from .heads import HeadStatistics, attention_specific_heat, head_statistics, samples_needed
from .pbit import pbit_attention_weights, sigmoid_attention_jacobian, sigmoid_attention_weights, softmax_jacobian
from .potts import PottsMarginals, potts_energy, potts_gibbs, potts_marginals
from .sampled import (
    BACKENDS,
    blended_attention,
    empirical_weights,
    sample_keys,
    sampled_attention,
    sampled_values,
    sampling_mse,
)

__all__ = [
    # submodules
    "chain", "exact", "heads", "pbit", "potts", "sampled",
    # exact attention
    "causal_mask", "attention_logits", "attention_weights", "softmax_attention",
    "random_logits", "local_logits", "block_logits",
    # sampled attention
    "BACKENDS", "sample_keys", "sampled_values", "sampled_attention", "blended_attention", "sampling_mse",
    "empirical_weights", "ChainSamples", "metropolis_keys",
    # heads
    "HeadStatistics", "attention_specific_heat", "head_statistics", "samples_needed",
    # variants
    "sigmoid_attention_weights", "pbit_attention_weights", "sigmoid_attention_jacobian", "softmax_jacobian",
    "PottsMarginals", "potts_energy", "potts_marginals", "potts_gibbs",
]

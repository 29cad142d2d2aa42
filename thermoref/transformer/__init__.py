r"""A tiny decoder-only transformer in NumPy, trained here and run thermodynamically (chapter 8).

References: Vaswani, A. et al. (2017) "Attention is all you need", NeurIPS 30; Radford, A. et al. (2019)
"Language models are unsupervised multitask learners".
"""

from . import config, inference, model, optim, sampling_bias, seam, shipped, tasks, thermo_ffn, through_sampler, training
from .config import TransformerConfig, check_params, init_params, param_shapes
from .model import AttentionTrace, check_tokens, cross_entropy, forward, loss_and_grad
from .inference import KVCache, generate
from .optim import AdamW, clip_grad_norm
from .sampling_bias import evaluate, head_covariance, predicted_loss_bias
from .seam import AttentionSeam
from .shipped import SHA256, load_pretrained, save_weights
from .tasks import TASKS, Batch, Task, accuracy, get_task, make_batch, task_seeds
from .training import RECIPES, TrainResult, lr_schedule, train
from .thermo_ffn import ThermoFFNBlock, fit_thermo_ffn, mlp_activations
from .through_sampler import (
    ROW_ESTIMATORS,
    count_law,
    row_exact_gradient,
    row_gradient_moments,
    row_objective,
    row_sample_gradient,
)

__all__ = [
    "config", "inference", "model", "optim", "sampling_bias", "seam", "shipped", "tasks", "thermo_ffn", "through_sampler",
    "training",
    "TransformerConfig", "param_shapes", "init_params", "check_params",
    "AttentionSeam", "AttentionTrace", "forward", "cross_entropy", "loss_and_grad", "check_tokens",
    "KVCache", "generate", "AdamW", "clip_grad_norm",
    "TASKS", "Task", "Batch", "get_task", "make_batch", "accuracy", "task_seeds",
    "ROW_ESTIMATORS", "count_law", "row_objective", "row_exact_gradient", "row_sample_gradient",
    "row_gradient_moments", "mlp_activations", "fit_thermo_ffn", "ThermoFFNBlock",
    "evaluate", "head_covariance", "predicted_loss_bias",
    "RECIPES", "TrainResult", "train", "lr_schedule", "SHA256", "load_pretrained", "save_weights",
]

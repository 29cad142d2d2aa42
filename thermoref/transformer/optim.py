r"""Training utilities: AdamW (decoupled weight decay) and gradient clipping by global norm.

References: Kingma, D. P. & Ba, J. (2015) "Adam: a method for stochastic optimization", ICLR;
Loshchilov, I. & Hutter, F. (2019) "Decoupled weight decay regularization", ICLR; Pascanu, R., Mikolov, T. &
Bengio, Y. (2013) "On the difficulty of training recurrent neural networks", ICML (clipping by norm).
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from .._validation import check_real

__all__ = ["AdamW", "clip_grad_norm"]


def _check_grads(grads: object, name: str = "grads") -> dict[str, np.ndarray]:
    if not isinstance(grads, Mapping):
        raise TypeError(f"{name}: expected a mapping of parameter names to arrays, got {type(grads).__name__}")
    out = {}
    for key, g in grads.items():
        arr = np.asarray(g)
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(f"{name}: {key!r} must be a float array, got dtype {arr.dtype}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{name}: {key!r} contains NaN or infinite entries")
        out[key] = arr
    return out


def clip_grad_norm(grads: Mapping[str, np.ndarray], max_norm: float) -> tuple[dict[str, np.ndarray], float]:
    r"""Scale all gradients together so that their global Euclidean norm is at most ``max_norm``.

    Parameters
    ----------
    grads : mapping of str to ndarray of any shape
        Gradient of every parameter.
    max_norm : float
        The largest allowed global norm, :math:`> 0`.

    Returns
    -------
    clipped : dict of str to ndarray of the same shapes as grads
        :math:`g\cdot\min(1, c/\|g\|)` (new arrays; the input is not modified).
    norm : float
        The global norm :math:`\|g\| = (\sum_i \|g_i\|^2)^{1/2}` before clipping.

    Notes
    -----
    With :math:`c` = ``max_norm`` and the global norm taken over every block,

    .. math:: g_i \leftarrow g_i\,\min\!\left(1, \frac{c}{\|g\|}\right), \qquad
              \|g\| = \Big(\sum_i \|g_i\|_2^2\Big)^{1/2}:

    clipping by the global norm keeps the update's direction and bounds its length.

    References
    ----------
    Pascanu, R., Mikolov, T. & Bengio, Y. (2013) "On the difficulty of training recurrent neural networks",
    ICML.

    Examples
    --------
    >>> import numpy as np
    >>> clipped, norm = clip_grad_norm({"a": np.array([3.0]), "b": np.array([4.0])}, 1.0)
    >>> print(norm, clipped["a"], clipped["b"])
    5.0 [0.6] [0.8]
    """
    grads = _check_grads(grads)
    max_norm = check_real(max_norm, "max_norm", positive=True)
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))  # a loop over parameter blocks
    top = max((float(np.max(np.abs(g))) for g in grads.values() if g.size), default=0.0)
    if top > 0 and not 0 < norm < math.inf:  # the squares over- or underflowed: the same norm, scaled by top
        norm = top * math.sqrt(sum(float(np.vdot(g / top, g / top)) for g in grads.values()))
        if norm == math.inf:
            raise ValueError("grads: their global norm exceeds the floating-point range")
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


class AdamW:
    r"""AdamW: Adam's moment estimates with weight decay decoupled from the gradient.

    Parameters
    ----------
    params : mapping of str to ndarray of any shape
        The parameters the optimizer will update (their names and shapes fix its state).
    lr : float
        Learning rate :math:`\eta > 0`.
    b1, b2 : float
        Decay rates of the first and second moment estimates, in [0, 1).
    eps : float
        :math:`\epsilon > 0` added to the root second moment.
    weight_decay : float
        Decoupled decay :math:`\lambda \ge 0`, applied to the matrices (2-D arrays) only; biases, LayerNorm gains
        and offsets are not decayed.

    Attributes
    ----------
    lr, b1, b2, eps, weight_decay : float
        As given.
    step_count : int
        Updates applied so far.
    m, v : dict of str to ndarray of the same shapes as params
        First and second moment estimates.

    Notes
    -----
    At step :math:`t`, with gradient :math:`g`:
    :math:`m \leftarrow b_1 m + (1-b_1)g`, :math:`v \leftarrow b_2 v + (1-b_2)g^2`,
    :math:`\theta \leftarrow \theta - \eta\left(\frac{m/(1-b_1^t)}{\sqrt{v/(1-b_2^t)}+\epsilon}
    + \lambda\theta\right)`.

    References
    ----------
    Loshchilov, I. & Hutter, F. (2019) "Decoupled weight decay regularization", ICLR; Kingma, D. P. & Ba, J.
    (2015) "Adam: a method for stochastic optimization", ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> params = {"w": np.array([[1.0]])}
    >>> opt = AdamW(params, lr=0.1, weight_decay=0.0)
    >>> opt.step(params, {"w": np.array([[2.0]])})  # the first Adam step moves by lr in the sign of -g
    >>> print(np.round(params["w"], 6))
    [[0.9]]
    """

    def __init__(self, params: Mapping[str, np.ndarray], *, lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.01):
        params = _check_grads(params, "params")
        self.lr = check_real(lr, "lr", positive=True)
        self.b1 = check_real(b1, "b1", nonnegative=True)
        self.b2 = check_real(b2, "b2", nonnegative=True)
        for name, b in (("b1", self.b1), ("b2", self.b2)):
            if b >= 1:
                raise ValueError(f"{name}: must be in [0, 1), got {b}")
        self.eps = check_real(eps, "eps", positive=True)
        self.weight_decay = check_real(weight_decay, "weight_decay", nonnegative=True)
        self.step_count = 0
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}

    def step(self, params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray], lr: float | None = None) -> None:
        r"""Apply one update to ``params`` in place.

        Parameters
        ----------
        params : dict of str to ndarray, each of the shape given at construction
            The parameters, updated in place (same names and shapes as at construction).
        grads : mapping of str to ndarray of the same shapes as params
            Their gradients.
        lr : float, optional
            Learning rate for this step (a schedule); default ``self.lr``.

        Returns
        -------
        None
            ``params`` and the moment estimates are updated in place.

        Notes
        -----
        Step :math:`t` = ``step_count`` (after the increment) applies the class's update to every block,

        .. math:: \theta \leftarrow \theta - \eta\left(\frac{m_t/(1-b_1^t)}{\sqrt{v_t/(1-b_2^t)}+\epsilon}
                  + \lambda\theta\,[\theta \text{ a matrix}]\right),

        with the decay term evaluated before the Adam term (both from the same :math:`\theta`).

        References
        ----------
        Loshchilov, I. & Hutter, F. (2019) "Decoupled weight decay regularization", ICLR.

        Examples
        --------
        >>> import numpy as np
        >>> params = {"b": np.zeros(2)}
        >>> opt = AdamW(params, lr=0.5)
        >>> opt.step(params, {"b": np.array([1.0, -1.0])}); opt.step_count
        1
        """
        if not isinstance(params, dict):
            raise TypeError(f"params: expected a dict of arrays (updated in place), got {type(params).__name__}")
        checked = _check_grads(params, "params")
        grads = _check_grads(grads)
        if set(params) != set(self.m):
            raise ValueError("params: names differ from those the optimizer was built with")
        if set(grads) != set(self.m):
            raise ValueError("grads: names differ from the parameters'")
        for k in self.m:  # everything is checked before anything is updated
            if not isinstance(params[k], np.ndarray) or checked[k].shape != self.m[k].shape:
                raise ValueError(f"params: {k!r} must be an array of shape {self.m[k].shape} (updated in place), "
                                 f"got {type(params[k]).__name__} of shape {np.shape(params[k])}")
            if grads[k].shape != self.m[k].shape:
                raise ValueError(f"grads: {k!r} has shape {grads[k].shape}, expected {self.m[k].shape}")
            # g**2 enters the second moment in the dtypes of g and of the moment: it must not overflow either
            limit = math.sqrt(min(np.finfo(grads[k].dtype).max, np.finfo(self.v[k].dtype).max)) / 16
            if grads[k].size and np.max(np.abs(grads[k])) > limit:
                raise ValueError(f"grads: {k!r} has entries beyond {limit:.3g} in magnitude, whose squares overflow "
                                 "the second moment (clip the gradients first)")
        lr = self.lr if lr is None else check_real(lr, "lr", positive=True)
        self.step_count += 1
        c1 = 1.0 - self.b1 ** self.step_count
        c2 = 1.0 - self.b2 ** self.step_count
        for k, g in grads.items():  # a loop over parameter blocks
            m, v, p = self.m[k], self.v[k], params[k]
            m *= self.b1
            m += (1.0 - self.b1) * g
            v *= self.b2
            v += (1.0 - self.b2) * (g * g)
            if self.weight_decay and p.ndim == 2:
                p -= lr * self.weight_decay * p
            p -= lr * (m / c1) / (np.sqrt(v / c2) + self.eps)

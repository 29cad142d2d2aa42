r"""Synthetic sequence tasks generated from a seed (copy, sort, two-digit addition), with held-out streams.

Every task is a fixed-length token sequence whose last ``n_predictable`` tokens (the *answer*) are determined by
the tokens before them (the *prompt*). A model reads the first ``seq_len - 1`` tokens and predicts the next
token at every position (teacher forcing); only the answer positions are scored (:class:`Batch` ``mask``). The
separator of ``copy``/``sort`` and the ``+``/``=`` of ``add`` are predictable from the position alone and are
not scored.

=========  ==============================================  =====================  ==============  ==========
task       sequence                                        vocabulary             ``seq_len``     answer
=========  ==============================================  =====================  ==============  ==========
``copy``   :math:`x_1\dots x_L\;|\;x_1\dots x_L`           ``n_symbols`` + ``|``  :math:`2L+1`    :math:`L`
``sort``   :math:`x_1\dots x_L\;|\;x_{(1)}\dots x_{(L)}`   ``n_symbols`` + ``|``  :math:`2L+1`    :math:`L`
``add``    :math:`a_1a_0+b_1b_0=c_0c_1c_2`                 ``0``-``9``, ``+ =``   9               3
=========  ==============================================  =====================  ==============  ==========

The symbols :math:`x_i` are i.i.d. uniform on ``n_symbols`` ids (displayed ``0-9A-Za-z``, in id order, so a
sorted answer is also sorted as text); :math:`x_{(1)}\le\dots\le x_{(L)}` is their ascending order. In ``copy``
the answer is predictable only by attending back :math:`L+1` positions (the task behind induction heads); in
``sort`` by attending to every prompt symbol and counting. ``add`` writes the operands most significant digit
first and the sum :math:`c = a + b` as three digits, least significant first (minGPT's adder): each answer
digit then needs only the digits and the carry already seen.

**Held-out evaluation.** ``add`` has only :math:`10^4` problems; a fixed tenth is never trained on:

.. math:: (a, b)\ \text{is held out} \iff (37a + 91b) \bmod 100 < 10
          \iff (7a + b) \bmod 100 \in \{0, 11, 22, \dots, 99\}.

Exactly 1000 pairs are held out: 10 partners for every :math:`a`, for every :math:`b` and for every pair of
units digits :math:`(a_0, b_0)`, and every pair of tens digits and every carry pattern occurs among them (the
rule mixes both digits of both operands, so no digit combination is unseen in training). ``split="train"``
draws uniformly from the other 9000 pairs, ``split="eval"`` uniformly from the held-out 1000. ``copy`` and
``sort`` have :math:`n^L` prompts (:math:`10^8` at the defaults): both splits follow the same law and the
held-out guarantee is a fresh stream (:func:`task_seeds`). A fresh prompt appeared among :math:`N` training
prompts with probability

.. math:: 1 - (1 - n^{-L})^N \le N n^{-L},

at most :math:`10^{-3}` for :math:`N = 10^5` training sequences at the defaults. For ``sort`` what determines
the answer is the multiset of the prompt, and there are only :math:`\binom{n+L-1}{L}` = 24 310 of them at the
defaults: after :math:`N = 10^5` training sequences 78 % of them have appeared, and a fresh prompt's multiset
has appeared (in some order) with probability 0.96.

References: Karpathy, A. (2020) minGPT, github.com/karpathy/minGPT, projects/adder; Olsson, C. et al. (2022)
"In-context learning and induction heads", Transformer Circuits Thread, arXiv:2209.11895.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_logits, as_rng, check_allocation, check_positive_int

__all__ = ["TASKS", "Task", "Batch", "get_task", "make_batch", "accuracy", "task_seeds"]

#: Names of the synthetic tasks, as :func:`get_task` and :func:`make_batch` accept them.
TASKS = ("copy", "sort", "add")

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # display of symbol ids, in ASCII order
_SEPARATOR = "|"
_MAX_LENGTH = 2**20  # prompt symbols of copy/sort; far beyond any context this package trains
_ADD_SYMBOLS = tuple("0123456789+=")
_PLUS, _EQUALS = 10, 11

_PAIRS = np.arange(10_000, dtype=np.int64)  # (10000,) pair index 100 a + b
_HELD_OUT = (37 * (_PAIRS // 100) + 91 * (_PAIRS % 100)) % 100 < 10  # (10000,) the documented rule
_SPLIT_PAIRS = {"train": _PAIRS[~_HELD_OUT], "eval": _PAIRS[_HELD_OUT]}  # (9000,), (1000,)


@dataclass(frozen=True)
class Task:
    r"""The fixed facts of one synthetic task (built by :func:`get_task`).

    Attributes
    ----------
    name : str
        One of :data:`TASKS`.
    vocab_size : int
        Number of token ids; every token is in ``[0, vocab_size)``.
    seq_len : int
        Tokens per full sequence; a model reads ``seq_len - 1`` of them (its context).
    symbols : tuple of str
        Display string (one character) of every token id, ``len(symbols) == vocab_size``.
    n_predictable : int
        Answer tokens per sequence: the last ``n_predictable`` target positions.

    Notes
    -----
    ``copy`` and ``sort`` with :math:`L` prompt symbols over :math:`n` ids have ``vocab_size`` :math:`= n + 1`
    (the separator is id :math:`n`), ``seq_len`` :math:`= 2L + 1` and ``n_predictable`` :math:`= L`; ``add``
    has ``vocab_size`` 12 (digits, then ``+`` = 10 and ``=`` = 11), ``seq_len`` 9 and ``n_predictable`` 3.
    The prompt a generator is given is the first ``seq_len - n_predictable`` tokens.

    References
    ----------
    Karpathy, A. (2020) minGPT, github.com/karpathy/minGPT, projects/adder.

    Examples
    --------
    >>> from thermoref.transformer import get_task
    >>> t = get_task("add")
    >>> print(t.vocab_size, t.seq_len, t.n_predictable, "".join(t.symbols))
    12 9 3 0123456789+=
    """

    name: str
    vocab_size: int
    seq_len: int
    symbols: tuple[str, ...]
    n_predictable: int

    def decode(self, tokens: ArrayLike) -> str:
        r"""Return the text of a 1-D sequence of token ids (the display symbols joined).

        Parameters
        ----------
        tokens : array_like of shape (n,)
            Integer token ids in ``[0, vocab_size)``; any length (a prompt, a target row, a whole sequence).

        Returns
        -------
        str
            :math:`n` characters, one per token.

        Notes
        -----
        :math:`\mathrm{decode}(t)_i = s_{t_i}` with :math:`s` = ``symbols``; since every symbol is one
        character, decoding is a lookup in one byte string (no loop over tokens).

        Examples
        --------
        >>> from thermoref.transformer import get_task
        >>> print(get_task("add").decode([4, 7, 10, 3, 8, 11, 5, 8, 0]))
        47+38=580
        """
        t = np.asarray(tokens)
        if t.size == 0 and t.dtype == np.float64 and t.ndim == 1:  # np.asarray([]) is float64
            return ""
        if t.dtype == np.bool_ or not np.issubdtype(t.dtype, np.integer):
            raise TypeError(f"tokens: expected integer token ids, got dtype {t.dtype}")
        if t.ndim != 1:
            raise ValueError(f"tokens: expected a 1-D sequence of token ids, got shape {t.shape}")
        if t.size and (t.min() < 0 or t.max() >= len(self.symbols)):
            raise ValueError(f"tokens: ids must lie in [0, {len(self.symbols)}), got {t.min()}..{t.max()}")
        table = np.frombuffer("".join(self.symbols).encode("ascii"), dtype=np.uint8)  # (vocab,)
        return table[t].tobytes().decode("ascii")


@dataclass(frozen=True)
class Batch:
    r"""A batch of task sequences split for next-token prediction (built by :func:`make_batch`).

    Attributes
    ----------
    tokens : ndarray of shape (B, T)
        int64 model input, the sequences without their last token (:math:`T` = ``seq_len - 1``).
    targets : ndarray of shape (B, T)
        int64 next tokens, the sequences without their first token.
    mask : ndarray of shape (B, T)
        bool, True on the answer (predictable) target positions: the last ``n_predictable`` columns.

    Notes
    -----
    With :math:`s` the (B, ``seq_len``) sequences: ``tokens`` :math:`= s_{:, 0:T}`, ``targets``
    :math:`= s_{:, 1:T+1}`, and ``mask`` :math:`_{bt} = [t \ge T - n_{\rm pred}]`. The arrays are separate
    C-contiguous copies.

    References
    ----------
    Karpathy, A. (2020) minGPT, github.com/karpathy/minGPT, projects/adder (the same input/target split).

    Examples
    --------
    >>> from thermoref.transformer import make_batch
    >>> b = make_batch("copy", 2, rng=0)
    >>> print(b.tokens.shape, b.targets.shape, int(b.mask.sum()))
    (2, 16) (2, 16) 16
    """

    tokens: np.ndarray
    targets: np.ndarray
    mask: np.ndarray


def get_task(name: str, *, length: int | None = None, n_symbols: int | None = None) -> Task:
    r"""Return the :class:`Task` of a named synthetic task.

    Parameters
    ----------
    name : str
        ``"copy"``, ``"sort"`` or ``"add"`` (:data:`TASKS`).
    length : int, optional
        Prompt symbols :math:`L` of ``copy``/``sort``, in ``[1, 2**20]``; default 8. ``add`` takes none.
    n_symbols : int, optional
        Alphabet size :math:`n` of ``copy``/``sort``, in ``[2, 62]`` (displayed ``0-9A-Za-z``); default 10.
        ``add`` takes none.

    Returns
    -------
    Task
        The task's vocabulary size, sequence length, display symbols and number of answer tokens.

    Notes
    -----
    ``copy``/``sort``: vocabulary :math:`n + 1` (symbols, then the separator ``|``), :math:`2L + 1` tokens,
    :math:`L` of them the answer. ``add``: :math:`a_1a_0+b_1b_0=c_0c_1c_2` with :math:`c = a + b` written
    least significant digit first, 12 token ids, 9 tokens, 3 answer digits. A prompt of ``copy`` is one of
    :math:`n^L`; the module docstring bounds the chance that a fresh one was seen in training.

    References
    ----------
    Karpathy, A. (2020) minGPT, github.com/karpathy/minGPT, projects/adder; Olsson, C. et al. (2022)
    "In-context learning and induction heads", arXiv:2209.11895.

    Examples
    --------
    >>> from thermoref.transformer import get_task
    >>> t = get_task("copy", length=4, n_symbols=5)
    >>> print(t.vocab_size, t.seq_len, t.n_predictable, "".join(t.symbols))
    6 9 4 01234|
    """
    if not isinstance(name, str):
        raise TypeError(f"name: expected a task name (str), got {type(name).__name__}")
    if name not in TASKS:
        raise ValueError(f"name: unknown task {name!r}; expected one of {TASKS}")
    if name == "add":
        for opt, value in (("length", length), ("n_symbols", n_symbols)):
            if value is not None:
                raise ValueError(f"{opt}: the add task takes no options (its problems are fixed), got {value!r}")
        return Task("add", 12, 9, _ADD_SYMBOLS, 3)
    L = 8 if length is None else check_positive_int(length, "length")
    if L > _MAX_LENGTH:
        raise ValueError(f"length: at most {_MAX_LENGTH} prompt symbols, got {L}")
    n = 10 if n_symbols is None else check_positive_int(n_symbols, "n_symbols", minimum=2)
    if n > len(_ALPHABET):
        raise ValueError(f"n_symbols: at most {len(_ALPHABET)} (one display character each, 0-9A-Za-z), got {n}")
    return Task(name, n + 1, 2 * L + 1, tuple(_ALPHABET[:n]) + (_SEPARATOR,), L)


def _as_task(task: object) -> Task:
    """A task name, or a :class:`Task` equal to the one :func:`get_task` builds for its fields."""
    if isinstance(task, str):
        if task not in TASKS:
            raise ValueError(f"task: unknown task {task!r}; expected one of {TASKS}")
        return get_task(task)
    if not isinstance(task, Task):
        raise TypeError(f"task: expected a task name or a Task, got {type(task).__name__}")
    canon = None
    name = task.name if isinstance(task.name, str) else None
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (task.vocab_size, task.seq_len))
    if name == "add":
        canon = get_task("add")
    elif name in ("copy", "sort") and ints and task.seq_len % 2 == 1 and 3 <= task.seq_len <= 2 * _MAX_LENGTH + 1 \
            and 3 <= task.vocab_size <= len(_ALPHABET) + 1:
        canon = get_task(name, length=(task.seq_len - 1) // 2, n_symbols=task.vocab_size - 1)
    if canon is None or not isinstance(task.symbols, tuple) or not all(isinstance(s, str) for s in task.symbols) \
            or task != canon:
        raise ValueError(f"task: its fields match no task get_task builds (build tasks with get_task), got {task!r}")
    return canon


def make_batch(task: Task | str, n_sequences: int, *, rng: object, split: str = "train") -> Batch:
    r"""Draw ``n_sequences`` sequences of a task and split them into model input, targets and answer mask.

    Parameters
    ----------
    task : Task or str
        A task from :func:`get_task`, or a name (default options).
    n_sequences : int
        Number of sequences :math:`B \ge 0`; ``0`` returns empty (0, ``seq_len - 1``) arrays.
    rng : numpy.random.Generator or int or numpy.random.SeedSequence
        The only source of randomness (a child of :func:`task_seeds` for held-out streams).
    split : str
        ``"train"`` or ``"eval"``. For ``add``, ``"train"`` never produces a held-out pair and ``"eval"`` only
        held-out pairs (module docstring); for ``copy``/``sort`` both follow the same law, and held-out
        evaluation means a fresh stream.

    Returns
    -------
    Batch
        ``tokens``, ``targets`` (int64) and ``mask`` (bool), each of shape (B, ``seq_len - 1``).

    Notes
    -----
    ``copy``/``sort``: :math:`x_{bi}` i.i.d. uniform on :math:`\{0,\dots,n-1\}` (one ``rng.integers`` call of
    shape (B, L)), sequence :math:`(x_b, n, x_b)` or :math:`(x_b, n, \mathrm{sort}(x_b))`; the same stream
    gives the same prompts in both tasks. ``add``: a pair drawn uniformly from the split's pairs, then the
    digits by integer arithmetic,

    .. math:: a_1 = \lfloor a/10\rfloor,\ a_0 = a \bmod 10,\ \dots,\
              c_k = \lfloor (a+b)/10^k\rfloor \bmod 10 \ (k = 0, 1, 2).

    Everything is vectorized over the batch; the same ``rng`` state gives the same bits.

    References
    ----------
    Karpathy, A. (2020) minGPT, github.com/karpathy/minGPT, projects/adder; Olsson, C. et al. (2022)
    "In-context learning and induction heads", arXiv:2209.11895.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.transformer import get_task, make_batch
    >>> t = get_task("sort", length=6)
    >>> b = make_batch(t, 2, rng=1)
    >>> full = np.concatenate([b.tokens, b.targets[:, -1:]], axis=1)  # (2, 13): the whole sequences
    >>> print(t.decode(full[0]), t.decode(full[1]), b.mask[0].astype(int))
    457901|014579 892384|234889 [0 0 0 0 0 0 1 1 1 1 1 1]
    >>> b = make_batch("add", 1, rng=0, split="eval")  # 85 + 04 = 89, answer written 9, 8, 0
    >>> print(get_task("add").decode(np.append(b.tokens[0], b.targets[0, -1])))
    85+04=980
    """
    task = _as_task(task)
    n = check_positive_int(n_sequences, "n_sequences", minimum=0)
    check_allocation((4 * n, task.seq_len), "n_sequences")  # the sequences, tokens, targets, and the mask
    if not isinstance(split, str):
        raise TypeError(f"split: expected 'train' or 'eval', got {type(split).__name__}")
    if split not in _SPLIT_PAIRS:
        raise ValueError(f"split: expected 'train' or 'eval', got {split!r}")
    gen = as_rng(rng)
    if task.name == "add":
        pool = _SPLIT_PAIRS[split]  # (P,)
        pair = pool[gen.integers(0, pool.size, size=n)]  # (B,)
        a, b = pair // 100, pair % 100  # (B,), (B,)
        c = a + b  # (B,) in [0, 198]
        seq = np.stack([a // 10, a % 10, np.full(n, _PLUS), b // 10, b % 10, np.full(n, _EQUALS),
                        c % 10, c // 10 % 10, c // 100], axis=1).astype(np.int64)  # (B, 9)
    else:
        L, sep = task.n_predictable, task.vocab_size - 1
        x = gen.integers(0, sep, size=(n, L), dtype=np.int64)  # (B, L)
        answer = x if task.name == "copy" else np.sort(x, axis=1)  # (B, L)
        seq = np.concatenate([x, np.full((n, 1), sep, dtype=np.int64), answer], axis=1)  # (B, 2L + 1)
    T = task.seq_len - 1
    mask = np.zeros((n, T), dtype=bool)  # (B, T)
    mask[:, T - task.n_predictable:] = True
    return Batch(tokens=np.ascontiguousarray(seq[:, :-1]), targets=np.ascontiguousarray(seq[:, 1:]), mask=mask)


def accuracy(logits: ArrayLike, batch: Batch) -> tuple[float, float]:
    r"""Per-token accuracy on the answer positions, and the fraction of sequences with every answer token right.

    Parameters
    ----------
    logits : array_like of shape (B, T, V)
        Next-token logits for ``batch.tokens`` (``-inf`` masks a token id); :math:`V` must exceed every target
        id.
    batch : Batch
        The batch the logits were computed for (from :func:`make_batch`): at least one sequence, each with at
        least one masked position (an empty batch has no accuracy: ``ValueError``).

    Returns
    -------
    token_accuracy : float
        Fraction of masked positions where :math:`\arg\max_v` logits equals the target.
    exact_match : float
        Fraction of sequences whose every masked position is argmax-correct.

    Notes
    -----
    With :math:`\hat y_{bt} = \arg\max_v \ell_{btv}` (ties go to the lowest id, as in ``numpy.argmax``) and
    :math:`M` the mask,

    .. math:: \mathrm{acc} = \frac{\sum_{bt} M_{bt}[\hat y_{bt} = y_{bt}]}{\sum_{bt} M_{bt}}, \qquad
              \mathrm{EM} = \frac1B \sum_b \prod_{t: M_{bt}} [\hat y_{bt} = y_{bt}].

    **Teacher-forced exact match equals greedy-generation exact match** for a causal model whose answer
    positions are the last ones (as in every task here). Greedy decoding from the prompt feeds back its own
    argmax; as long as every earlier answer token was right, its prefix is the true prefix, so its next argmax
    is the teacher-forced one. Hence if every teacher-forced argmax is right, greedy reproduces the answer
    token by token; if not, greedy goes wrong at the first wrong teacher-forced position (its prefix is still
    the true one there). The two agree sequence by sequence. Per-token accuracy does not carry over: after a
    greedy mistake the later tokens see a wrong prefix. (Greedy decoding must break ties as ``numpy.argmax``
    does, towards the lowest id.)

    References
    ----------
    Karpathy, A. (2020) minGPT, github.com/karpathy/minGPT, projects/adder (greedy evaluation of the adder).

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.transformer import accuracy, make_batch
    >>> b = make_batch("add", 4, rng=0)
    >>> logits = np.eye(12)[b.targets]            # (4, 8, 12): one-hot on the right answer
    >>> logits[0, -1] = np.eye(12)[(b.targets[0, -1] + 1) % 12]   # one wrong answer digit
    >>> print(accuracy(logits, b))
    (0.9166666666666666, 0.75)
    """
    if not isinstance(batch, Batch):
        raise TypeError(f"batch: expected a Batch (from make_batch), got {type(batch).__name__}")
    targets, mask = np.asarray(batch.targets), np.asarray(batch.mask)
    if targets.ndim != 2 or mask.shape != targets.shape or mask.dtype != np.bool_ \
            or not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"batch: needs integer targets and a bool mask of one (B, T) shape, got {targets.shape} "
                         f"{targets.dtype} and {mask.shape} {mask.dtype}")
    if targets.shape[0] == 0 or not mask.any(axis=1).all():
        raise ValueError("batch: needs at least one sequence, each with at least one masked (answer) position; "
                         f"accuracy is undefined otherwise (got {targets.shape[0]} sequences)")
    z = as_logits(logits, "logits", min_ndim=3)
    if z.ndim != 3 or z.shape[:2] != targets.shape:
        raise ValueError(f"logits: expected shape {targets.shape + ('V',)} for this batch, got {z.shape}")
    if targets.min() < 0 or targets.max() >= z.shape[2]:
        raise ValueError(f"logits: {z.shape[2]} token ids on the last axis, but the targets use ids "
                         f"{targets.min()}..{targets.max()}")
    right = np.argmax(z, axis=2) == targets  # (B, T)
    token_accuracy = float(np.sum(right & mask) / np.sum(mask))
    exact = float(np.mean(np.all(right | ~mask, axis=1)))
    return token_accuracy, exact


def task_seeds(seed: int) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    r"""Derive disjoint training and evaluation seed sequences from one integer seed.

    Parameters
    ----------
    seed : int
        A non-negative integer (the ``--seed`` of a training run).

    Returns
    -------
    train : numpy.random.SeedSequence
        Child 0 of ``SeedSequence(seed)``: the training data stream (spawn further children for the model's
        initialization and anything else a run draws).
    eval : numpy.random.SeedSequence
        Child 1: the held-out evaluation stream.

    Notes
    -----
    :math:`\mathrm{train}(S) = \mathrm{SeedSequence}(S, \mathrm{spawn\_key}=(0,))` and
    :math:`\mathrm{eval}(S) = \mathrm{SeedSequence}(S, \mathrm{spawn\_key}=(1,))`: the entropy and the spawn
    key are hashed together into each generator's state, so the training stream of any seed :math:`S` and the
    evaluation stream of any seed :math:`S'` (equal or not) differ, and neither equals ``default_rng(S)``.
    Pass each to ``numpy.random.default_rng`` once (or as ``rng`` to :func:`make_batch`, which does so); two
    generators made from the same child repeat the same stream.

    References
    ----------
    O'Neill, M. E. (2015) "Developing a seed_seq alternative", pcg-random.org; NumPy (2019) "Parallel random
    number generation", numpy.org/doc/stable/reference/random/parallel.html.

    Examples
    --------
    >>> import numpy as np
    >>> from thermoref.transformer import make_batch, task_seeds
    >>> train, held_out = task_seeds(0)
    >>> print(train.spawn_key, held_out.spawn_key)
    (0,) (1,)
    >>> a = make_batch("copy", 3, rng=np.random.default_rng(train)).tokens
    >>> b = make_batch("copy", 3, rng=np.random.default_rng(held_out)).tokens
    >>> print(np.array_equal(a, b))
    False
    """
    s = check_positive_int(seed, "seed", minimum=0)
    train, held_out = np.random.SeedSequence(s).spawn(2)
    return train, held_out

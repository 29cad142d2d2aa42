"""The synthetic tasks of chapter 8 (copy, sort, two-digit addition): exact properties against independent checks.

Oracles: Python's ``sorted`` and ``int`` arithmetic on decoded text, the held-out rule enumerated over all 10^4
addition problems in plain Python, and a hand-built causal "model" decoded greedily token by token (for the claim
that teacher-forced exact match equals greedy exact match). Statistical tests: Pearson chi-square (thermoref.testing),
alpha = 1e-3, sized against one symbol 5 % more likely than the others (power computed from the noncentral law,
asserted >= 0.99, and a power check: a generator with that bias is rejected).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from thermoref.testing import chi_square_power, chi_square_test
from thermoref.transformer.tasks import TASKS, Batch, Task, accuracy, get_task, make_batch, task_seeds

ALPHA = 1e-3
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def full(b: Batch) -> np.ndarray:
    """The whole (B, seq_len) sequences of a batch."""
    return np.concatenate([b.tokens, b.targets[:, -1:]], axis=1)


def held_out_rule(a: int, b: int) -> bool:
    """The documented rule, in plain Python."""
    return (37 * a + 91 * b) % 100 < 10


ALL_PAIRS = [(a, b) for a in range(100) for b in range(100)]
HELD_OUT = {(a, b) for a, b in ALL_PAIRS if held_out_rule(a, b)}


def pairs_of(seq: np.ndarray) -> np.ndarray:
    """(a, b) of each addition row, read from the operand digits."""
    return np.stack([10 * seq[:, 0] + seq[:, 1], 10 * seq[:, 3] + seq[:, 4]], axis=1)


# ------------------------------------------------------------------------------------------------ the tasks
def test_task_facts():
    assert TASKS == ("copy", "sort", "add")
    t = get_task("copy")
    assert (t.name, t.vocab_size, t.seq_len, t.n_predictable) == ("copy", 11, 17, 8)
    assert t.symbols == tuple("0123456789|")
    a = get_task("add")
    assert (a.vocab_size, a.seq_len, a.n_predictable, "".join(a.symbols)) == (12, 9, 3, "0123456789+=")
    big = get_task("sort", length=3, n_symbols=62)
    assert "".join(big.symbols) == ALPHABET + "|" and big.seq_len == 7
    for task in (t, a, big):
        assert len(task.symbols) == task.vocab_size and all(len(s) == 1 for s in task.symbols)


@pytest.mark.parametrize("L, n", [(1, 2), (8, 10), (5, 62)])
def test_copy_second_half_equals_the_first(L, n):
    t = get_task("copy", length=L, n_symbols=n)
    seq = full(make_batch(t, 500, rng=L))
    assert seq.shape == (500, 2 * L + 1) and seq.dtype == np.int64
    assert (seq[:, L] == n).all() and (seq[:, :L] < n).all() and (seq[:, :L] >= 0).all()
    assert np.array_equal(seq[:, L + 1:], seq[:, :L])
    for row in seq[:20]:
        text = t.decode(row)
        assert text[L] == "|" and text[:L] == text[L + 1:]


@pytest.mark.parametrize("L, n", [(1, 2), (8, 10), (12, 62)])
def test_sort_answer_is_the_sorted_prompt(L, n):
    t = get_task("sort", length=L, n_symbols=n)
    seq = full(make_batch(t, 500, rng=L + 100))
    assert (seq[:, L] == n).all()
    assert (np.diff(seq[:, L + 1:], axis=1) >= 0).all()
    for row in seq[:50]:  # against Python: the same ids, sorted; and the text sorted as characters (0-9A-Za-z)
        assert list(row[L + 1:]) == sorted(row[:L].tolist())
        text = t.decode(row)
        assert text[L + 1:] == "".join(sorted(text[:L]))
    counts_in = np.stack([np.bincount(r, minlength=n) for r in seq[:, :L]])
    counts_out = np.stack([np.bincount(r, minlength=n) for r in seq[:, L + 1:]])
    assert np.array_equal(counts_in, counts_out)  # a permutation of the prompt


@pytest.mark.parametrize("split", ["train", "eval"])
def test_add_answer_digits_decode_to_the_sum(split):
    t = get_task("add")
    seq = full(make_batch(t, 400, rng=7, split=split))
    for row in seq:
        text = t.decode(row)
        assert text[2] == "+" and text[5] == "="
        a, b = int(text[0:2]), int(text[3:5])
        assert int(text[6:9][::-1]) == a + b  # reversed answer digits, three of them


def test_mask_marks_exactly_the_answer_positions():
    for t in (get_task("copy", length=5), get_task("sort", length=3, n_symbols=4), get_task("add")):
        b = make_batch(t, 64, rng=3)
        T = t.seq_len - 1
        assert b.tokens.shape == b.targets.shape == b.mask.shape == (64, T) and b.mask.dtype == np.bool_
        assert np.array_equal(b.tokens[:, 1:], b.targets[:, :-1])  # targets are the next tokens
        seq = full(b)
        # the answer: copy/sort after the separator, add after '='; target position t predicts seq[t + 1]
        start = {"add": 6}.get(t.name, t.n_predictable + 1)
        expected = np.zeros(T, bool)
        expected[start - 1:] = True
        assert (b.mask == expected).all() and b.mask.sum(axis=1).tolist() == [t.n_predictable] * 64
        assert np.array_equal(b.targets[b.mask].reshape(64, -1), seq[:, start:])


def test_empty_batch():
    b = make_batch("copy", 0, rng=0)
    assert b.tokens.shape == b.targets.shape == b.mask.shape == (0, 16)
    assert b.tokens.dtype == np.int64 and b.mask.dtype == np.bool_
    assert make_batch("add", 0, rng=0, split="eval").tokens.shape == (0, 8)


# ----------------------------------------------------------------------------------------------- seeds
@pytest.mark.parametrize("name", TASKS)
def test_same_seed_same_bits_different_seed_different(name):
    one = make_batch(name, 50, rng=11)
    two = make_batch(name, 50, rng=np.random.default_rng(11))
    other = make_batch(name, 50, rng=12)
    for f in ("tokens", "targets", "mask"):
        assert np.array_equal(getattr(one, f), getattr(two, f))
    assert not np.array_equal(one.tokens, other.tokens)


def test_task_seeds_give_disjoint_deterministic_streams():
    draws = {}
    for s in (0, 1, 2):
        train, held_out = task_seeds(s)
        again = task_seeds(s)
        assert train.spawn_key == (0,) and held_out.spawn_key == (1,) and train.entropy == s
        assert np.array_equal(make_batch("copy", 20, rng=train).tokens, make_batch("copy", 20, rng=again[0]).tokens)
        draws[("train", s)] = make_batch("copy", 20, rng=train).tokens
        draws[("eval", s)] = make_batch("copy", 20, rng=held_out).tokens
        draws[("plain", s)] = make_batch("copy", 20, rng=s).tokens  # default_rng(s) is neither child
    keys = list(draws)
    for i, k in enumerate(keys):
        for m in keys[i + 1:]:
            assert not np.array_equal(draws[k], draws[m]), (k, m)


# ---------------------------------------------------------------------------------------- held-out additions
def test_held_out_rule_enumerated():
    """Exactly 10 % held out, spread over every operand, every units-digit pair and every carry pattern."""
    assert len(HELD_OUT) == 1000
    assert {a: sum((a, b) in HELD_OUT for b in range(100)) for a in range(100)} == {a: 10 for a in range(100)}
    assert {b: sum((a, b) in HELD_OUT for a in range(100)) for b in range(100)} == {b: 10 for b in range(100)}
    units = {}
    for a, b in HELD_OUT:
        units[(a % 10, b % 10)] = units.get((a % 10, b % 10), 0) + 1
    assert units == {(i, j): 10 for i in range(10) for j in range(10)}
    every_digit_pair = {(i, j) for i in range(10) for j in range(10)}
    train = set(ALL_PAIRS) - HELD_OUT
    for pairs in (HELD_OUT, train):  # no digit combination is unseen in either split
        assert {(a // 10, b // 10) for a, b in pairs} == every_digit_pair
        assert {(a % 10, b % 10) for a, b in pairs} == every_digit_pair
    carries = {(a % 10 + b % 10 >= 10, a + b >= 100) for a, b in HELD_OUT}
    assert carries == {(False, False), (False, True), (True, False), (True, True)}
    # every answer digit value at every answer position, in both splits
    for pairs in (HELD_OUT, set(ALL_PAIRS) - HELD_OUT):
        digits = {(k, (a + b) // 10**k % 10) for a, b in pairs for k in range(3)}
        assert digits == {(k, d) for k in range(2) for d in range(10)} | {(2, 0), (2, 1)}


def test_documented_overlap_numbers_for_copy_and_sort():
    """The module docstring's numbers at n = 10, L = 8, N = 1e5: the prompt bound and the sort multisets."""
    n, L, N = 10, 8, 10**5
    assert N / n**L == 1e-3 and 1 - (1 - n**-L) ** N <= N / n**L
    laws = []  # probability of every multiset of L symbols: multinomial coefficient / n^L
    for combo in itertools.combinations_with_replacement(range(n), L):
        counts = [combo.count(k) for k in set(combo)]
        laws.append(math.factorial(L) / math.prod(math.factorial(c) for c in counts) / n**L)
    p = np.array(laws)
    assert len(p) == math.comb(n + L - 1, L) == 24_310 and abs(p.sum() - 1) < 1e-12
    seen = 1 - (1 - p) ** N
    assert round(seen.mean(), 2) == 0.78 and round(float(p @ seen), 2) == 0.96


def test_train_and_eval_splits_are_disjoint_and_cover_their_pairs():
    # 200 000 train draws miss one of 9000 pairs with probability <= 9000 (1 - 1/9000)^200000 = 2e-6;
    # 20 000 eval draws miss one of 1000 with probability <= 1000 (1 - 1/1000)^20000 = 2e-6.
    train = pairs_of(full(make_batch("add", 200_000, rng=21, split="train")))
    held = pairs_of(full(make_batch("add", 20_000, rng=22, split="eval")))
    seen_train = {divmod(k, 100) for k in np.unique(100 * train[:, 0] + train[:, 1]).tolist()}
    seen_eval = {divmod(k, 100) for k in np.unique(100 * held[:, 0] + held[:, 1]).tolist()}
    assert seen_eval == HELD_OUT
    assert seen_train == set(ALL_PAIRS) - HELD_OUT


# ------------------------------------------------------------------------------------------ uniformity
def _biased(n: int) -> np.ndarray:
    """The bug the tests are sized for: symbol 0 five per cent more likely than each other symbol."""
    q = np.ones(n)
    q[0] = 1.05
    return q / q.sum()


def test_copy_symbols_are_uniform_with_power_against_a_5_percent_bias():
    """Chi-square of the prompt symbols' counts against uniform, alpha = 1e-3, 50 000 x 8 = 400 000 draws."""
    n, L, B = 10, 8, 50_000
    draws = B * L
    p = np.full(n, 1 / n)
    power = chi_square_power(p, _biased(n), draws, alpha=ALPHA)
    assert power >= 0.99, power  # 0.999999
    x = full(make_batch(get_task("copy", length=L, n_symbols=n), B, rng=5))[:, :L]
    assert chi_square_test(np.bincount(x.ravel(), minlength=n), p, alpha=ALPHA).passed
    # power check: the same test rejects a generator with that bias
    bad = np.random.default_rng(6).choice(n, size=draws, p=_biased(n))
    assert chi_square_test(np.bincount(bad, minlength=n), p, alpha=ALPHA).reject


def test_add_operand_digits_follow_the_split_law_with_power():
    """Chi-square of the four operand digits (rows) against their law under the train split (from enumeration)."""
    B = 400_000
    train_pairs = [(a, b) for a, b in ALL_PAIRS if (a, b) not in HELD_OUT]
    law = np.zeros((4, 10))
    for a, b in train_pairs:
        for row, d in enumerate((a // 10, a % 10, b // 10, b % 10)):
            law[row, d] += 1
    law /= len(train_pairs)  # uniform, as the enumeration shows: each a and each b has 90 train partners
    assert np.allclose(law, 0.1)
    biased = law.copy()
    biased[1] = _biased(10)  # a0 = 0 five per cent more likely
    power = chi_square_power(law, biased, B, alpha=ALPHA)
    assert power >= 0.99, power  # 0.9993
    seq = full(make_batch("add", B, rng=8, split="train"))
    counts = np.stack([np.bincount(seq[:, k], minlength=10) for k in (0, 1, 3, 4)])  # (4, 10)
    assert chi_square_test(counts, law, alpha=ALPHA).passed
    rng = np.random.default_rng(9)
    bad = counts.copy()
    bad[1] = np.bincount(rng.choice(10, size=B, p=biased[1]), minlength=10)
    assert chi_square_test(bad, law, alpha=ALPHA).reject


# --------------------------------------------------------------------------------------------- accuracy
def test_accuracy_on_hand_made_logits():
    t = get_task("copy", length=4, n_symbols=6)
    b = make_batch(t, 5, rng=0)
    one_hot = np.eye(t.vocab_size)[b.targets]  # (5, 8, 7)
    assert accuracy(one_hot, b) == (1.0, 1.0)
    wrong = one_hot.copy()
    wrong[2, 6] = np.roll(wrong[2, 6], 1)  # one wrong answer position: 19/20 tokens, 4/5 sequences
    assert accuracy(wrong, b) == (19 / 20, 4 / 5)
    wrong[3, 4:] = np.roll(wrong[3, 4:], 1, axis=-1)  # a whole answer wrong: 15/20, 3/5
    assert accuracy(wrong, b) == (15 / 20, 3 / 5)
    off = one_hot.copy()
    off[:, :4] = np.roll(off[:, :4], 1, axis=-1)  # mistakes on the unmasked prompt positions do not count
    assert accuracy(off, b) == (1.0, 1.0)
    masked = np.where(one_hot > 0, 0.0, -np.inf)  # -inf masks every other id
    assert accuracy(masked, b) == (1.0, 1.0)
    tie = np.zeros_like(one_hot)  # all ties: argmax is id 0, right exactly where the target is 0
    expect = (b.targets[b.mask] == 0).mean()
    assert accuracy(tie, b)[0] == expect


def _oracle_logits(prefix: list[int]) -> np.ndarray:
    """A causal 'model' for add: the right next answer digit from the prefix, except a deterministic mistake
    when the digits seen so far sum to a multiple of 7; logits depend only on the prefix."""
    out = np.zeros(12)
    if len(prefix) < 6:
        out[0] = 1.0
        return out
    a, b = 10 * prefix[0] + prefix[1], 10 * prefix[3] + prefix[4]
    k = len(prefix) - 6  # answer digit index
    right = (a + b) // 10**k % 10
    guess = (right + 1) % 10 if sum(prefix) % 7 == 0 else right
    out[guess] = 1.0
    return out


def test_teacher_forced_exact_match_equals_greedy_exact_match():
    t = get_task("add")
    b = make_batch(t, 300, rng=13, split="eval")
    seq = full(b)
    logits = np.stack([np.stack([_oracle_logits(list(row[:i + 1])) for i in range(8)]) for row in seq])
    tok_acc, em = accuracy(logits, b)
    greedy_right = []
    for row in seq:
        gen = list(row[:6])  # the prompt
        for _ in range(3):
            gen.append(int(np.argmax(_oracle_logits(gen))))
        greedy_right.append(gen[6:] == list(row[6:]))
    assert 0.3 < em < 0.95 and tok_acc > em  # the case is not trivial
    assert em == np.mean(greedy_right)


# ------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, exc, msg", [
    (lambda: get_task("reverse"), ValueError, "name:"),
    (lambda: get_task(3), TypeError, "name:"),
    (lambda: get_task("copy", length=0), ValueError, "length:"),
    (lambda: get_task("copy", length=2**20 + 1), ValueError, "length:"),
    (lambda: get_task("copy", length=2.0), TypeError, "length:"),
    (lambda: get_task("sort", n_symbols=1), ValueError, "n_symbols:"),
    (lambda: get_task("sort", n_symbols=63), ValueError, "n_symbols:"),
    (lambda: get_task("add", length=4), ValueError, "length:"),
    (lambda: get_task("add", n_symbols=4), ValueError, "n_symbols:"),
    (lambda: make_batch("copy", -1, rng=0), ValueError, "n_sequences:"),
    (lambda: make_batch("copy", 2.0, rng=0), TypeError, "n_sequences:"),
    (lambda: make_batch("copy", True, rng=0), TypeError, "n_sequences:"),
    (lambda: make_batch("copy", 2**62, rng=0), ValueError, "n_sequences:"),
    (lambda: make_batch("copy", 2, rng=None), TypeError, "rng:"),
    (lambda: make_batch("copy", 2, rng=0, split="test"), ValueError, "split:"),
    (lambda: make_batch("nope", 2, rng=0), ValueError, "task:"),
    (lambda: make_batch(None, 2, rng=0), TypeError, "task:"),
    (lambda: make_batch(Task("copy", 11, 16, tuple("0123456789|"), 8), 2, rng=0), ValueError, "task:"),
    (lambda: make_batch(Task("add", 12, 9, tuple("0123456789+="), 2), 2, rng=0), ValueError, "task:"),
    (lambda: get_task("add").decode([1.0, 2.0]), TypeError, "tokens:"),
    (lambda: get_task("add").decode([1, 12]), ValueError, "tokens:"),
    (lambda: get_task("add").decode([-1]), ValueError, "tokens:"),
    (lambda: get_task("add").decode([[1, 2]]), ValueError, "tokens:"),
    (lambda: task_seeds(-1), ValueError, "seed:"),
    (lambda: task_seeds(1.0), TypeError, "seed:"),
])
def test_bad_input_names_the_parameter(call, exc, msg):
    with pytest.raises(exc) as info:
        call()
    assert str(info.value).startswith(msg)


def test_accuracy_bad_input():
    b = make_batch("add", 3, rng=0)
    good = np.eye(12)[b.targets]  # (3, 8, 12)
    cases = [
        good[:, :-1],  # wrong T
        good[:2],  # wrong B
        good[..., :11],  # 11 ids, but every add sequence has '=' (id 11) among its targets
        np.where(good > 0, np.nan, 0.0),
        np.full_like(good, -np.inf),  # no law in any row
        good[0],  # 2-D
        good[None],  # 4-D
        good.astype(complex),
    ]
    for logits in cases:
        with pytest.raises((ValueError, TypeError), match="^logits:"):
            accuracy(logits, b)
    with pytest.raises(TypeError, match="^batch:"):
        accuracy(good, (b.tokens, b.targets, b.mask))
    with pytest.raises(ValueError, match="^batch:"):
        accuracy(good, Batch(b.tokens, b.targets, np.zeros_like(b.mask)))
    with pytest.raises(ValueError, match="^batch:"):
        accuracy(np.zeros((0, 8, 12)), make_batch("add", 0, rng=0))

"""The regression-rate bound (docs/statistics.md): how many samples of an eval set are worse in
the candidate than in the baseline, by human verdict, with a one-sided upper confidence bound
that stays valid however often it is looked at.

Pure (numpy, scipy/statsmodels). Everything
here is vectorised over leading axes so that the simulation tests (tests/stats) run thousands
of reviews at once through the same functions the service uses.

The pieces, each documented in docs/statistics.md:

- strata: change class x slice value. `unchanged` samples have the same output on both sides, so
  the candidate cannot be worse there: a known zero, never sampled. `regressed` samples (the scores
  say the candidate got worse) are a census: served first, every one of them.
- sample order (`sample_order`): seeded; census first, then every other stratum interleaved in
  proportion to its size, so any prefix of the order is a proportional stratified sample.
- estimator (`stratified_bound`): census strata exactly, unlabeled strata at their worst (all
  regressions), partly labeled strata by the Korn-Graubard effective-sample-size Clopper-Pearson
  bound (statsmodels `proportion_confint(method="beta")`) with a finite-population correction.
- looking at any time (`sequential_bound`): alpha spending over checkpoints. The bound changes only
  when the number of labels reaches a checkpoint (20, 30, 45, 68, ... each 1.5x the last); at
  checkpoint j it is computed at level alpha / ((j+1)(j+2)). These levels sum to alpha, so the
  chance that ANY bound ever shown is wrong is at most alpha, however often QA looks and whenever
  labeling stops.
- sample size (`labels_needed`): the smallest checkpoint at which the bound would pass if the rate
  seen so far holds (before any label: if no regression turns up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

FIRST_CHECKPOINT = 20
CHECKPOINT_RATIO = 1.5


# -- checkpoints and alpha spending ---------------------------------------------------------------

def checkpoint_size(j) -> np.ndarray | int:
    """Labels at checkpoint j (0, 1, 2, ...): ceil(20 * 1.5**j)."""
    out = np.ceil(FIRST_CHECKPOINT * CHECKPOINT_RATIO ** np.asarray(j, dtype=float) - 1e-9).astype(int)
    return int(out) if np.ndim(out) == 0 else out


def checkpoint_index(n) -> np.ndarray | int:
    """The last checkpoint reached with n labels (-1: none yet)."""
    n = np.asarray(n)
    j = np.floor(np.log(np.maximum(n, 1) / FIRST_CHECKPOINT) / math.log(CHECKPOINT_RATIO) + 1e-9).astype(int)
    j = np.where(n < FIRST_CHECKPOINT, -1, j)
    # guard the float rounding at the edges: checkpoint_size(j) <= n < checkpoint_size(j+1)
    j = np.where((j >= 0) & (checkpoint_size(np.maximum(j, 0)) > n), j - 1, j)
    j = np.where(checkpoint_size(j + 1) <= n, j + 1, j)
    return int(j) if j.ndim == 0 else j


def spent_alpha(alpha: float, j) -> np.ndarray | float:
    """The level spent at checkpoint j: alpha / ((j+1)(j+2)); summed over all j it is alpha."""
    j = np.asarray(j, dtype=float)
    out = alpha / ((j + 1.0) * (j + 2.0))
    return float(out) if out.ndim == 0 else out


# -- exact one-sided bounds ------------------------------------------------------------------------

def cp_upper(x, n, alpha):
    """One-sided Clopper-Pearson upper bound at level alpha (statsmodels, exact; x, n may be
    fractional effective counts). n == 0: 1."""
    from statsmodels.stats.proportion import proportion_confint

    x, n, alpha = np.broadcast_arrays(np.asarray(x, float), np.asarray(n, float), np.asarray(alpha, float))
    out = np.ones(x.shape)
    ok = n > 0
    if ok.any():
        xs = np.clip(x[ok], 0.0, n[ok])
        _, hi = proportion_confint(xs, n[ok], alpha=2 * alpha[ok], method="beta")
        out[ok] = np.where(xs >= n[ok], 1.0, hi)
    return out if out.ndim else float(out)


def fpc_factor(n, N):
    """How many draws with replacement a sample of n out of N is worth, per draw: -ln(1-f)/f with
    f = n/N (1 for f -> 0, infinite for a census). It makes the Clopper-Pearson bound with no
    regression found equal the exact hypergeometric one; the variance correction 1/(1-f) would
    understate the bound near a census."""
    n = np.asarray(n, float)
    N = np.asarray(N, float)
    f = np.where(N > 0, np.minimum(n / np.maximum(N, 1), 1.0), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(f < 1e-12, 1.0, -np.log1p(-np.minimum(f, 1.0)) / np.maximum(f, 1e-300))
    return g


def stratified_bound(N, n, x, known_zero, alpha):
    """(estimate, upper bound) of the share of regressions over all strata.

    N, n, x: arrays [..., H] of stratum sizes, labeled samples, regressions among them;
    known_zero: [H] strata that cannot hold a regression (unchanged outputs); alpha: scalar or [...].
    Census strata (n == N) count exactly; unlabeled ones as all regressions (fail closed); the
    partly labeled ones by Korn-Graubard: an effective sample n_eff = 1 / sum(w_h^2 / (n_h g_h))
    (w_h their share of the partly labeled part, g_h the finite-population factor), x_eff = p * n_eff,
    and the Clopper-Pearson bound of x_eff out of n_eff."""
    N = np.asarray(N, float)
    n = np.asarray(n, float)
    x = np.asarray(x, float)
    kz = np.broadcast_to(np.asarray(known_zero, bool), N.shape)
    total = N.sum(-1)
    total_safe = np.maximum(total, 1.0)
    W = N / total_safe[..., None]
    census = ~kz & (n >= N) & (N > 0)
    unlabeled = ~kz & (n <= 0) & (N > 0)
    partial = ~kz & ~census & ~unlabeled & (N > 0)
    p_h = np.where(n > 0, x / np.maximum(n, 1.0), 0.0)
    exact = (W * p_h * census).sum(-1)
    worst = (W * unlabeled).sum(-1)
    V = (W * partial).sum(-1)
    w = np.where(partial, W / np.maximum(V, 1e-300)[..., None], 0.0)
    p_part = (w * p_h).sum(-1)
    g = fpc_factor(n, N)
    terms = np.where(partial, w ** 2 / np.maximum(n * g, 1e-300), 0.0).sum(-1)
    n_eff = np.where(terms > 0, 1.0 / np.maximum(terms, 1e-300), 0.0)
    upper_part = np.where(V > 0, cp_upper(p_part * n_eff, n_eff, alpha), 0.0)
    estimate = exact + V * p_part        # strata with no label yet add nothing to the estimate, all to the bound
    bound = np.minimum(exact + V * upper_part + worst, 1.0)
    empty = total <= 0
    return np.where(empty, 0.0, estimate), np.where(empty, 0.0, bound)


# -- the sample order -------------------------------------------------------------------------------

def sample_order(strata: np.ndarray, census: np.ndarray, known_zero: np.ndarray, seed: int) -> np.ndarray:
    """Indices of the samples to review, in order: census samples first (random order), then the
    others interleaved so that every prefix is proportional to the strata's sizes (the k-th of a
    stratum of size N_h comes at (k + u) / N_h, u uniform per stratum), ties broken at random.
    Known-zero samples are left out."""
    rng = np.random.default_rng(seed)
    strata = np.asarray(strata)
    idx = np.arange(len(strata))
    keep = ~np.asarray(known_zero, bool)
    first = idx[keep & census]
    rest = idx[keep & ~census]
    first = first[rng.permutation(len(first))]
    if len(rest):
        codes, inverse, counts = np.unique(strata[rest], return_inverse=True, return_counts=True)
        perm = rng.permutation(len(rest))
        rest, inverse = rest[perm], inverse[perm]
        rank = np.empty(len(rest), int)
        order = np.argsort(inverse, kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rank[order] = np.arange(len(rest)) - np.repeat(starts, counts)
        offset = rng.random(len(codes))
        priority = (rank + offset[inverse]) / counts[inverse]
        rest = rest[np.lexsort((rng.random(len(rest)), priority))]
    return np.concatenate([first, rest]).astype(int)


# -- the bound as labels come in --------------------------------------------------------------------

@dataclass(frozen=True)
class BoundFigures:
    """What the policy, `show --json`, the dialog and the report say of one population."""

    estimate: float               # the share of regressions, estimated (over the labeled strata)
    bound: float                  # its one-sided upper bound at `confidence` (1.0: none yet)
    labels: int                   # labels with a verdict that count
    used: int                     # of those, the ones the bound uses (up to the last checkpoint)
    needed: int | None            # more labels likely needed (0: passes; None: not reachable at this rate)
    max_rate: float
    confidence: float
    population: int               # samples of the eval set (or slice)
    estimator: str = "stratified"
    history: tuple[tuple[int, float], ...] = field(default_factory=tuple)   # (labels, bound) per checkpoint

    @property
    def ok(self) -> bool:
        return self.used > 0 and self.bound <= self.max_rate


def sequential_bound(N, known_zero, label_strata, label_values, alpha: float, *, ppi: "PPIInput | None" = None):
    """(estimate, bound, used, history) from the labels in the order they were made.

    N: [H] stratum sizes; label_strata/label_values: per label in time order, its stratum and
    1 (regression) / 0. The bound is the one of the last checkpoint reached (alpha spent there)."""
    N = np.asarray(N, float)
    H = len(N)
    ls = np.asarray(label_strata, int)
    lv = np.asarray(label_values, float)
    total = len(ls)
    j_last = checkpoint_index(total)
    history = []
    estimate, bound, used = 0.0, 1.0, 0
    # a census of every stratum is exact whatever the checkpoint: its bound is the count itself
    full_n = np.bincount(ls, minlength=H).astype(float) if total else np.zeros(H)
    known_zero = np.asarray(known_zero, bool)
    if total and np.all(known_zero | (full_n >= N)):
        x = np.bincount(ls, weights=lv, minlength=H)
        e, b = stratified_bound(N, full_n, x, known_zero, alpha)
        return float(e), float(b), total, [(total, float(b))]
    for j in range(0, j_last + 1):
        m = checkpoint_size(j)
        n = np.bincount(ls[:m], minlength=H).astype(float)
        x = np.bincount(ls[:m], weights=lv[:m], minlength=H)
        a = spent_alpha(alpha, j)
        if ppi is not None:
            e, b = ppi.bound(ls[:m], lv[:m], a)
        else:
            e, b = stratified_bound(N, n, x, known_zero, a)
        history.append((int(m), float(b)))
        estimate, bound, used = float(e), float(b), int(m)
    if not history and total:
        n = np.bincount(ls, minlength=H).astype(float)
        x = np.bincount(ls, weights=lv, minlength=H)
        estimate, _ = stratified_bound(N, n, x, known_zero, alpha)
        estimate = float(estimate)
    return estimate, bound, used, history


def labels_needed(N, known_zero, census, label_strata, label_values, alpha: float, max_rate: float) -> int | None:
    """More labels likely needed before the bound passes (0: it passes now; None: not at this rate).

    The documented formula (docs/statistics.md, "How many labels"): census strata at the share of
    regressions seen in them so far (before any label: all of them), the rest of the eval set at
    rate q (seen so far in the partly labeled strata; none seen yet: 0), sampled in proportion; the
    answer is the smallest checkpoint n with
        B(n) = C / N + V * CP_upper(q * m * g, m * g, alpha_j(n)) <= max_rate,
    m = n - (census size) labels in the rest, g its finite-population factor, minus the labels so far."""
    N = np.asarray(N, float)
    kz = np.asarray(known_zero, bool)
    cs = np.asarray(census, bool) & ~kz
    rest = ~kz & ~cs
    ls = np.asarray(label_strata, int)
    lv = np.asarray(label_values, float)
    total_N = max(N.sum(), 1.0)
    n_now = len(ls)
    in_census = cs[ls] if n_now else np.zeros(0, bool)
    c_size = int(N[cs].sum())
    c_rate = float(lv[in_census].mean()) if in_census.any() else 1.0
    if cs.any() and in_census.sum() >= c_size:
        c_rate = float(lv[in_census].mean())
    rest_size = float(N[rest].sum())
    q = float(lv[~in_census].mean()) if (~in_census).sum() else 0.0
    V = rest_size / total_N
    C = c_size * c_rate
    if rest_size <= 0:   # everything is census: label all of it
        return max(c_size - n_now, 0) if C / total_N <= max_rate else None
    for j in range(0, 200):
        n = checkpoint_size(j)
        m = n - c_size
        if m <= 0:
            continue
        if m >= rest_size:
            b = C / total_N + V * q
            n = int(c_size + rest_size)
        else:
            g = float(fpc_factor(m, rest_size))
            b = C / total_N + V * float(cp_upper(q * m * g, m * g, spent_alpha(alpha, j)))
        if b <= max_rate:
            return max(int(n) - n_now, 0)
        if m >= rest_size:
            return None
    return None


# -- prediction-powered inference ------------------------------------------------------------------

@dataclass(frozen=True)
class PPIInput:
    """Automatic judgments for every sample (yhat_all: 1 = the scores say the candidate is worse),
    and for each label the automatic judgment of its sample (in the label order)."""

    yhat_all: np.ndarray
    label_yhat: np.ndarray

    def bound(self, label_strata, label_values, alpha: float):
        return ppi_upper(np.asarray(label_values, float), self.label_yhat[: len(label_values)], self.yhat_all, alpha)


def ppi_upper(y, yhat_labeled, yhat_all, alpha: float):
    """(estimate, one-sided upper bound) of the mean of y over the population: PPI++ (Angelopoulos,
    Duchi, Zrnic 2023), the automatic judgments of every sample rectified by the human labels,
    with the power-tuning weight lambda in [0, 1] (lambda = 0 is the labels alone). A CLT interval
    (scipy's normal quantile): asymptotic, see docs/statistics.md.

    The same estimator as ppi_py's ppi_mean_ci (lam_optim_mode="overall"): the `ppi-python` wheel
    installs a top-level package named `tests`, which shadows this project's tests, so it is not
    a dependency; tests/stats checks this against the labels-only interval."""
    from scipy.stats import norm

    y = np.asarray(y, float)
    yh = np.asarray(yhat_labeled, float)
    ya = np.asarray(yhat_all, float)
    n, N = len(y), len(ya)
    if n < 2:
        return (float(y.mean()) if n else 0.0), 1.0
    lam = ppi_lambda(y, yh, ya)
    est = lam * ya.mean() + (y - lam * yh).mean()
    se = math.sqrt((lam * ya).std() ** 2 / N + (y - lam * yh).std() ** 2 / n)
    return float(est), float(min(max(est + norm.ppf(1 - alpha) * se, 0.0), 1.0))


def ppi_lambda(y, yh, ya) -> float:
    """PPI++'s plug-in optimal weight of the automatic judgments, clipped to [0, 1]."""
    n, N = len(y), len(ya)
    var_all = float(np.var(np.concatenate([yh, ya])))
    if var_all <= 0:
        return 0.0
    cov = float(np.mean((y - y.mean()) * (yh - yh.mean())))
    return float(np.clip(cov / ((1 + n / N) * var_all), 0.0, 1.0))


def classical_upper(y, alpha: float):
    """The labels-only counterpart of `ppi_upper` (the same CLT interval on the labels alone)."""
    from scipy.stats import norm

    y = np.asarray(y, float)
    se = y.std() / math.sqrt(max(len(y), 1))
    return float(y.mean()), float(min(max(y.mean() + norm.ppf(1 - alpha) * se, 0.0), 1.0))

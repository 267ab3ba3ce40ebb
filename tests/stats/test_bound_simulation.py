"""Simulated reviews (docs/statistics.md): the 95% bound covers the true regression rate in at
least 94% of 2,000 reviews at several true rates and strata, also when it is checked after every
label (the bound changes only at checkpoints, so checking after every label is checking at every
checkpoint); the sample size follows the documented formula; PPI is no wider than labels alone
when the automatic score is informative. Vectorised: thousands of reviews at once."""

from __future__ import annotations

import numpy as np
import pytest

from signoff.core import stats

REVIEWS = 2000
ALPHA = 0.05


def simulate(N, rates, known_zero, n_labels, seed):
    """Per review: a population (regressions drawn per stratum), a stratified proportional sample
    without replacement in the order `sample_order` serves, and the bound at every checkpoint."""
    rng = np.random.default_rng(seed)
    N = np.asarray(N)
    H = len(N)
    strata = np.repeat(np.arange(H), N)
    kz = np.asarray(known_zero, bool)
    census = np.zeros(H, bool)
    truth = np.zeros(REVIEWS)
    covered_final = np.ones(REVIEWS, bool)
    covered_always = np.ones(REVIEWS, bool)
    # one sample order per review (a different seed each), values drawn per review
    values = (rng.random((REVIEWS, len(strata))) < np.asarray(rates)[strata]) & ~kz[strata]
    truth = values.mean(1)
    orders = np.stack([stats.sample_order(strata, census[strata], kz[strata], seed * 10_000 + r)
                       for r in range(REVIEWS)])[:, :n_labels]
    ls = strata[orders]                                     # [R, n]
    lv = np.take_along_axis(values, orders, 1).astype(float)
    j_last = stats.checkpoint_index(n_labels)
    for j in range(j_last + 1):
        m = stats.checkpoint_size(j)
        n = np.stack([(ls[:, :m] == h).sum(1) for h in range(H)], 1).astype(float)
        x = np.stack([((ls[:, :m] == h) * lv[:, :m]).sum(1) for h in range(H)], 1)
        _, bound = stats.stratified_bound(np.broadcast_to(N, n.shape), n, x, kz, stats.spent_alpha(ALPHA, j))
        ok = bound >= truth - 1e-12
        covered_always &= ok
        if j == j_last:
            covered_final = ok
    return truth, covered_final, covered_always


@pytest.mark.parametrize("N, rates, known_zero, n_labels", [
    ([5000], [0.02], [False], 300),                               # one stratum, 2%
    ([4000, 800, 200], [0.0, 0.05, 0.3], [True, False, False], 250),   # unchanged + two classes
    ([600, 300, 100, 50], [0.01, 0.04, 0.1, 0.5], [False] * 4, 400),   # four strata, near-census of the small ones
    ([3000, 1500], [0.001, 0.003], [False, False], 200),           # rare regressions
])
def test_the_bound_covers_the_true_rate_at_every_look(N, rates, known_zero, n_labels):
    truth, final, always = simulate(N, rates, known_zero, n_labels, seed=sum(N))
    assert final.mean() >= 0.94
    assert always.mean() >= 0.94          # the sequential claim: checked after every label


def test_checkpoints_and_spending():
    sizes = [stats.checkpoint_size(j) for j in range(8)]
    assert sizes == [20, 30, 45, 68, 102, 152, 228, 342]
    assert [stats.checkpoint_index(n) for n in (0, 19, 20, 29, 30, 44, 45, 341, 342)] == [-1, -1, 0, 0, 1, 1, 2, 6, 7]
    total = sum(stats.spent_alpha(ALPHA, j) for j in range(100_000))
    assert total == pytest.approx(ALPHA, rel=1e-4) and total < ALPHA


@pytest.mark.parametrize("max_rate, population", [(0.02, 10**9), (0.05, 10**9), (0.02, 2000), (0.1, 300)])
def test_sample_size_matches_the_documented_formula(max_rate, population):
    """One stratum, no regression found: the plan is the first checkpoint n with
    1 - alpha_j ** (1 / (n g)) <= max_rate (the exact Clopper-Pearson bound of 0 out of n g draws),
    g = -ln(1 - f) / f the finite-population factor (docs/statistics.md, "How many labels")."""
    def formula():
        for j in range(200):
            n = int(np.ceil(20 * 1.5 ** j - 1e-9))
            if n >= population:
                return population
            f = n / population
            g = 1.0 if f < 1e-12 else -np.log1p(-f) / f
            if 1 - stats.spent_alpha(ALPHA, j) ** (1 / (n * g)) <= max_rate:
                return n
    n_plan = stats.labels_needed([population], [False], [False], [], [], ALPHA, max_rate)
    assert n_plan == formula()
    # and labeling that many, with no regression found, passes; one checkpoint fewer does not
    j = stats.checkpoint_index(n_plan)
    ok_at = lambda n, jj: stats.stratified_bound([population], [n], [0], [False], stats.spent_alpha(ALPHA, jj))[1]
    if n_plan < population:
        assert ok_at(n_plan, j) <= max_rate
        if j > 0:
            assert ok_at(stats.checkpoint_size(j - 1), j - 1) > max_rate


def test_ppi_is_no_wider_than_labels_alone_with_an_informative_score():
    rng = np.random.default_rng(7)
    N, n, runs = 5000, 200, 200
    narrower = []
    for _ in range(runs):
        yhat = (rng.random(N) < 0.05).astype(float)              # the scores flag 5%
        y = np.where(yhat == 1, rng.random(N) < 0.8, rng.random(N) < 0.01).astype(float)  # mostly right
        idx = rng.choice(N, n, replace=False)
        _, hi_ppi = stats.ppi_upper(y[idx], yhat[idx], yhat, ALPHA)
        mean, hi_cls = stats.classical_upper(y[idx], ALPHA)
        narrower.append(hi_ppi - stats.ppi_upper(y[idx], yhat[idx], yhat, ALPHA)[0] <= hi_cls - mean + 1e-12)
    assert np.mean(narrower) == 1.0


def test_a_census_is_exact_and_unlabeled_strata_count_as_all_regressions():
    est, bound = stats.stratified_bound([100, 50], [100, 0], [3, 0], [False, False], ALPHA)
    assert est == pytest.approx(3 / 150) and bound == pytest.approx(3 / 150 + 50 / 150)
    est, bound = stats.stratified_bound([100, 900], [100, 0], [3, 0], [False, True], ALPHA)
    assert est == bound == pytest.approx(0.003)

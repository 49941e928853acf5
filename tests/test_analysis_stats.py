"""Statistics against values computed by hand and against scipy.stats used directly."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis import drift, findings, stats, summary
from analysis.labels import order_devices, order_variants, variant
from bench.contract.headline import median_interval


def test_median_ci_two_values_covers_both_and_is_seeded() -> None:
    # [min, max] of 2 values covers the median unless both fall on one side: 1 − 2/4 = 50%
    est = stats.median_ci([1.0, 3.0])
    assert (est.value, est.low, est.high, est.n) == (2.0, 1.0, 3.0, 2)
    assert est.level == 0.5
    assert stats.median_ci([1.0, 3.0, 7.0, 2.0]) == stats.median_ci([1.0, 3.0, 7.0, 2.0])


def test_median_ci_edge_cases() -> None:
    assert stats.median_ci([1.5, 1.5, 1.5]) == stats.Estimate(1.5, 1.5, 1.5, 3, 0.75)
    one = stats.median_ci([4.0])
    assert one.value == 4.0 and math.isnan(one.low) and one.n == 1
    assert math.isnan(stats.median_ci([]).value)
    assert stats.median_ci([1.0, float("nan"), 3.0]).n == 2  # missing values are ignored


def test_median_ci_of_skewed_sample_contains_median() -> None:
    est = stats.median_ci([1, 2, 3, 4, 100])
    assert est.value == 3 and 1 <= est.low <= 3 <= est.high <= 100


def test_ratio_ci_exact_and_resampled() -> None:
    exact = stats.Estimate(2.0, 2.0, 2.0, 3, 0.95)
    assert stats.ratio_ci([1.0, 1.0, 1.0], [2.0, 2.0, 2.0]) == exact
    base = [1.0, 1.1, 0.9, 1.05, 0.95]
    est = stats.ratio_ci(base, [x * 1.5 for x in base])
    assert est.value == pytest.approx(1.5) and est.contains(1.5) and est.low < 1.5 < est.high


def test_robust_z_and_outliers() -> None:
    # median 3, |deviations| 2 1 0 1 97 → MAD 1; z = 0.6745 · deviation
    z = stats.robust_z([1, 2, 3, 4, 100])
    assert z == pytest.approx([-1.349, -0.6745, 0.0, 0.6745, 65.4265])
    assert stats.mad_outliers([1, 2, 3, 4, 100]).tolist() == [False] * 4 + [True]
    # MAD 0: the mean absolute deviation (0.2) · 1.2533 stands in → z(6) = 3.99
    assert stats.robust_z([5, 5, 5, 5, 6])[-1] == pytest.approx(1 / (1.253314 * 0.2))
    assert stats.mad_outliers([5, 5, 5, 5, 6]).tolist() == [False] * 4 + [True]
    assert not stats.mad_outliers([5, 5, 5, 5]).any()


def test_order_statistic_ranks_and_levels() -> None:
    # level of [x(k), x(n−k+1)] = 1 − 2·P(Bin(n, ½) ≤ k − 1)
    def interval(n: int) -> tuple[float, float, float]:  # ranks k and n − k + 1, 1-based
        est = stats.median_ci(np.arange(1.0, n + 1))
        return est.low, est.high, est.level

    assert interval(3) == (1, 3, 0.75)
    assert interval(4) == (1, 4, 0.875)
    assert interval(5) == (1, 5, pytest.approx(0.9375))
    assert interval(6) == (1, 6, pytest.approx(1 - 2 / 64))
    # 1 − 2·P(Bin(20, ½) ≤ 5) = 0.9586 with k = 6; k = 7 would be 0.885
    assert interval(20) == (6, 15, pytest.approx(1 - 2 * sps.binom.cdf(5, 20, 0.5)))
    assert median_interval(list(range(20, 0, -1))) == interval(20)  # the terminal's, unsorted
    assert min(n for n in range(2, 20) if interval(n)[2] >= 0.95) == stats.FULL_CI_REPEATS


def test_ratio_ci_is_a_welch_interval_on_log_times() -> None:
    base, other = [1.0, 1.2, 0.9, 1.1], [1.3, 1.5, 1.2, 1.6]
    ref = sps.ttest_ind(np.log(other), np.log(base), equal_var=False).confidence_interval(0.95)
    est = stats.ratio_ci(base, other)
    assert est.value == pytest.approx(np.median(other) / np.median(base))
    assert (est.low, est.high) == pytest.approx((math.exp(ref.low), math.exp(ref.high)))
    assert est.level == 0.95
    assert math.isnan(stats.ratio_ci([1.0], [2.0, 2.1]).low)  # one repeat: no interval


def test_trend_flags_only_a_steady_drift() -> None:
    rising = drift.trend([[1.0, 1.1, 1.2, 1.3, 1.4, 1.5]])  # +0.1/epoch · 5 / median 1.25
    assert rising.not_steady and rising.drift == pytest.approx(0.5 / 1.25)
    relative = np.array([1.0, 1.1, 1.2, 1.3, 1.4, 1.5]) / 1.25  # each repeat / its median
    assert rising.slope == pytest.approx(sps.theilslopes(relative).slope)
    assert rising.tau == pytest.approx(1.0) and rising.p == pytest.approx(2 / 720)
    assert not drift.trend([[1.0, 1.1, 0.9, 1.05, 1.0, 0.95]]).not_steady  # no direction
    assert not drift.trend([[1.0, 1.1, 1.2, 1.3]]).not_steady  # 4 epochs: Kendall p ≥ 0.083
    assert not drift.trend([[1.0, 1.5]]).not_steady  # too few epochs to tell
    assert not drift.trend([[1.00, 1.01, 1.02, 1.03, 1.04, 1.05]]).not_steady  # +4%: too small
    # the median over repeats rises in both; in the second only 3 of 5 repeats rise (< 2/3)
    up, down = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5], [1.5, 1.4, 1.3, 1.2, 1.1, 1.0]
    up2 = [1.0, 1.12, 1.21, 1.33, 1.4, 1.52]
    assert drift.trend([up, up, up2]).not_steady
    disagree = drift.trend([up, up, up2, down, down])
    assert disagree.p < 0.05 and disagree.agree == 0.6 and not disagree.not_steady


def test_mann_whitney_exact_at_small_n() -> None:
    # 3 against 3, complete separation: 2 of the C(6, 3) = 20 orderings are as extreme
    u, p = stats.mann_whitney([1, 2, 3], [4, 5, 6])
    assert u == 0 and p == pytest.approx(2 / 20)
    u, p = stats.mann_whitney([1, 2, 3, 4], [5, 6, 7, 8])
    assert u == 0 and p == pytest.approx(2 / 70)
    assert stats.mann_whitney([1, 1], [1, 1]) == (2.0, 1.0)
    assert stats.mann_whitney([1, 2], [2, 1])[1] == 1.0


def test_smallest_attainable_p() -> None:
    assert stats.smallest_p(3, 3) == pytest.approx(stats.mann_whitney([1, 2, 3], [4, 5, 6])[1])
    assert stats.smallest_p(3, 3) > 0.05 > stats.smallest_p(4, 4)
    assert stats.smallest_p(4, 4) == pytest.approx(2 / 70)
    assert stats.smallest_p(1, 1) == 1.0 and stats.smallest_p(2, 7) == pytest.approx(2 / 36)
    smallest = min(n for n in range(1, 10) if stats.smallest_p(n, n) < stats.ALPHA)
    assert stats.VERDICT_REPEATS == smallest == 4


def test_mann_whitney_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    for n1, n2 in [(3, 4), (5, 5), (8, 12), (20, 7), (12, 15)]:
        a = np.round(rng.normal(1.0, 0.1, n1), 2)  # rounded: ties
        b = np.round(rng.normal(1.05, 0.1, n2), 2)
        method = "exact" if min(n1, n2) <= 8 else "asymptotic"
        ref = sps.mannwhitneyu(a, b, method=method)
        u, p = stats.mann_whitney(a, b)
        assert (u, p) == pytest.approx((ref.statistic, ref.pvalue))


def test_benjamini_hochberg_adjustment() -> None:
    p = [0.01, 0.04, math.nan, 0.03, 0.5]
    adjusted = stats.adjust_p(p)
    # sorted 0.01 0.03 0.04 0.5 (m = 4): p·m/rank = 0.04 0.06 0.0533 0.5, then the running
    # minimum from the top: 0.04 0.0533 0.0533 0.5
    assert adjusted[[0, 1, 3, 4]] == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert math.isnan(adjusted[2])
    assert adjusted[[0, 1, 3, 4]] == pytest.approx(
        sps.false_discovery_control([0.01, 0.04, 0.03, 0.5])
    )


def test_break_even_epochs() -> None:
    # eager: 10 s to the end of epoch 1, then 2 s/epoch; compiled: 30 s, then 1 s/epoch.
    # after N epochs: 10 + 2(N − 1) vs 30 + (N − 1) → equal at N = 21
    assert stats.break_even_epochs(10, 2, 30, 1) == 21
    assert 10 + 2 * 19 < 30 + 19 and 10 + 2 * 20 == 30 + 20
    assert stats.break_even_epochs(10, 2, 10.5, 1.5) == 2
    assert stats.break_even_epochs(10, 2, 8, 1) == 1  # cheaper start and faster: at once
    assert stats.break_even_epochs(10, 2, 30, 2) == math.inf  # never catches up
    assert stats.break_even_epochs(10, 2, 8, 3) == math.inf  # ahead at first, then behind


def test_break_even_table_pairs_modes_with_eager() -> None:
    identity = {c: "x" for c in summary.CONFIG} | {"batch_size": 64, "threads": 1}
    rows = [
        identity | {"mode": "eager", "cold_s": 10.0, "steady_s": 2.0, "label": "e"},
        identity | {"mode": "compile", "cold_s": 30.0, "steady_s": 1.0, "label": "c"},
        identity | {"mode": "graph", "cold_s": 5.0, "steady_s": 3.0, "label": "g"},
    ]
    table = findings.break_even_table(pd.DataFrame(rows))
    assert table["configuration"].tolist() == ["c", "g"]
    assert table["break-even epoch"].tolist() == [21, math.inf]
    lone = pd.DataFrame(rows[1:])
    assert findings.break_even_table(lone).empty  # no eager twin


def test_vectorised_outlier_mask_equals_robust_z() -> None:
    walls = {"a": [1.0, 1.01, 0.99, 1.0, 1.6], "b": [2.0, 2.0, 2.0, 2.0, 2.3], "c": [3.0, 3.1]}
    rows = [
        {"run_id": "r", "trial_id": t, "epoch": e + 2, "wall_s": w}
        for t, ws in walls.items()
        for e, w in enumerate(ws)
    ]
    frame = pd.DataFrame(rows)
    got = summary.outlier_mask(frame)
    want = np.concatenate([stats.mad_outliers(ws) for ws in walls.values()])
    assert got.tolist() == want.tolist() and got.sum() == 2


def test_labels_and_orders() -> None:
    assert variant("keras", "tensorflow", "graph") == "keras graph"
    assert variant("keras", "jax", "xla") == "keras[jax] xla"
    assert order_variants(["keras xla", "keras graph", "torch compile", "torch eager"]) == [
        "torch eager",
        "torch compile",
        "keras graph",
        "keras xla",
    ]
    assert order_devices(["cuda:1", "cuda:0", "cpu", "cuda:10"]) == [
        "cpu",
        "cuda:0",
        "cuda:1",
        "cuda:10",
    ]


def test_fast_order_statistics_equal_numpy_and_scipy() -> None:
    """stats.median / stats.quantile and drift.theil_sen replace numpy's and scipy's calls in
    the per-repeat loops: they must give the same numbers, NaN left out."""
    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 4, 5, 10, 21):
        x = rng.lognormal(0.0, 0.3, size=n)
        assert stats.median(x) == pytest.approx(np.median(x), rel=1e-15)
        for q in (0.1, 0.25, 0.9):
            assert stats.quantile(x, q) == pytest.approx(np.percentile(x, 100 * q), rel=1e-15)
        if n >= 2:
            assert drift.theil_sen(x) == pytest.approx(sps.theilslopes(x).slope, rel=1e-12)
    assert stats.median([3.0, float("nan"), 1.0]) == 2.0
    assert math.isnan(stats.median([])) and math.isnan(stats.quantile([float("nan")], 0.25))

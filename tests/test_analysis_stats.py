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
    # MAD 0: the mean absolute deviation (0.2) · 1.2533 stands in → z(6) = 3.99, below the
    # cut-off for 5 values (the MAD of 5 values is often tiny: normal samples reach z ≈ 19)
    assert stats.robust_z([5, 5, 5, 5, 6])[-1] == pytest.approx(1 / (1.253314 * 0.2))
    assert not stats.mad_outliers([5, 5, 5, 5, 6]).any()
    assert stats.mad_outliers([5] * 9 + [6]).tolist() == [False] * 9 + [True]  # z 7.98 > 6.9
    assert not stats.mad_outliers([5, 5, 5, 5]).any()
    assert not stats.mad_outliers([1.0, 1.0, 100.0]).any()  # 3 values: no outlier verdict
    # each row of a 2-D array on its own
    rows = stats.robust_z([[1, 2, 3, 4, 100], [5, 5, 5, 5, 6]])
    assert rows[0] == pytest.approx(z) and rows[1][-1] == pytest.approx(3.99, abs=0.01)


def test_outlier_cutoff_per_count() -> None:
    assert stats.outlier_cutoff(3) == math.inf and stats.OUTLIER_MIN_N == 4
    cut = [stats.outlier_cutoff(n) for n in (5, 6, 8, 10, 20, 50)]
    assert cut == sorted(cut, reverse=True) and 4 < cut[-1] < cut[0] < 25
    assert stats.outlier_cutoff(10) == stats.outlier_cutoff(10)  # seeded: the same every time


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
    up = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5]  # +0.1/epoch · 5 / median 1.25 = +40 %
    up2, up3 = [1.0, 1.12, 1.21, 1.33, 1.4, 1.52], [0.95, 1.1, 1.18, 1.3, 1.45, 1.5]
    rising = drift.trend([up, up2, up3])
    drifts = [drift.relative_drift(np.array(r)) for r in (up, up2, up3)]
    assert drifts[0] == pytest.approx(0.5 / 1.25)
    relative = np.array(up) / 1.25  # each repeat / its median
    assert drifts[0] / 5 == pytest.approx(sps.theilslopes(relative).slope)
    assert rising.tested and rising.not_steady and rising.drift == pytest.approx(np.mean(drifts))
    assert rising.p == pytest.approx(sps.ttest_1samp(drifts, 0.0).pvalue)
    # fewer than 3 repeats, or fewer than 5 steady epochs: not tested (and so never flagged)
    for repeats in ([up], [up, up2], [up[:4], up2[:4], up3[:4]]):
        verdict = drift.trend(repeats)
        assert not verdict.tested and not verdict.not_steady
    wiggle = [1.0, 1.1, 0.9, 1.05, 1.0, 0.95]
    assert not drift.trend([wiggle] * 3).not_steady  # no direction beyond its own noise
    small = [1.00, 1.01, 1.02, 1.03, 1.04, 1.05]
    assert not drift.trend([small] * 3).not_steady  # +4%: too small
    # the mean rises, but only 3 of 5 repeats rise (< 2/3)
    down = up[::-1]
    disagree = drift.trend([up, up2, up3, down, down])
    assert disagree.agree == 0.6 and not disagree.not_steady


def test_one_sample_p_is_scipys() -> None:
    rng = np.random.default_rng(3)
    for n in (3, 4, 10):
        x = rng.normal(0.02, 0.05, n)
        assert drift.one_sample_p(x) == pytest.approx(sps.ttest_1samp(x, 0.0).pvalue)
    assert drift.one_sample_p(np.array([0.1, 0.1, 0.1])) == 0.0  # no spread: certain
    assert drift.one_sample_p(np.zeros(3)) == 1.0


def test_ratio_tests_p_and_interval_are_one_welch_test() -> None:
    rng = np.random.default_rng(2)
    base = rng.lognormal(0.0, 0.1, (200, 4))
    other = rng.lognormal(0.05, 0.1, (200, 5))
    test = stats.ratio_tests(base, other)
    ref = sps.ttest_ind(np.log(other), np.log(base), axis=1, equal_var=False)
    assert test.p == pytest.approx(ref.pvalue)
    # the interval excludes 1 exactly when p < 0.05
    outside = (test.low > 1) | (test.high < 1)
    assert outside.tolist() == (test.p < 0.05).tolist() and 0 < outside.sum() < 200
    # no spread on either side: the ratio is exact, p 0 (or 1 where nothing differs)
    exact = stats.ratio_tests(np.ones((2, 4)), np.array([[2.0] * 4, [1.0] * 4]))
    assert exact.p.tolist() == [0.0, 1.0] and exact.low.tolist() == [2.0, 1.0]
    # a value ≤ 0 or one value a side: no interval, no p
    none = stats.ratio_tests(np.array([[1.0, -1.0, 1.0, 1.0]]), np.ones((1, 4)))
    assert np.isnan(none.p[0]) and np.isnan(none.low[0])
    assert np.isnan(stats.ratio_tests(np.ones((1, 1)), np.ones((1, 4))).p[0])


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
    walls = {"a": [1.0, 1.01, 0.99, 1.0, 1.6], "b": [2.0] * 9 + [2.3], "c": [3.0, 3.1]}
    walls |= {"d": [2.0, 2.0, 2.0, 2.0, 2.3]}  # z 3.99: below the cut-off for 5 values
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

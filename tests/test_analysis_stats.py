"""Statistics against values computed by hand (and, where installed, against scipy)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import findings, stats, summary
from analysis.labels import fmt, order_devices, order_variants, variant


def test_median_ci_two_values_covers_both_and_is_seeded() -> None:
    # resampled medians of [1, 3] are 1 (p = 1/4), 2 (1/2) or 3 (1/4): the 95% CI is [1, 3]
    est = stats.median_ci([1.0, 3.0])
    assert (est.value, est.low, est.high, est.n) == (2.0, 1.0, 3.0, 2)
    assert stats.median_ci([1.0, 3.0, 7.0, 2.0]) == stats.median_ci([1.0, 3.0, 7.0, 2.0])


def test_median_ci_edge_cases() -> None:
    assert stats.median_ci([1.5, 1.5, 1.5]) == stats.Estimate(1.5, 1.5, 1.5, 3)
    one = stats.median_ci([4.0])
    assert one.value == 4.0 and math.isnan(one.low) and one.n == 1
    assert math.isnan(stats.median_ci([]).value)
    assert stats.median_ci([1.0, float("nan"), 3.0]).n == 2  # missing values are ignored


def test_median_ci_of_skewed_sample_contains_median() -> None:
    est = stats.median_ci([1, 2, 3, 4, 100])
    assert est.value == 3 and 1 <= est.low <= 3 <= est.high <= 100


def test_ratio_ci_exact_and_resampled() -> None:
    assert stats.ratio_ci([1.0, 1.0, 1.0], [2.0, 2.0, 2.0]) == stats.Estimate(2.0, 2.0, 2.0, 3)
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


def test_tau_and_theil_sen() -> None:
    assert stats.kendall_tau([1, 2, 3]) == 1 and stats.kendall_tau([3, 2, 1]) == -1
    assert stats.kendall_tau([1, 3, 2]) == pytest.approx(1 / 3)
    # pairwise slopes 1, 1, 3, 1, 4, 7 → median (1 + 3) / 2
    assert stats.theil_sen_slope([1, 2, 3, 10]) == 2.0


def test_trend_flags_only_a_steady_drift() -> None:
    rising = stats.trend([1.0, 1.1, 1.2, 1.3])  # slope 0.1 · 3 steps / median 1.15 = +26%
    assert rising.not_steady and rising.drift == pytest.approx(0.3 / 1.15)
    assert not stats.trend([1.0, 1.1, 0.9, 1.05]).not_steady  # tau 0
    assert not stats.trend([1.0, 1.5]).not_steady  # too few epochs to tell
    assert not stats.trend([1.00, 1.01, 1.02, 1.03]).not_steady  # +3%: below the threshold


def test_mann_whitney_hand_computed() -> None:
    # U = 9, mean 4.5, variance 9/12 · 7 = 5.25; z = (9 − 4.5 − 0.5)/√5.25
    u, p = stats.mann_whitney([1, 2, 3], [4, 5, 6])
    assert u == 0 and p == pytest.approx(math.erfc(4 / math.sqrt(5.25) / math.sqrt(2)))
    assert p == pytest.approx(0.0808556, rel=1e-6)
    # ties: mid-ranks 1, 3, 3 | 3, 5, 6 → U1 = 1; variance 9/12 · (7 − 24/30) = 4.65
    u, p = stats.mann_whitney([1, 2, 2], [2, 3, 4])
    assert u == 1 and p == pytest.approx(math.erfc(3 / math.sqrt(4.65) / math.sqrt(2)))
    assert stats.mann_whitney([1, 1], [1, 1]) == (2.0, 1.0)
    assert stats.mann_whitney([1, 2], [2, 1])[1] == 1.0


def test_smallest_attainable_p() -> None:
    assert stats.smallest_p(3, 3) == pytest.approx(stats.mann_whitney([1, 2, 3], [4, 5, 6])[1])
    assert stats.smallest_p(3, 3) > 0.05 > stats.smallest_p(4, 4)
    assert stats.smallest_p(4, 4) == pytest.approx(math.erfc(7.5 / math.sqrt(12) / math.sqrt(2)))
    assert stats.smallest_p(1, 1) == 1.0


def test_mann_whitney_matches_scipy() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    for n1, n2 in [(3, 4), (5, 5), (8, 12), (20, 7)]:
        a = np.round(rng.normal(1.0, 0.1, n1), 2)  # rounded: ties
        b = np.round(rng.normal(1.05, 0.1, n2), 2)
        ref = scipy_stats.mannwhitneyu(a, b, method="asymptotic")
        u, p = stats.mann_whitney(a, b)
        assert (u, p) == pytest.approx((ref.statistic, ref.pvalue))


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
    assert [fmt(x) for x in (1.025, 0.975, 2.0, 1234.5, float("nan"), math.inf)] == [
        "1.025",
        "0.975",
        "2",
        "1,234",
        "—",
        "never",
    ]

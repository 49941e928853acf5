"""The report warns when the loss does not fall on real data (a broken loop times wrong work)."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("pandas")

from analysis.findings import loss_warnings  # noqa: E402


def _epochs(trial_id: str, losses: list[float], run_id: str = "run") -> pd.DataFrame:
    epochs = range(1, len(losses) + 1)
    return pd.DataFrame({"run_id": run_id, "trial_id": trial_id, "epoch": epochs, "loss": losses})


def test_loss_that_does_not_fall_on_real_data_is_flagged():
    trials = pd.DataFrame(
        {
            "run_id": "run",
            "trial_id": ["learns", "stuck", "synthetic", "failed"],
            "status": ["ok", "ok", "ok", "failed"],
            "dataset": ["mnist5k", "mnist5k", "synthetic", "mnist5k"],
        }
    )
    epochs = pd.concat(
        [
            _epochs("learns", [2.3, 1.1, 0.6]),
            _epochs("stuck", [2.30, 2.31, 2.30]),
            _epochs("synthetic", [2.30, 2.31, 2.32]),
            _epochs("failed", [2.3, 2.4]),
        ]
    )
    warnings = loss_warnings(trials, epochs)
    assert len(warnings) == 1
    assert warnings[0].startswith("stuck: the training loss did not fall")
    assert "2.30 in epoch 1" in warnings[0]


def test_trial_ids_repeat_across_runs():
    # the same trial id in two runs: one learns, one is stuck; epochs of the two must not mix
    trials = pd.DataFrame(
        {"run_id": ["a", "b"], "trial_id": "0-fake", "status": "ok", "dataset": "mnist5k"}
    )
    epochs = pd.concat(
        [_epochs("0-fake", [2.5, 1.0, 0.5], run_id="a"), _epochs("0-fake", [2.4, 2.41, 2.42], "b")]
    )
    warnings = loss_warnings(trials, epochs)
    assert len(warnings) == 1
    assert warnings[0].startswith("0-fake: the training loss did not fall on real data in run b")
    assert "2.40 in epoch 1, 2.42 in the last" in warnings[0]

"""The report warns when the loss does not fall on real data (a broken loop times wrong work)."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("pandas")

from analysis.findings import loss_warnings  # noqa: E402


def _epochs(trial_id: str, losses: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"trial_id": trial_id, "epoch": range(1, len(losses) + 1), "loss": losses})


def test_loss_that_does_not_fall_on_real_data_is_flagged():
    trials = pd.DataFrame(
        {
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
    assert "2.3 in epoch 1" in warnings[0]

"""Native models in a report: is a native torch model and a native Keras model "the same network"?

A spec model is one definition built in every framework and proven the same network (`bench
models --verify`). A native model (trials.csv `definition = native`) is the user's own torch
factory and/or Keras factory: two definitions under one name. `reconcile` looks at every run
holding both under one model name:

- parameter counts agree (trainable and non-trainable, in every trial): the report says so, and
  also what was not checked (their forward pass, their initial weights, which differ);
- they differ: the report says they are not the same network, and the two are kept apart — the
  model is relabelled `NAME [torch native]` / `NAME [keras native]` in the analysed trials, so no
  table or figure sets their times side by side as one model's.
"""

from __future__ import annotations

import pandas as pd


def _counts(group: pd.DataFrame) -> set[tuple[int, int]]:
    sized = group.dropna(subset=["params_trainable", "params_non_trainable"])
    return {
        (int(t), int(n))
        for t, n in zip(sized["params_trainable"], sized["params_non_trainable"], strict=True)
    }


def _text(counts: set[tuple[int, int]]) -> str:
    return " or ".join(f"{t:,} trainable + {n:,} non-trainable" for t, n in sorted(counts))


def reconcile(trials: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The trials, with mismatched native pairs relabelled, and one note per native pair."""
    if "definition" not in trials or not (trials["definition"] == "native").any():
        return trials, []
    trials = trials.copy()
    several_runs = trials["run_id"].nunique() > 1
    notes = []
    native = trials[trials["definition"] == "native"]
    for (run_id, model), group in native.groupby(["run_id", "model"], sort=False):
        torch_counts = _counts(group[group["framework"] == "torch"])
        keras_counts = _counts(group[group["framework"] == "keras"])
        if not torch_counts or not keras_counts:
            continue
        where = f"native model {model}" + (f" (run {run_id})" if several_runs else "")
        if torch_counts == keras_counts and len(torch_counts) == 1:
            notes.append(
                f"{where}: its torch and Keras definitions have the same parameter counts "
                f"({_text(torch_counts)}); bench did not check that they compute the same "
                "function, and each starts from its own framework's initial weights."
            )
            continue
        notes.append(
            f"{where}: its torch definition has {_text(torch_counts)} parameters, its Keras "
            f"definition {_text(keras_counts)}: not the same network, so their times compare "
            "two models, not two frameworks; they are reported apart as "
            f"{model} [torch native] and {model} [keras native]."
        )
        rows = group.index[group["framework"].isin(["torch", "keras"])]
        trials.loc[rows, "model"] = model + " [" + trials.loc[rows, "framework"] + " native]"
    return trials, notes

"""The role of every trials.csv column (`bench.contract.schema` re-exports these names).

IDENTITY: what a configuration is; MACHINE: identity columns that can follow from the machine;
REPEAT: which repeat of which run; MEASURED: what a trial recorded or derived. Every column has
one role (tests/test_schema_roles.py). The noise and per-step column groups are named here too.
"""

from __future__ import annotations

from bench.contract.steps import STEP_FIGURES

# What disturbed a trial's timing (bench.trial.noise; summarised by bench.core.noise_rows).
NOISE_TRIAL_COLUMNS = (
    "load_avg_1m_before",
    "cpu_governor",
    "cpu_freq_min_mhz",
    "cpu_freq_max_mhz",
    "cpu_steal_pct",
    "other_cpu_pct",
    "cpu_throttle_count",
    "gpu_throttle_reasons",
)
# Per-step figures of trials.csv: steps.csv summarised (`bench.contract.steps`).
STEP_COLUMNS = STEP_FIGURES
# Every trials.csv column has one role (tests/test_schema_roles.py fails for a column in none).
# IDENTITY: what a configuration is — trials of a run that differ in one of these are different
# configurations; analysis groups and aligns runs by them (a new sweep dimension goes here).
IDENTITY_COLUMNS = (
    "model",
    "model_options",
    "device",
    "framework",
    "backend",
    "mode",
    "cache",
    "input_shape",
    "dataset",
    "classes",
    "pipeline",
    "workers",
    "augment",
    "device_name",
    "threads",
    "precision",
    "autotune",
    "batch_size",
    "epochs",
    "samples_per_epoch",
    "device_uuid",
    "parallel",
    "world_size",
)
# Identity columns whose value can follow from the machine (its device indices and names, the
# default thread count, a data set's absolute path): runs of different machines are aligned
# on them only where one run holds several values.
MACHINE_COLUMNS = ("device", "device_name", "device_uuid", "threads", "dataset")
# Which repeat of which run: never part of a configuration.
REPEAT_COLUMNS = ("run_id", "trial_id", "order", "repeat")
# What a trial recorded or derived: sizes, data facts, status, versions, figures.
# fmt: off
MEASURED_COLUMNS = (
    "definition", "node", "straggler_wait_s", "gpu_readings",
    "dataset_path", "dataset_checksum", "dataset_files", "dataset_skipped", "dataset_samples",
    "val_samples", "steps_per_epoch", "params_trainable", "params_non_trainable",
    "flops_per_sample", "status", "exit_code", "error", "framework_version",
    "setup_s", "first_step_s", "first_epoch_s", "steady_epoch_s", "first_epoch_overhead_s",
    "samples_per_s", "peak_rss_bytes", "peak_device_bytes",
    "compile_time_s", "graph_count", "graph_breaks", "compiled_frames",
    "achieved_flops_per_s", "peak_flops_per_s_calibrated", "mfu_calibrated",
    "peak_calibrated_by", "mfu_calibrated_own", "peak_flops_per_s_spec", "mfu_spec",
    "peak_spec_note", *NOISE_TRIAL_COLUMNS, *STEP_COLUMNS,
)
# fmt: on

"""The fleet view: the same configurations on several machines, side by side.

A trial's *machine* is the hardware model it ran on: a GPU (or other accelerator) trial's
`device_name` ("NVIDIA H100 80GB HBM3"), a CPU trial's CPU model from its run's host
fingerprint (run.json `host.cpu_model`; the trial's `device_name`, which holds the same
model, where the fingerprint has none). Hosts of one model are the same hardware and are
pooled into one machine — as are several devices of one model on one host — and a note says
which hosts a machine pooled. Machines are compared within a device kind: a fleet exists for
each kind (cpu, cuda, ...) whose ok trials cover at least two machines; a CPU trial and a GPU
trial are never one configuration.

Rows are configurations aligned across machines as `bench compare` aligns runs
(`compare_stats.alignment_key`, grouped by machine instead of by run): every identity column
but the machine's, with threads or a data set joining the key only where one machine ran
several. One column per machine, in the order the runs were given. Per cell, over that
machine's ok repeats (one value per fresh process): the steady epoch median with its
order-statistic interval and that interval's confidence (`stats.median_ci`, as the
configuration table), the first-epoch overhead (median first epoch − that median), samples/s
(samples per epoch / that median) and the energy per steady epoch (per trial the median of
epochs.csv `energy_j` over epochs 2..E, then the median over repeats). A configuration a
machine did not run, or a figure it could not measure, is `—`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from analysis import doc, stats
from analysis.compare_stats import alignment_key, configuration_labels
from analysis.numbers import MISSING, level, number, seconds, seconds_interval
from analysis.summary import steady_epochs

if TYPE_CHECKING:
    from analysis.analyze import Analysis

MACHINE = "machine"
# The machine stands for the device columns: they never split a fleet row.
LOOSE = ("threads", "dataset")
CELLS = ["n", "steady_s", "steady_low", "steady_high", "ci_level"]
CELLS += ["overhead_s", "samples_per_s", "energy_j"]


@dataclass(frozen=True, slots=True)
class Fleet:
    """One device kind's machines (in column order), one row per (configuration, machine)
    that ran (`label`, MACHINE and CELLS), and the hosts each machine pooled."""

    kind: str
    machines: list[str]
    cells: pd.DataFrame
    hosts: dict[str, list[str]]


def machine_names(a: Analysis) -> pd.Series:
    """Each trial's machine: its device_name, or for a CPU trial its run's CPU model."""
    cpu = a.trials["run_id"].map(_run_column(a, "cpu_model")).fillna("")
    name = a.trials["device_name"].fillna("").astype(str)
    is_cpu = a.trials["device_kind"] == "cpu"
    machine = name.where(~is_cpu | (cpu == ""), cpu)
    return machine.where(machine != "", a.trials["device_kind"])


def _run_column(a: Analysis, column: str) -> pd.Series:
    """A column of the runs' fingerprints (`Runs.runs`) by run id, "" where unknown."""
    runs = a.runs.runs.set_index("run_id").reindex(columns=[column])[column]
    return runs.astype(object).where(runs.notna(), "").astype(str)


def trial_energy(epochs: pd.DataFrame) -> pd.Series:
    """Per (run_id, trial_id): the median energy of the steady epochs, NaN where none has one."""
    steady = steady_epochs(epochs)
    return steady.groupby(["run_id", "trial_id"])["energy_j"].median()


def fleets(a: Analysis) -> list[Fleet]:
    """One `Fleet` per device kind whose ok trials ran on at least two machines."""
    trials = a.trials.assign(**{MACHINE: machine_names(a)})
    ok = trials[trials["status"] == "ok"]
    out, energy = [], None
    position = {run_id: i for i, run_id in enumerate(a.runs.run_ids)}
    for kind, group in ok.groupby("device_kind", sort=False):
        given = group.assign(given=group["run_id"].map(position))  # the order runs were given
        machines = list(dict.fromkeys(given.sort_values(["given", "order"])[MACHINE]))
        if len(machines) < 2:
            continue
        if energy is None:
            energy = trial_energy(a.runs.epochs).rename("energy_j")
        group = group.join(energy, on=["run_id", "trial_id"])
        key = alignment_key(group, within=MACHINE, loose=LOOSE)
        cells = fleet_cells(group, key)
        labels = configuration_labels(cells, key, group) if len(cells) else []
        cells.insert(0, "label", list(labels))
        out.append(Fleet(str(kind), machines, cells, _hosts(a, group)))
    return out


def fleet_cells(ok: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """One row per (aligned configuration, machine): the key, MACHINE and CELLS."""
    by = [*key, MACHINE]
    grouped = ok.groupby(by, sort=False, dropna=False)
    medians = grouped[["first_epoch_s", "energy_j"]].median()
    samples = grouped["samples_per_epoch"].first()
    rows = []
    groups = grouped["steady_epoch_s"]  # the interval needs each group's values
    aggregated = zip(medians.to_numpy(), samples.to_numpy(), strict=True)  # the same order
    for (values, steady), ((first, energy), n_samples) in zip(groups, aggregated, strict=True):
        est = stats.median_ci(steady.to_numpy())
        figures = [est.n, est.value, est.low, est.high, est.level, first - est.value]
        figures += [n_samples / est.value, energy]
        rows.append([*values, *figures])
    return pd.DataFrame(rows, columns=[*by, *CELLS])


def _hosts(a: Analysis, ok: pd.DataFrame) -> dict[str, list[str]]:
    """Machine → the hosts its trials ran on: trials.csv `node`, else the run's hostname."""
    hostname = _run_column(a, "hostname")
    node = ok["node"].fillna("").astype(str) if "node" in ok else pd.Series("", index=ok.index)
    host = node.where(node != "", ok["run_id"].map(hostname).fillna(""))
    names = host.groupby(ok[MACHINE], sort=False).unique()
    return {m: sorted(str(h) for h in hs if str(h)) for m, hs in names.items()}


def _steady(r: pd.Series) -> str:
    return f"{seconds_interval(r.steady_s, r.steady_low, r.steady_high)} {level(r.ci_level)}"


METRICS: list[tuple[str, Callable[[pd.Series], str]]] = [
    ("Steady epoch [CI] level", _steady),
    ("First-epoch overhead", lambda r: seconds(r.overhead_s)),
    ("Samples/s", lambda r: number(r.samples_per_s)),
    ("Energy per steady epoch [J]", lambda r: number(r.energy_j)),
]


def metric_table(fleet: Fleet, write: Callable[[pd.Series], str]) -> doc.Table:
    """Configuration rows (in first-seen order), one column per machine, `—` where a machine
    did not run the configuration."""
    written = {(r.label, r.machine): write(r) for r in fleet.cells.itertuples(index=False)}
    labels = list(dict.fromkeys(fleet.cells["label"]))
    rows = [
        [label, *(written.get((label, m), MISSING) for m in fleet.machines)] for label in labels
    ]
    return doc.Table(["configuration", *fleet.machines], rows, right=set(range(1, len(rows[0]))))


def fleet_blocks(a: Analysis) -> list[doc.Block]:
    """The Fleet section of the report and of compare; nothing with fewer than two machines
    of one device kind."""
    found = fleets(a)
    if not found:
        return []
    blocks: list[doc.Block] = [doc.Heading(2, "Fleet"), doc.Para(INTRO)]
    for fleet in found:
        suffix = f" — {fleet.kind}" if len(found) > 1 else ""
        for title, write in METRICS:
            blocks += [doc.Heading(3, title + suffix), metric_table(fleet, write)]
    notes = [note for fleet in found for note in pooled_notes(fleet)]
    return blocks + ([doc.Bullets(notes)] if notes else [])


def pooled_notes(fleet: Fleet) -> list[str]:
    """'NVIDIA H100 80GB HBM3: 2 hosts pooled (gpu01, gpu02), the same hardware model.'"""
    return [
        f"{machine}: {len(hosts)} hosts pooled ({', '.join(hosts)}), the same hardware model; "
        "its cells count their repeats together."
        for machine, hosts in fleet.hosts.items()
        if len(hosts) > 1
    ]


INTRO = (
    "The same configurations on each machine, one column per machine: a GPU's name, or a CPU's "
    "model for CPU trials (hosts and devices of one model are pooled: the same hardware). Per "
    "cell, over that machine's ok repeats: steady epoch = median of the repeats' steady epoch "
    "times with its order-statistic interval and that interval's confidence; first-epoch "
    "overhead = median first epoch − that median; samples/s = samples per epoch / that median; "
    "energy per steady epoch = per repeat the median energy_j of epochs 2..E, then the median "
    "over repeats. — : the machine did not run the configuration, or could not measure it. "
    "`bench compare` gives the ratios between runs with their tests."
)

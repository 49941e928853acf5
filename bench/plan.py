"""Config + devices → the ordered list of trials to run (pure and deterministic).

Order: repeats outermost, so that every configuration is measured once before any is measured
again (slow drift of the machine — thermals, other load — spreads over all of them), and the
framework variants (framework × backend × mode × cache) innermost, so that the variants of one
configuration run back to back. Combinations that cannot run are planned with a `skip` reason
and recorded as `skipped`, so the plan shows them instead of silently dropping them.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.config import Config
    from bench.devices import Device

LOADER_NEEDS_TF = (
    "the Keras loader pipeline is tf.data, which needs the TensorFlow backend; use the memory "
    "pipeline on this backend"
)
NO_GRAPH_MODE = {
    "jax": "Keras on JAX has no separate graph mode: jit_compile=False runs eagerly; use xla",
    "torch": "Keras on torch has no graph mode (it runs eagerly); use eager, or xla for "
    "torch.compile",
}


@dataclass(frozen=True, slots=True)
class Trial:
    """Everything a child process needs to run one trial, and the trial's identity."""

    trial_id: str
    order: int
    framework: str
    backend: str
    mode: str
    cache: str
    model: str
    model_options: dict[str, Any]
    input_shape: tuple[int, int, int]
    classes: int
    dataset: str
    device: str
    device_kind: str
    device_index: int | None
    device_name: str
    threads: int
    precision: str
    batch_size: int
    repeat: int
    epochs: int
    steps_per_epoch: int
    optimizer: str
    learning_rate: float
    seed: int
    timeout_s: float
    monitor_interval_s: float | None = None
    skip: str = ""
    fake: dict[str, Any] = field(default_factory=dict)
    pipeline: str = "memory"  # memory | loader ([data] pipeline)
    workers: int = 2  # torch DataLoader workers of the loader pipeline
    augment: bool = False  # random flip + rotation, loader pipeline only
    val_fraction: float = 0.1
    evaluate: bool = True

    @property
    def samples_per_epoch(self) -> int:
        return self.steps_per_epoch * self.batch_size

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trial:
        data = dict(data)
        data["input_shape"] = tuple(data["input_shape"])
        return cls(**data)


def variants(config: Config) -> list[tuple[str, str, str, str]]:
    """(framework, backend, mode, skip reason) for every framework the sweep names."""
    sweep, out = config.sweep, []
    for framework in sweep.frameworks:
        if framework == "torch":
            out += [("torch", "torch", mode, "") for mode in sweep.torch_modes]
        elif framework == "keras":
            for backend, mode in itertools.product(sweep.keras_backends, sweep.keras_modes):
                skip = NO_GRAPH_MODE.get(backend, "") if mode == "graph" else ""
                out.append(("keras", backend, mode, skip))
        else:
            out.append(("fake", "fake", "scripted", ""))
    return out


def option_sets(config: Config, model: str) -> list[dict[str, Any]]:
    """Every combination of the [options.<model>] values ({} when none are swept)."""
    table = config.options.get(model, {})
    keys = sorted(table)
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(table[k] for k in keys))
    ]


def _trial_id(order: int, parts: list[str]) -> str:
    text = "-".join(p for p in parts if p)
    return f"{order:03d}-" + text.replace(":", "").replace("=", "-").replace(",", "-")


def plan(config: Config, devices: list[Device], default_threads: int) -> list[Trial]:
    """Expand the sweep over `devices` (already resolved) into ordered trials."""
    from models import zoo

    sweep, train = config.sweep, config.train
    thread_counts = sweep.threads or (default_threads,)
    trials: list[Trial] = []
    for repeat, model in itertools.product(range(sweep.repeats), sweep.models):
        native = zoo.info(model)
        sizes = sweep.input_sizes or (None,)
        for options, size, device, batch_size in itertools.product(
            option_sets(config, model), sizes, devices, sweep.batch_sizes
        ):
            shape = native.input_shape if size is None else (size, size, native.input_shape[2])
            # Thread count matters to CPU trials; a GPU trial runs once, with the most.
            counts = thread_counts if device.kind == "cpu" else (max(thread_counts),)
            for threads, pipeline, (framework, backend, mode, skip), cache in itertools.product(
                counts, config.data.pipeline, variants(config), sweep.caches
            ):
                order = len(trials)
                if framework == "keras" and backend != "tensorflow" and pipeline == "loader":
                    skip = skip or LOADER_NEEDS_TF
                label = ",".join(f"{k}={v}" for k, v in options.items())
                ident = [
                    framework if backend in ("tensorflow", framework) else f"{framework}.{backend}",
                    mode,
                    model + (f"[{label}]" if label else ""),
                    f"{shape[0]}px" if size is not None else "",
                    pipeline if pipeline != "memory" else "",
                    device.name,
                    f"b{batch_size}",
                    f"t{threads}",
                    "warm" if cache == "warm" else "",
                    f"r{repeat}",
                ]
                trials.append(
                    Trial(
                        trial_id=_trial_id(order, ident),
                        order=order,
                        framework=framework,
                        backend=backend,
                        mode=mode,
                        cache=cache,
                        model=model,
                        model_options=options,
                        input_shape=tuple(shape),
                        classes=native.classes,
                        dataset=config.data.dataset,
                        device=device.name,
                        device_kind=device.kind,
                        device_index=device.index,
                        device_name=device.label,
                        threads=threads,
                        precision="fp32",
                        batch_size=batch_size,
                        repeat=repeat,
                        epochs=train.epochs,
                        steps_per_epoch=train.samples // batch_size,
                        optimizer=train.optimizer,
                        learning_rate=train.learning_rate,
                        seed=config.data.seed,
                        timeout_s=train.timeout_s,
                        monitor_interval_s=(
                            config.monitor.interval_s if config.monitor.enabled else None
                        ),
                        skip=skip,
                        fake=dataclasses.asdict(config.fake),
                        pipeline=pipeline,
                        workers=config.data.workers,
                        augment=config.data.augment and pipeline == "loader",
                        val_fraction=config.data.val_fraction,
                        evaluate=config.data.evaluate,
                    )
                )
    return trials

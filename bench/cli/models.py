"""`python -m bench models [NAME]`: the zoo as tables, from the spec alone (no framework).

The listing answers "how big is it?" for every registered model (input shape, classes,
parameters, forward FLOPs per sample); `models NAME` answers the seeds' exercises on output sizes
and parameter counts layer by layer. The user's own models join them: the `[models]` section of
`--config` (default ./bench.toml) and `--model-file` spec files, each listed with where it was
defined; a native model (a torch/Keras factory) has no spec, so its size is counted only when
it is built (`--verify`, or a trial).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.cli.flags import describe as describe_help
from bench.cli.flags import many
from bench.errors import UsageError, close_match


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `models` subcommand's flags, description and examples."""
    describe_help(
        parser,
        "List every model (input shape, classes, parameters, forward FLOPs per sample, options), "
        "show one model's layer table, or --verify that each framework builds the same network. "
        "Your own models join from the [models] section of --config and from --model-file.",
        [
            ("bench models", "the listing"),
            ("bench models seed_cnn", "one model's layers: output shape, parameters, FLOPs"),
            ("bench models --verify seed_cnn", "build it in every installed framework, compare"),
        ],
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help="a model (its layer table), or models to verify"
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="build in every installed framework (child process) and prove they match",
    )
    parser.add_argument(
        "--format",
        choices=("table", "csv"),
        default="table",
        metavar="NAME",
        help="--verify output format: table or csv",
    )
    parser.add_argument(
        "--full-size", action="store_true", help="--verify big models at full input size (slow)"
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="its [models] section adds your models (default: ./bench.toml if present)",
    )
    parser.add_argument(
        "--model-file",
        action="append",
        metavar=many("PATH"),
        help="spec files of your models, overriding [models] files (repeatable)",
    )


def unknown_model(name: str, names: list[str]) -> str:
    """The message for a model name no model has, with the closest name if one is close."""
    guess = close_match(name, names)
    choose = f"; did you mean {guess}? Choose" if guess else "; choose"
    return f"unknown model {name!r}{choose} from: {', '.join(names)}."


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def _short(text: object) -> str:
    """Paths under the current folder shown relative to it (they are stored absolute)."""
    return str(text).replace(os.getcwd() + os.sep, "")


def listing() -> str:
    from models import flops, zoo

    header = f"{'model':<16} {'input':>11} {'classes':>7} {'params':>13} {'fwd MFLOP/sample':>17}"
    lines = [header + "  options (default first); where defined", "-" * (len(header) + 40)]
    for name in zoo.names():
        info = zoo.info(name)
        notes = [options_text(info.options)] + [f"from {_short(info.origin)}"] * bool(info.origin)
        if info.native is not None:
            sizes = f"{'native':>13} {'-':>17}"
            notes = [_short(info.native), *notes[1:]]
        else:
            spec = zoo.get(name)
            sizes = f"{flops.param_count(spec):>13,} {flops.forward_flops(spec) / 1e6:>17,.2f}"
        row = f"{name:<16} {_shape(info.input_shape):>11} {info.classes:>7} {sizes}  " + "; ".join(
            n for n in notes if n
        )
        lines.append(row.rstrip())
    return "\n".join(lines)


def options_text(options: dict) -> str:
    """`frozen=False|True, classifier=auto|fc4096|fc512`: each option, its default first."""
    parts = []
    for key, option in options.items():
        values = [option.default, *(c for c in option.choices if c != option.default)]
        parts.append(f"{key}=" + "|".join(str(v) for v in values))
    return ", ".join(parts)


def describe(name: str) -> str:
    from models import flops, zoo

    if name not in zoo.names():
        raise UsageError(f"models: {unknown_model(name, zoo.names())}")
    info = zoo.info(name)
    if info.native is not None:
        return describe_native(info)
    spec = zoo.get(name)
    trainable, frozen = flops.param_counts(spec)
    lines = [
        f"{name}: {info.description}",
        *([f"source: {info.source}"] if info.source else []),
        *([f"defined in: {_short(info.origin)}"] if info.origin else []),
        f"input {_shape(spec.input_shape)}, {spec.classes} classes",
        "",
        f"{'#':>3} {'layer':<14} {'output':>14} {'params':>13} {'fwd FLOPs':>15}",
    ]
    for row in flops.layer_table(spec):
        lines.append(
            f"{row.index:>3} {row.kind:<14} {_shape(row.output_shape):>14} "
            f"{row.params:>13,} {row.flops:>15,}"
        )
    lines += [
        "",
        f"parameters: {trainable + frozen:,} ({trainable:,} trainable, {frozen:,} non-trainable)",
        f"forward FLOPs/sample: {flops.forward_flops(spec):,};"
        f" training ≈ {flops.train_flops(spec):,}",
    ]
    return "\n".join(lines)


def describe_native(info: Any) -> str:
    """A native model: its factories and defaults; no layer table (bench knows no layers)."""
    factories = [f"{fw} factory: {_short(ref)}" for fw, ref in asdict(info.native).items() if ref]
    return "\n".join(
        [
            f"{info.name}: native model ({_short(info.description)})",
            f"defined in: {_short(info.origin)}",
            *factories,
            f"input {_shape(info.input_shape)}, {info.classes} classes (defaults; the data's own "
            "shape and classes override them)",
            "",
            "no layer table: the factory builds the network. Parameters are counted when it is "
            f"built: `bench models --verify {info.name}` or any trial (trials.csv "
            "params_trainable; flops_per_sample by torch's FlopCounterMode, or from the Keras "
            "model's conv and dense layers).",
        ]
    )


def load_user_models(args: argparse.Namespace) -> dict[str, Any]:
    """Install the user's models: the [models] section of `--config` (default ./bench.toml
    if there is one), its `files` replaced by `--model-file`; the section, normalized."""
    from bench.cli.run_flags import DEFAULT_CONFIG
    from bench.core.config import parse_models, read_doc

    path = args.config
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    raw = read_doc(path).get("models", {}) if path is not None else {}
    where = str(path) if path is not None else "(no config file)"
    if not isinstance(raw, dict):
        return parse_models(raw, where)  # refuses it, naming the file
    section = dict(raw)
    if args.model_file:
        section["files"] = [f.strip() for text in args.model_file for f in text.split(",")]
        section["files"] = [f for f in section["files"] if f]
        where += " + command line (--model-file)"
    return parse_models(section, where)


def models(args: argparse.Namespace) -> int:
    """`models` (the listing), `models NAME` (its layer table) or `models --verify [NAME...]`."""
    user_models = load_user_models(args)
    if args.verify:
        from bench.cli.verify import verify

        return verify(args.names, args.full_size, args.format, user_models)
    if len(args.names) > 1:
        raise UsageError("models: name one model for its layer table, or use --verify.")
    if args.format != "table":
        raise UsageError("models: --format csv is the output of --verify; add --verify.")
    print(describe(args.names[0]) if args.names else listing())
    return 0

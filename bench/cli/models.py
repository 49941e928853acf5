"""`python -m bench models [NAME]`: the zoo as tables, from the spec alone (no framework).

The listing answers "how big is it?" for every registered model (input shape, classes,
parameters, forward FLOPs per sample); `models NAME` answers the seeds' exercises on output sizes
and parameter counts layer by layer.
"""

from __future__ import annotations

import argparse

from bench.errors import UsageError


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def listing() -> str:
    from models import flops, zoo

    header = f"{'model':<16} {'input':>11} {'classes':>7} {'params':>13} {'fwd MFLOP/sample':>17}"
    lines = [header + "  options (default first)", "-" * (len(header) + 25)]
    for name in zoo.names():
        spec = zoo.get(name)
        row = (
            f"{name:<16} {_shape(spec.input_shape):>11} {spec.classes:>7} "
            f"{flops.param_count(spec):>13,} {flops.forward_flops(spec) / 1e6:>17,.2f}  "
            + options_text(zoo.info(name).options)
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

    try:
        spec = zoo.get(name)
        info = zoo.info(name)
    except KeyError as exc:
        raise UsageError(str(exc).strip("'\"")) from None
    trainable, frozen = flops.param_counts(spec)
    lines = [
        f"{name}: {info.description}",
        *([f"source: {info.source}"] if info.source else []),
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


def models(args: argparse.Namespace) -> int:
    """`models` (the listing), `models NAME` (its layer table) or `models --verify [NAME...]`."""
    if args.verify:
        from bench.cli.verify import verify

        return verify(args.names, args.full_size, args.format)
    if len(args.names) > 1:
        raise UsageError("models: name one model for its layer table, or use --verify.")
    if args.format != "table":
        raise UsageError("models: --format csv is the output of --verify; add --verify.")
    print(describe(args.names[0]) if args.names else listing())
    return 0

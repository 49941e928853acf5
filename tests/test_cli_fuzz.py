"""Property test: any `run` flag values either plan a sweep (--dry-run) or exit 2 with one
`bench: error:` paragraph — never a traceback, never a started trial."""

from __future__ import annotations

import contextlib
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.__main__ import main
from bench.cli.run_flags import overrides

TOKENS = st.one_of(
    st.sampled_from(
        [
            "torch",
            "keras",
            "fake",
            "seed_cnn",
            "cpu",
            "cuda:0",
            "auto",
            "0",
            "-1",
            "64",
            "2",
            "1e3",
            "nan",
            "",
            ",",
            "x,y",
            "cuda:x",
            "seed_ffnn,seed_ffnn",
        ]
    ),
    st.text(max_size=8),
    st.integers(-5, 5000).map(str),
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(overrides())), TOKENS, max_size=4))
def test_any_flag_values_plan_or_exit_2(tmp_path_factory, flags):
    out = tmp_path_factory.mktemp("o")
    argv = ["run", "--dry-run", "--out", str(out)]
    for flag, value in flags.items():
        if flag != "out":
            argv.append(f"--{flag.replace('_', '-')}={value}")
    err, std = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code
    assert code in (0, 2), (argv, err.getvalue())
    assert "Traceback" not in err.getvalue()
    if code == 2 and "usage:" not in err.getvalue():
        assert err.getvalue().count("bench: error:") == 1
    if code == 0:
        assert "trials planned" in std.getvalue()
    assert not any(out.iterdir()), "a dry run writes nothing"

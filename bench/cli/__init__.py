"""The commands: each subcommand of `python -m bench` is a plain function here, `NAME(args)` → exit
code, called by `bench/__main__.py` (argparse only). Commands may use every room below them; they
import heavy rooms lazily, so that `--help` and `devices` stay fast and framework-free.
"""

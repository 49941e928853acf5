"""The trial's child side: `python -m bench.trial` (entry point), the trial spec it reads, the
clock, host-memory probes, the resource sampler, energy meters, and selfcheck's bare loops.
"""

"""The parent's core: config (bench.toml → frozen dataclasses), plan (config → ordered trials),
sweep (run the trials, rows into the run folder), resume, results (atomic table files), rows
(a trial's events → its rows) and schema (the tables' columns, SCHEMA_VERSION). No framework.
"""

"""The contract every room shares, importing nothing of the project: what a trial is (`trial`),
the result tables and their version (`schema`), what a runner sees of the clock (`clock`), and the
headline figures' one definition (`headline`) and the one rule for names that become paths, ids
and labels (`names`).
"""

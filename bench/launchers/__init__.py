"""How a trial's process is started and supervised: `local` (a fresh child process on this
machine, its environment, timeout, log, events and status).
"""

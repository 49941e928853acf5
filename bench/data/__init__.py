"""Data for trials, framework-free: `load` (spec → `Dataset` of NumPy arrays) and one module per
source (`synthetic`, `mnist`, `cifar10`, `folder`), all built on `source`.
"""

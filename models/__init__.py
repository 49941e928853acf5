"""Architectures defined once and built for each framework.

``spec`` (layer dataclasses, imports nothing), ``zoo`` (the registry: ``names``, ``get``,
``info``), ``flops`` (analytic shapes, parameters, FLOPs), ``torch_build`` / ``keras_build``
(builders), ``transfer`` (torch -> keras weight copy) and ``verify`` (the proof of sameness).
Importing the package imports no framework.
"""

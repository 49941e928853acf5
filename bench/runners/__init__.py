"""One runner per framework (torch, keras, fake), behind the `Runner` protocol of `base`: each
trains the way a user of its framework would, and imports its framework only when asked to.
"""

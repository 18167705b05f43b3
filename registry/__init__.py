"""Which sources and destinations exist: one entry each, naming the module of every layer.

Nothing outside a source's (or destination's) own folders names it; every other part of
okr-sync asks these registries. The package imports no other part of the project, so every
layer, from the definitions up, may ask it.
"""

"""The numerical core: cells, activations, initialisation and exact BPTT gradients.

Imports numpy and the standard library only, and nothing else from bptt: it knows
nothing of files, Snakemake, tables or plots. Everything else builds on it.
"""

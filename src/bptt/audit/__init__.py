"""Auditing a user's own trained network: exact per-lag, per-layer gradients of a PyTorch nn.RNN, nn.LSTM or nn.GRU.

`weights` reads a state_dict (.safetensors without torch, .pt with it) in PyTorch's layout into one
`bptt.core.cells.Cell` per layer; `stacked` runs the stack forward and backward in log space, layer by
layer, from the core's cell step functions; `measures` turns that into per-layer, per-lag rows and
`run` into results/audit.parquet (`python -m bptt.audit`, or `snakemake audit`). docs/audit.md walks
through it. Every error a user can cause is an `AuditError`: one line, printed without a traceback.
"""


class AuditError(ValueError):
    """A bad model file, input array or audit setting: the message names it and what is allowed."""

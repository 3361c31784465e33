"""The random draws of one replicate seed, derived with numpy's SeedSequence.

Replicate seed s owns ten independent streams. Stream number i is
`np.random.default_rng(np.random.SeedSequence(s, spawn_key=(i,)))`, which is
the i-th child of `np.random.SeedSequence(s).spawn(10)` (PCG64 generator; a
child does not depend on how many are spawned, so appending a stream changes
none of the others):

  i  name           draws
  0  inputs         x, standard normal in time-major order, shape (T, B, I), times input_scale
  1  targets        class indices (B,) for cross_entropy, or standard normal (B, C) for mse
  2  readout        readout matrix V (C, H), standard normal / sqrt(H)
  3  rnn            the weights of `bptt.core.cells.make("rnn", ...)`
  4  lstm           the weights of `bptt.core.cells.make("lstm", ...)`
  5  gru            the weights of `bptt.core.cells.make("gru", ...)`
  6  train_batches  training: a fresh task batch per step (`bptt.train.tasks.batch`)
  7  eval_batch     training: the seed's fixed held-out batch
  8  step_targets   loss_at every: one target per step, (T, B) class indices or (T, B, C), drawn step by step
  9  perturbation   robustness tests (the clipping study, `bptt.pipeline.clipping`; trainability,
                    `bptt.pipeline.trainability`): standard normal noise z, initial weights w (1 + e z)

What this buys (tests/test_seeding.py checks each point):
- Every grid point of one cell and seed draws the same base weights, inputs and
  targets: no stream depends on activation, radius or sequence length (the
  cells scale their base draws to the radius afterwards).
- A shorter sequence is a prefix of a longer one: x is drawn step after step,
  so x[:T] of a length-T' draw (T' > T) equals the length-T draw.
- Cells of different kinds see the same inputs, targets and readout.
Nothing depends on Python's hash, the job order or the number of cores.
"""

import numpy as np

STREAMS = (
    "inputs",
    "targets",
    "readout",
    "rnn",
    "lstm",
    "gru",
    "train_batches",
    "eval_batch",
    "step_targets",
    "perturbation",
)


def rng(seed: int, stream: str) -> np.random.Generator:
    """Generator of stream `stream` (one of STREAMS) of replicate seed `seed`."""
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; allowed: {', '.join(STREAMS)}")
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(STREAMS.index(stream),)))


def inputs(seed: int, seq_len: int, batch_size: int, input_size: int, scale: float) -> np.ndarray:
    """Inputs x, shape (T, B, I): scale times standard normal, drawn step by step."""
    return scale * rng(seed, "inputs").standard_normal((seq_len, batch_size, input_size))


def targets(seed: int, loss: str, batch_size: int, num_classes: int) -> np.ndarray:
    """Targets: class indices (B,) for "cross_entropy", standard normal (B, C) for "mse"."""
    draw = rng(seed, "targets")
    if loss == "cross_entropy":
        return draw.integers(0, num_classes, size=batch_size)
    return draw.standard_normal((batch_size, num_classes))


def step_targets(seed: int, loss: str, seq_len: int, batch_size: int, num_classes: int) -> np.ndarray:
    """The targets of a loss at every step: class indices (T, B) for "cross_entropy", standard
    normal (T, B, C) for "mse", drawn step by step (a shorter sequence's are a prefix)."""
    draw = rng(seed, "step_targets")
    if loss == "cross_entropy":
        return draw.integers(0, num_classes, size=(seq_len, batch_size))
    return draw.standard_normal((seq_len, batch_size, num_classes))


def readout(seed: int, num_classes: int, hidden_size: int) -> np.ndarray:
    """Readout matrix V, shape (C, H): standard normal / sqrt(H), so V h stays O(1)."""
    return rng(seed, "readout").standard_normal((num_classes, hidden_size)) / np.sqrt(hidden_size)

"""The grid's networks and their losses, drawn as every job draws them (`bptt.pipeline.seeding`).

Shared by the experiment jobs (`bptt.pipeline.experiment`) and the every-step drawing
(`bptt.pipeline.every_step`), so that both measure the same networks. Numpy and the core only.
"""

import numpy as np

from bptt.core import cells, loss
from bptt.pipeline import grid, seeding


def models(
    cell: str, activation: str, points: list, seed: int, *, input_size: int, hidden_size: int, seq_len: int
) -> list[cells.Cell]:
    """The networks of one seed, one per point (radius, recurrent_init, gate_bias); chrono's
    timescales are spread up to the sequence length seq_len (at least 3)."""
    return [
        cells.make(
            cell,
            input_size=input_size,
            hidden_size=hidden_size,
            activation=activation,
            radius=radius,
            rng=seeding.rng(seed, cell),
            recurrent_init=init,
            gate_bias=0.0 if bias is None else (bias if bias == grid.CHRONO else float(bias)),
            chrono_t_max=max(seq_len, 3),
        )
        for radius, init, bias in points
    ]


def last_finite_state(h: np.ndarray) -> np.ndarray:
    """h_{s-1} for hidden states h (T, M, B, H), s the first step with a non-finite value in the
    model's batch (T if none), per model: (M, B, H); zeros where s = 0.

    A linear or ReLU network with rho > 1 can overflow on a long sequence;
    bptt.core.gradients.profile then flags it and differentiates up to the state before the
    overflow, so the loss is taken there too.
    """
    finite = np.isfinite(h).all(axis=(2, 3))  # (T, M)
    s = np.where(finite.all(axis=0), len(h), np.argmin(finite, axis=0))  # (M,)
    last = h[np.maximum(s - 1, 0), np.arange(h.shape[1])]
    return np.where((s > 0)[:, None, None], last, 0.0)


def last_step_loss(loss_name: str, h: np.ndarray, readout: np.ndarray, seeds: list[int], p: int) -> tuple:
    """The loss `loss_name` on the readout of the last (finite) state, for states h (T, M, B, H),
    readouts (M, C, H) and M = len(seeds) * p models (seed-major): (dL/dh_last mantissa (M, B, H),
    log10 scale (M, B), measurable (M, B), mean loss (M,)). Targets are drawn per seed."""
    batch_size, num_classes = h.shape[2], readout.shape[1]
    target = np.repeat([seeding.targets(seed, loss_name, batch_size, num_classes) for seed in seeds], p, axis=0)
    graded = [loss.loss_and_grad(loss_name, last, v, t) for last, v, t in zip(last_finite_state(h), readout, target)]
    scale = np.array([g.log10_scale for g in graded])  # NaN where the readout itself left float64
    return np.array([g.dh_last for g in graded]), scale, np.isfinite(scale), np.array([g.loss.mean() for g in graded])


def every_step_loss(loss_name: str, h: np.ndarray, readout: np.ndarray, seeds: list[int], p: int) -> tuple:
    """The seed's L = sum_t L_t, a loss on the readout of every state, for states h (T, M, B, H) and
    readouts (M, C, H): (dL_t/dh_t mantissa (T, M, B, H), log10 scale (T, M, B), measurable (M, B),
    mean over the batch of sum_t L_t (M,)). Only the steps before an overflow count, as for the gradients."""
    seq_len, batch_size, num_classes = h.shape[0], h.shape[2], readout.shape[1]
    targets = [seeding.step_targets(seed, loss_name, seq_len, batch_size, num_classes) for seed in seeds]
    graded = [loss.at_every_step(loss_name, h[:, m], readout[m], targets[m // p]) for m in range(h.shape[1])]
    finite = np.isfinite(h).all(axis=(2, 3))  # (T, M)
    before = np.cumprod(finite, axis=0).astype(bool)[..., None]  # (T, M, 1): steps before the model's overflow
    scale = np.stack([g.log10_scale for g in graded], axis=1)
    measurable = (np.isfinite(scale) | ~before).all(axis=0)
    with np.errstate(invalid="ignore"):  # inf - inf past an overflow: not counted
        total = np.where(before, np.stack([g.loss for g in graded], axis=1), 0.0).sum(axis=0)
    return np.stack([g.dh_last for g in graded], axis=1), scale, measurable, total.mean(axis=1)

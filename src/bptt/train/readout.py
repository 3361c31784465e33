"""The linear readout y = V h_{T-1} + c on the last hidden state: its loss and the gradients of it.

Shapes for a stack of M networks (`bptt.core.cells.stack`): h_last (M, B, H), V = weight
(M, C, H), c = bias (M, C), y (M, B, C). A sequence's loss is `scale` times the core's loss of
its y (`bptt.core.loss`, reused with V = identity so that the core's dL/dh is dL/dy), and the
training loss is the mean over the batch, L = (1/B) sum_b loss_b. Every gradient here is of L:

    dL/dy_b = scale * dloss_b/dy_b / B      (B, C)
    dL/dV   = sum_b dL/dy_b^T h_b            (C, H)
    dL/dc   = sum_b dL/dy_b                  (C,)
    dL/dh_b = dL/dy_b V                      (B, H): the dh_last that bptt.core.gradients takes
"""

from typing import NamedTuple

import numpy as np

from bptt.core import loss


class ReadoutGrad(NamedTuple):
    loss: np.ndarray  # (M, B), scale * the core's loss per sequence
    y: np.ndarray  # (M, B, C)
    dh_last: np.ndarray  # (M, B, H)
    weight: np.ndarray  # dL/dV (M, C, H)
    bias: np.ndarray  # dL/dc (M, C)


def outputs(h_last: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """y = V h + c for h_last (M, B, H), weight (M, C, H), bias (M, C): (M, B, C)."""
    return h_last @ weight.transpose(0, 2, 1) + bias[:, None, :]


def loss_and_grads(
    name: str, h_last: np.ndarray, weight: np.ndarray, bias: np.ndarray, target: np.ndarray, scale: float = 1.0
) -> ReadoutGrad:
    """Loss per sequence and the gradients of their batch mean (see the module docstring).

    name: a loss of bptt.core.loss; target (M, B) class indices or (M, B, C) vectors.
    """
    m, b, c = h_last.shape[0], h_last.shape[1], weight.shape[1]
    y = outputs(h_last, weight, bias)
    flat = loss.loss_and_grad(name, y.reshape(m * b, c), np.eye(c), target.reshape(m * b, *target.shape[2:]))
    dy = (scale / b) * flat.gradient().reshape(m, b, c)  # dL/dy
    return ReadoutGrad(
        loss=scale * flat.loss.reshape(m, b),
        y=y,
        dh_last=dy @ weight,  # dL/dh = dL/dy V
        weight=dy.transpose(0, 2, 1) @ h_last,  # dL/dV = dL/dy^T h
        bias=dy.sum(axis=1),  # dL/dc
    )

"""The loss on a linear readout of the last hidden state, and its gradient dh_last.

The readout is y = h_last V^T (B, C). Each sequence has its own loss and the
total loss L is their sum, so dL/dh_last of one sequence depends on that
sequence alone and per-sample gradient norms are well defined.

`exact` says whether dh_last holds its true digits: once a softmax is certain to within
float64 (a logit gap beyond ~745), softmax(y) - onehot rounds to exactly 0 although the
true gradient is not 0. Such a sample's gradients are then not measurable, not zero.
"""

from typing import NamedTuple

import numpy as np

NAMES = ("cross_entropy", "mse")
# A gradient of the logits below this norm may be a rounded-away remainder (as in gradients.UNDERFLOW).
UNDERFLOW = 2.0**-900


class LossGrad(NamedTuple):
    loss: np.ndarray  # (B,)
    dh_last: np.ndarray  # (B, H)
    exact: np.ndarray  # (B,) bool


def cross_entropy(h_last: np.ndarray, readout: np.ndarray, target: np.ndarray) -> LossGrad:
    """Softmax cross-entropy against class indices.

    h_last (B, H), readout V (C, H), target (B,) ints in [0, C).
    Returns loss (B,), dh_last = (softmax(y) - onehot(target)) V (B, H), and exact (B,).
    """
    logits = h_last @ readout.T  # y, (B, C)
    shifted = logits - logits.max(axis=1, keepdims=True)  # no overflow in exp
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    rows = np.arange(len(target))
    loss = log_norm - shifted[rows, target]
    dlogits = np.exp(shifted - log_norm[:, None])  # softmax(y)
    dlogits[rows, target] -= 1.0
    return LossGrad(loss, dlogits @ readout, np.linalg.norm(dlogits, axis=1) >= UNDERFLOW)


def mse(h_last: np.ndarray, readout: np.ndarray, target: np.ndarray) -> LossGrad:
    """Half squared error against target vectors.

    h_last (B, H), readout V (C, H), target (B, C).
    Returns loss (B,) = ||y - target||^2 / 2, dh_last = (y - target) V (B, H), and exact (B,),
    always true: the residual involves no exponential.
    """
    residual = h_last @ readout.T - target  # (B, C)
    return LossGrad(0.5 * (residual**2).sum(axis=1), residual @ readout, np.ones(len(residual), dtype=bool))


def loss_and_grad(name: str, h_last: np.ndarray, readout: np.ndarray, target: np.ndarray) -> LossGrad:
    """LossGrad (loss (B,), dh_last (B, H), exact (B,)) of the loss called `name` (one of NAMES)."""
    if name not in NAMES:
        raise ValueError(f"unknown loss {name!r}; allowed: {', '.join(NAMES)}")
    return (cross_entropy if name == "cross_entropy" else mse)(h_last, readout, target)

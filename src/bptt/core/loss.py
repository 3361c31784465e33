"""The loss on a linear readout of the last hidden state, and its gradient dh_last.

The readout is y = h_last V^T (B, C). Each sequence has its own loss and the
total loss L is their sum, so dL/dh_last of one sequence depends on that
sequence alone and per-sample gradient norms are well defined.
"""

import numpy as np

NAMES = ("cross_entropy", "mse")


def cross_entropy(h_last: np.ndarray, readout: np.ndarray, target: np.ndarray):
    """Softmax cross-entropy against class indices.

    h_last (B, H), readout V (C, H), target (B,) ints in [0, C).
    Returns loss (B,) and dh_last = (softmax(y) - onehot(target)) V, shape (B, H).
    """
    logits = h_last @ readout.T  # y, (B, C)
    shifted = logits - logits.max(axis=1, keepdims=True)  # no overflow in exp
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    rows = np.arange(len(target))
    loss = log_norm - shifted[rows, target]
    dlogits = np.exp(shifted - log_norm[:, None])  # softmax(y)
    dlogits[rows, target] -= 1.0
    return loss, dlogits @ readout


def mse(h_last: np.ndarray, readout: np.ndarray, target: np.ndarray):
    """Half squared error against target vectors.

    h_last (B, H), readout V (C, H), target (B, C).
    Returns loss (B,) = ||y - target||^2 / 2 and dh_last = (y - target) V, shape (B, H).
    """
    residual = h_last @ readout.T - target  # (B, C)
    return 0.5 * (residual**2).sum(axis=1), residual @ readout


def loss_and_grad(name: str, h_last: np.ndarray, readout: np.ndarray, target: np.ndarray):
    """Loss (B,) and dh_last (B, H) of the loss called `name` (one of NAMES)."""
    if name not in NAMES:
        raise ValueError(f"unknown loss {name!r}; allowed: {', '.join(NAMES)}")
    return (cross_entropy if name == "cross_entropy" else mse)(h_last, readout, target)

"""The loss on a linear readout of the last hidden state, and its gradient dh_last, in log space.

The readout is y = h_last V^T (B, C). Each sequence has its own loss and the total loss L is
their sum, so dL/dh_last of one sequence depends on that sequence alone and per-sample
gradient norms are well defined.

dh_last comes as a mantissa and a log10 scale per sample, dh_last = mantissa * 10**log10_scale,
so that it keeps its digits where float64 alone would not: once a softmax is certain beyond
float64 (a logit gap over ~745), softmax(y) - onehot rounds to exactly 0 although the true
gradient is e^-gap, far from 0; and a state near float64's largest numbers gives an mse
residual whose product with V would overflow. `bptt.core.gradients` takes the scale as the
starting scale of its log-space sweep. A NaN scale marks a sample whose readout itself left
float64 (non-finite logits): nothing can be measured there.
"""

from typing import NamedTuple

import numpy as np

NAMES = ("cross_entropy", "mse")
_LN10 = np.log(10.0)


class LossGrad(NamedTuple):
    loss: np.ndarray  # (B,)
    dh_last: np.ndarray  # (B, H), the mantissa
    log10_scale: np.ndarray  # (B,): dL/dh_last = dh_last * 10**log10_scale; NaN where not measurable

    def gradient(self) -> np.ndarray:
        """dL/dh_last as plain float64 (B, H): 0 where it is below float64's range, NaN where not measurable."""
        with np.errstate(under="ignore", over="ignore"):
            return self.dh_last * 10.0 ** self.log10_scale[:, None]


def cross_entropy(h_last: np.ndarray, readout: np.ndarray, target: np.ndarray) -> LossGrad:
    """Softmax cross-entropy against class indices.

    h_last (B, H), readout V (C, H), target (B,) ints in [0, C). The gradient of the logits is
    p - onehot(target), p = softmax(y); its largest entry in magnitude is the target's,
    1 - p_t = sum_{j != t} p_j, so with log p_j = y_j - logsumexp(y) it is written exactly as
    e^M d, M = log(1 - p_t) = logsumexp_{j != t} log p_j, d_j = p_j / e^M, d_t = -1.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        logits = h_last @ readout.T  # y, (B, C)
    finite = np.isfinite(logits).all(axis=1)
    logits = np.where(finite[:, None], logits, 0.0)
    shifted = logits - logits.max(axis=1, keepdims=True)  # no overflow in exp
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    rows = np.arange(len(target))
    log_p = shifted - log_norm[:, None]  # log softmax(y), (B, C)
    others = log_p.copy()
    others[rows, target] = -np.inf
    top = others.max(axis=1, keepdims=True)
    log_m = top[:, 0] + np.log(np.exp(others - top).sum(axis=1))  # M = log(1 - p_t)
    d = np.exp(others - log_m[:, None])  # p_j / e^M for j != t, 0 at t
    d[rows, target] = -1.0
    scale = np.where(finite, log_m / _LN10, np.nan)
    return LossGrad(np.where(finite, -log_p[rows, target], np.inf), d @ readout, scale)


def mse(h_last: np.ndarray, readout: np.ndarray, target: np.ndarray) -> LossGrad:
    """Half squared error against target vectors.

    h_last (B, H), readout V (C, H), target (B, C). Returns loss (B,) = ||y - target||^2 / 2
    (inf where it exceeds float64) and dL/dh_last = (y - target) V, with the residual divided by
    the power of two just above its largest entry first (exact), so the product cannot overflow.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        residual = h_last @ readout.T - target  # (B, C)
        finite = np.isfinite(residual).all(axis=1)
        residual = np.where(finite[:, None], residual, 0.0)
        exponent = np.frexp(np.abs(residual).max(axis=1))[1]  # 2**exponent > max |residual|
        loss = 0.5 * (residual**2).sum(axis=1)
    mantissa = np.ldexp(residual, -exponent[:, None]) @ readout
    return LossGrad(np.where(finite, loss, np.inf), mantissa, np.where(finite, exponent * np.log10(2.0), np.nan))


def loss_and_grad(name: str, h_last: np.ndarray, readout: np.ndarray, target: np.ndarray) -> LossGrad:
    """LossGrad (loss (B,), dh_last mantissa (B, H), log10_scale (B,)) of the loss called `name`."""
    if name not in NAMES:
        raise ValueError(f"unknown loss {name!r}; allowed: {', '.join(NAMES)}")
    return (cross_entropy if name == "cross_entropy" else mse)(h_last, readout, target)


def at_every_step(name: str, h: np.ndarray, readout: np.ndarray, target: np.ndarray) -> LossGrad:
    """The seed's loss at every step, L = sum_t L_t, L_t the loss of `name` on the readout of h_t.

    h (T, B, H), readout V (C, H), target (T, B) class indices or (T, B, C) vectors. Returns
    LossGrad with loss (T, B), dh_last (T, B, H) = the mantissa of dL_t/dh_t (the step's own term,
    the dh_all of `bptt.core.sources` and of `bptt.core.gradients`' every_step) and log10_scale (T, B).
    """
    steps, batch, hidden = h.shape
    g = loss_and_grad(name, h.reshape(steps * batch, hidden), readout, target.reshape(steps * batch, *target.shape[2:]))
    return LossGrad(g.loss.reshape(steps, batch), g.dh_last.reshape(h.shape), g.log10_scale.reshape(steps, batch))

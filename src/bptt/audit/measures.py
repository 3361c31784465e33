"""What the audit measures on one network and one batch of the user's sequences, per layer and step.

Quantities (docs/audit.md), each log10 of a norm per sequence, step k of layer l (lag = T-1-k):
  state     ||v^T dh_{T-1}^(L-1) / dh_k^(l)||: how much the network's last state depends on layer l's
            state k steps back, along a random unit direction v at the last state (loss-free; `directions`
            draws per sequence, each a column of its own)
  state_c   the same for the LSTM's cell state c_k^(l)
  loss_h    ||dL/dh_k^(l)|| for the user's loss on a linear head y = V h^(L-1) + c (last step or every step)
  loss_c    ||dL/dc_k^(l)|| (LSTM)
  jacobian  optional: ||ds_{T-1}^(l)/ds_k^(l)||_2, the spectral norm of layer l's own Jacobian product on its
            actual inputs (s = h, or (h, c) for the LSTM), for the first `jacobian` sequences, from the core's
            `gradients.profile`: O(n^3) per sequence and step, so off by default
The others come from one forward pass and one backward sweep per layer (`bptt.audit.stacked`); none forms
a Jacobian product. The loss is the core's (`bptt.core.loss`: softmax cross-entropy against class
indices, or half the squared error against vectors), summed over sequences and, for every step, steps.
"""

from typing import NamedTuple

import numpy as np

from bptt.audit import AuditError, stacked
from bptt.audit.weights import Network
from bptt.core import gradients, loss

LOSS_AT = ("last", "every")


class Head(NamedTuple):
    """The user's linear head and loss: y = h V^T + c, V (C, H), c (C,); target (B,)/(B, C), or (T, B)/(T, B, C)."""

    weight: np.ndarray
    bias: np.ndarray
    loss: str
    loss_at: str
    target: np.ndarray


def sources(net: Network, h_top: np.ndarray, head: Head | None, directions: int, rng: np.random.Generator):
    """(source (R, T, B, H), log10 scale (R, T, B), names (R,)): dL_t/dh_t^(L-1) of each source, R = directions
    (+ 1 for the loss): a random unit vector at the last state each, then the loss's gradient."""
    n_steps, batch, hidden = h_top.shape
    v = rng.standard_normal((directions, batch, hidden))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    src = np.zeros((directions, n_steps, batch, hidden))
    scale = np.full((directions, n_steps, batch), -np.inf)
    src[:, -1], scale[:, -1] = v, 0.0
    names = ["state"] * directions
    if head is not None:
        m, s = loss_gradient(h_top, head)
        src, scale, names = np.concatenate([src, m[None]]), np.concatenate([scale, s[None]]), [*names, "loss"]
    return src, scale, names


def loss_gradient(h_top: np.ndarray, head: Head) -> tuple[np.ndarray, np.ndarray]:
    """dL_t/dh_t for every step, (T, B, H) mantissa and (T, B) log10 scale (-inf where L has no term)."""
    y = h_top @ head.weight.T + head.bias  # (T, B, C)
    eye = np.eye(len(head.weight))  # the core's loss of y itself: its dL/dh is dL/dy, times V below
    n_steps, batch, _ = y.shape
    mantissa, scale = np.zeros((n_steps, batch, len(eye))), np.full((n_steps, batch), -np.inf)
    if head.loss_at == "every":
        g = loss.at_every_step(head.loss, y, eye, head.target)
        mantissa, scale = g.dh_last, g.log10_scale
    else:
        g = loss.loss_and_grad(head.loss, y[-1], eye, head.target)
        mantissa[-1], scale[-1] = g.dh_last, g.log10_scale
    if np.isnan(scale).any():
        raise AuditError("the head's outputs leave float64 on some sequence; the loss cannot be measured there")
    return mantissa @ head.weight, scale


def check_target(head: Head, n_steps: int, batch: int) -> None:
    """The target's shape for the loss and loss_at, one line naming what was expected."""
    lead = (n_steps, batch) if head.loss_at == "every" else (batch,)
    c = len(head.weight)
    want = lead if head.loss == "cross_entropy" else (*lead, c)
    t = head.target
    if t.shape != want:
        raise AuditError(f"targets have shape {t.shape}; {head.loss} at loss_at {head.loss_at} needs {want}")
    if head.loss == "cross_entropy" and (t.dtype.kind not in "iu" or t.min() < 0 or t.max() >= c):
        raise AuditError(f"cross_entropy targets must be class indices from 0 to {c - 1}")
    if head.loss == "mse" and not np.isfinite(t).all():
        raise AuditError("mse targets hold NaN or inf")


def per_step(
    net: Network, x: np.ndarray, head: Head | None, directions: int, seed: int, jacobian: int = 0
) -> dict[str, list]:
    """quantity -> per layer an array (T, S) of log10 norms, S = sequences (x directions for state, state_c;
    the first `jacobian` sequences for jacobian)."""
    states = stacked.forward(net, x)
    src, scale, names = sources(net, states[-1], head, directions, np.random.default_rng(seed))
    grads = stacked.backward(net, states, src, scale)
    state = [i for i, n in enumerate(names) if n == "state"]
    out: dict[str, list] = {}

    def columns(a, rows):  # (R, T, B) -> (T, len(rows) * B)
        return np.concatenate([a[i] for i in rows], axis=1)

    for g in grads:
        parts = {"state": g.log10_grad_h, "state_c": g.log10_grad_c}
        if head is not None:
            parts |= {"loss_h": g.log10_grad_h, "loss_c": g.log10_grad_c}
        for q, a in parts.items():
            if a is not None:
                out.setdefault(q, []).append(columns(a, state if q.startswith("state") else [len(names) - 1]))
    if jacobian:
        j = min(jacobian, x.shape[1])
        out["jacobian"] = [
            gradients.profile(cell, states[k][:, :j], np.zeros((j, cell.hidden_size)), jacobian_samples=j).log10_jac
            for k, cell in enumerate(net.layers)
        ]
    return out

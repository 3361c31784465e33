"""Pascanu's cliff: the exact loss surface of a one-unit RNN over (w, b), and gradient descent on it
with and without clipping (Pascanu, Mikolov & Bengio 2013, section 3 and figure 6).

Their model x_t = w sigma(x_{t-1}) + b is, with h_t = sigma(x_t), the Elman cell of `bptt.core`
with one unit, the sigmoid as f, U = (w) and b_ih = (b), and no input:

    h_t = sigma(w h_{t-1} + b),  h_{-1} = 0,    L(w, b) = (h_{T-1} - target)^2

(the core's zero initial state replaces their x_0 = 0.5, and the loss is taken on h rather than on
x). For w > 4 the map h -> sigma(w h + b) has two stable fixed points over a band of b; where the
lower one is born or dies, h_{T-1} jumps from near 0 to near 1 within a sliver of b, and the
gradient there is two to four orders of magnitude above the plateaus around it: a cliff. An SGD
step that lands on the wall is thrown far away; clipped, it moves by at most learning_rate * clip.
Every loss and gradient here comes from `bptt.core` (forward and `gradients.param_grads`) through
`bptt.train.readout`; stacks run all grid points, or all paths, as one batch.
"""

from typing import NamedTuple

import numpy as np

from bptt.core import cells, gradients
from bptt.train import optim, readout


class Settings(NamedTuple):
    seq_len: int = 50  # T, as in Pascanu et al.
    target: float = 0.7
    w: tuple[float, float, int] = (0.0, 12.0, 161)  # (first, last, count) of the surface's grid
    b: tuple[float, float, int] = (-6.0, 4.0, 161)
    starts: tuple[tuple[float, float], ...] = ((6.0, -4.0), (7.0, -4.0), (8.0, -4.0), (9.0, -4.0), (10.0, -4.0))
    learning_rate: float = 10.0  # plain SGD; clipped steps move by at most learning_rate * clip = 1
    clip: float = 0.1
    steps: int = 60


SETTINGS = Settings()


class Paths(NamedTuple):
    theta: np.ndarray  # (N+1, P, 2): (w, b) after k steps
    loss: np.ndarray  # (N+1, P): L at theta[k]
    grad_norm: np.ndarray  # (N+1, P): ||dL/d(w, b)|| at theta[k], before clipping
    clipped: np.ndarray  # (N+1, P) bool: the step from theta[k] was clipped (False at k = N)


def one_unit_cells(w: np.ndarray, b: np.ndarray) -> cells.Cell:
    """A stack of len(w) one-unit sigmoid Elman cells with U = w and b_ih = b (W and b_hh zero)."""
    m = len(w)
    params = {
        "weight_ih": np.zeros((m, 1, 1)),
        "weight_hh": np.asarray(w, dtype=np.float64).reshape(m, 1, 1),
        "bias_ih": np.asarray(b, dtype=np.float64).reshape(m, 1),
        "bias_hh": np.zeros((m, 1)),
    }
    return cells.Cell("rnn", "sigmoid", params)


def loss_and_grad(theta: np.ndarray, seq_len: int, target: float) -> tuple[np.ndarray, np.ndarray]:
    """L and dL/d(w, b) at the points theta (P, 2): ((P,), (P, 2))."""
    cell = one_unit_cells(theta[:, 0], theta[:, 1])
    x = np.zeros((seq_len, len(theta), 1, 1))  # no input; one sequence per point
    h_last = cells.forward(cell, x)[-1]  # (P, 1, 1)
    out = readout.loss_and_grads(
        "mse",
        h_last,
        np.ones((len(theta), 1, 1)),
        np.zeros((len(theta), 1)),
        np.full((len(theta), 1, 1), target),
        scale=2.0,
    )  # (h - target)^2
    grads = gradients.param_grads(cell, x, out.dh_last)
    return out.loss[:, 0], np.stack([grads["weight_hh"][:, 0, 0], grads["bias_ih"][:, 0]], axis=1)


def surface(w: np.ndarray, b: np.ndarray, seq_len: int, target: float) -> np.ndarray:
    """L over the grid w (n_w,) x b (n_b,): (n_b, n_w), forward passes only."""
    ww, bb = np.meshgrid(w, b)
    h_last = cells.forward(one_unit_cells(ww.ravel(), bb.ravel()), np.zeros((seq_len, ww.size, 1, 1)))[-1]
    return ((h_last[:, 0, 0] - target) ** 2).reshape(ww.shape)


def descend(starts: np.ndarray, clip: float | None, settings: Settings = SETTINGS) -> Paths:
    """Plain SGD on (w, b) from every start (P, 2), all paths as one stack; clip None: no clipping."""
    theta = np.array(starts, dtype=np.float64)
    n, p = settings.steps, len(theta)
    out = Paths(np.empty((n + 1, p, 2)), np.empty((n + 1, p)), np.empty((n + 1, p)), np.zeros((n + 1, p), dtype=bool))
    for k in range(n + 1):
        loss, grad = loss_and_grad(theta, settings.seq_len, settings.target)
        clipped_grad, norm, clipped = optim.clip({"theta": grad}, clip)
        out.theta[k], out.loss[k], out.grad_norm[k] = theta, loss, norm
        if k < n:
            out.clipped[k] = clipped
            theta = optim.update("sgd", {"theta": theta}, clipped_grad, {}, settings.learning_rate)[0]["theta"]
    return out

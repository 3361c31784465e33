"""Jacobian diagnostics of the backward sweep: ||d s_{T-1}/d s_k||_2 and gamma_k = ||d s_k/d s_{k-1}||_2.

Rows of a Jacobian are adjoints, so one backward step applied to the n rows of the identity
(n = H, or 2H for the LSTM's state (h, c)) gives J_k = d s_k / d s_{k-1}, and the product
P_k = d s_{T-1}/d s_k is carried from lag to lag as P_{k-1} = P_k J_k, renormalised every step
with its norm moved to a log10 scale (as the gradient's adjoint is). Each norm is a
largest singular value from `bptt.core.spectral`. Cost O(n^3) per sample and step.
"""

import numpy as np

from bptt.core import logscale, spectral


class JacobianProduct:
    """P_k for every sample of a stack (M, J): p (M, J, n, n) times 10**scale (M, J)."""

    def __init__(self, shape: tuple[int, int], hidden_size: int, state_parts: int, grad_blocks: int):
        n = state_parts * hidden_size
        eye = np.eye(n)
        self.p = np.broadcast_to(eye, (*shape, n, n)).copy()
        self.scale = np.zeros(shape)
        # The identity's rows, split like the state: (M, B, n, H) per part, and a dL/da buffer.
        self.rows = tuple(
            np.broadcast_to(eye[:, j : j + hidden_size], (*shape, n, hidden_size)) for j in range(0, n, hidden_size)
        )
        self.buffer = np.empty((*shape, n, grad_blocks, hidden_size))

    def step(self, backward_step, values: dict, through_u) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Measure lag k and move to k-1. values: step k's factors (M, B, ...); through_u as in the sweep.

        Returns log10 ||P_k||_2 and gamma_k, each (M, B).
        """
        m, b, n = self.p.shape[:3]
        rows_values = {key: v[:, :, None] for key, v in values.items()}  # one more axis: the rows
        j_k = np.concatenate(backward_step(rows_values, self.rows, self.buffer, through_u), axis=-1)  # (M, B, n, n)
        # Brought to entries below 1 by a power of two per sample (exact), so that the products
        # and Gram matrices below stay inside float64 whatever the size of J_k.
        exponent = through_u.exponent + np.frexp(np.abs(j_k).max(axis=(-2, -1)))[1]
        j_k = np.ldexp(j_k, -np.frexp(np.abs(j_k).max(axis=(-2, -1)))[1][..., None, None])
        j_scale = exponent * np.log10(2.0)  # J_k was divided by 2**exponent (M, B)
        sigma = spectral.top_singular_values(np.concatenate([self.p, j_k]).reshape(2 * m * b, n, n))
        sigma_p, sigma_j = sigma[: m * b].reshape(m, b), sigma[m * b :].reshape(m, b)
        with np.errstate(divide="ignore", over="ignore"):
            log_p = np.log10(sigma_p) + self.scale  # log10 ||d s_{T-1}/d s_k||_2
            gamma = sigma_j * 2.0**exponent  # gamma_k = ||J_k||_2
        norm = logscale.safe_scale(sigma_p)
        self.scale += np.log10(norm) + j_scale
        self.p = (self.p / norm[..., None, None]) @ j_k  # d s_{T-1}/d s_{k-1} = (d s_{T-1}/d s_k) J_k
        return log_p, gamma

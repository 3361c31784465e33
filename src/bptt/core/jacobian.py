"""Jacobian diagnostics of the backward sweep: ||d s_{T-1}/d s_k||_2 and gamma_k = ||d s_k/d s_{k-1}||_2.

Rows of a Jacobian are adjoints, so one backward step applied to the n rows of the identity
(n = H, or 2H for the LSTM's state (h, c)) gives J_k = d s_k / d s_{k-1}, and the product
P_k = d s_{T-1}/d s_k is carried from lag to lag as P_{k-1} = P_k J_k, divided every step by a
power of two (exact) that moves to a log scale, as the gradient's adjoint is. This loop never
reads the gradient's adjoint: it runs beside the sweep, a chunk at a time.

Carrying P costs two n x n products per sequence and step (forming J_k, and P_k J_k): the floor
of any exact method. A norm, the largest singular value from `bptt.core.spectral`, costs about
three more, so it is taken at the lags a caller asks for: by default every lag; the pipeline's
`measured_lags` are every lag up to DENSE_LAGS and log-spaced lags beyond (and the last lag).
"""

import numpy as np

from bptt.core import precision, spectral

DENSE_LAGS = 32  # every lag 0..DENSE_LAGS is measured by `measured_lags`
PER_DECADE = 8  # ... and beyond it, lags DENSE_LAGS * 10**(i / PER_DECADE), i = 1, 2, ...


def measured_lags(n_steps: int) -> np.ndarray:
    """The lags whose Jacobian diagnostics the pipeline measures for T = n_steps: every lag 0..DENSE_LAGS,
    then round(DENSE_LAGS * 10**(i / PER_DECADE)) for i = 1, 2, ... below T, and the last lag T-1. Sorted, int."""
    beyond = np.round(DENSE_LAGS * 10.0 ** (np.arange(1, PER_DECADE * 4 + 1) / PER_DECADE)).astype(int)
    lags = np.concatenate([np.arange(DENSE_LAGS + 1), beyond, [n_steps - 1]])
    return np.unique(lags[lags < n_steps])


class JacobianProduct:
    """P_k for the first J sequences of a stack (M, J), carried from the last step back to the first.

    p (M, J, n, n), entries below 1, times 2**exponent (M, J); the `sweep` of each chunk, from the last
    chunk to the first, measures its steps and leaves P at the step before it."""

    def __init__(self, shape: tuple[int, int], hidden_size: int, state_parts: int, grad_blocks: int):
        n = state_parts * hidden_size
        eye = np.eye(n)
        self.p = np.broadcast_to(eye, (*shape, n, n)).copy()
        self.exponent = np.zeros(shape, dtype=np.int64)
        # The identity's rows, split like the state: (M, J, n, H) per part, and a dL/da buffer.
        self.rows = tuple(
            np.broadcast_to(eye[:, j : j + hidden_size], (*shape, n, hidden_size)) for j in range(0, n, hidden_size)
        )
        self.buffer = np.empty((*shape, n, grad_blocks, hidden_size))

    def sweep(self, spec, factors: dict, guard: np.ndarray, through_u, measure: np.ndarray) -> tuple:
        """The steps k = K-1..0 of one chunk. factors (K, M, J, ...) and guard exponents (K, M, J) as in the
        gradient sweep; measure (K,) bool: the steps whose norms are taken.

        Returns log10 ||P_k||_2 and gamma_k (K, M, J), NaN where not measured, and log2 of P_k's largest
        entry (K, M, J) at every step (the precision checks' measure of how much a step shrank P)."""
        n_steps = len(guard)
        log_p, gamma = np.full((2, n_steps, *self.exponent.shape), np.nan)
        log2_max = np.empty((n_steps, *self.exponent.shape))
        for k in reversed(range(n_steps)):
            values = {key: v[k][:, :, None] for key, v in factors.items()}  # one more axis: the rows
            rows = tuple(np.ldexp(r, -guard[k][..., None, None]) for r in self.rows) if guard[k].any() else self.rows
            j_k = np.concatenate(spec.backward_step(values, rows, self.buffer, through_u), axis=-1)  # (M, J, n, n)
            # J_k and P_k brought to entries below 1 by a power of two per sequence (exact), so that the
            # products and Gram matrices stay inside float64 whatever their size.
            j_exp = guard[k] + _normalise(j_k)
            log2_max[k] = self.exponent
            if measure[k]:
                m, j, n = self.p.shape[:3]
                sigma = spectral.top_singular_values(np.concatenate([self.p, j_k]).reshape(2 * m * j, n, n))
                with np.errstate(divide="ignore", over="ignore"):
                    log_p[k] = np.log10(sigma[: m * j].reshape(m, j)) + self.exponent * precision.LOG10_2
                    gamma[k] = np.ldexp(sigma[m * j :].reshape(m, j), j_exp)
            self.p = self.p @ j_k  # d s_{T-1}/d s_{k-1} = (d s_{T-1}/d s_k) J_k
            self.exponent += j_exp + _normalise(self.p)
        return log_p, gamma, log2_max


def _normalise(a: np.ndarray) -> np.ndarray:
    """Divide each matrix of a (..., r, c) in place by the power of two that brings its largest entry into
    [1/2, 1); returns that power (...), 0 for a zero matrix."""
    exponent = np.frexp(np.abs(a).max(axis=(-2, -1)))[1]
    a *= np.ldexp(1.0, -exponent)[..., None, None]
    return exponent

"""Numbers kept as (mantissa, log10 scale): value = mantissa * 10**scale, one scale per model.

The backward pass renormalises its adjoint every step; these helpers turn the per-step
factors back into log10 norms and exact float64 values without ever forming a number
outside float64's range in between. Sums run over rows R (steps x samples) of one model;
M models are summed side by side, each with its own scale (M,).
"""

import numpy as np

TINY = np.finfo(np.float64).tiny


def safe_scale(norm: np.ndarray) -> np.ndarray:
    """The factor to divide an adjoint by: its norm, or TINY where it is zero (0 / TINY = 0)."""
    return np.maximum(norm, TINY)


def row_norms(v: np.ndarray) -> np.ndarray:
    """Euclidean norm over the last axis, v (..., J) -> (...), without overflow near float64's max."""
    sq = np.einsum("...j,...j->...", v, v)
    if np.isfinite(sq).all():
        return np.sqrt(sq)
    big = safe_scale(np.abs(v).max(axis=-1))
    u = v / big[..., None]
    return big * np.sqrt(np.einsum("...j,...j->...", u, u))


def log10_norm(sq: np.ndarray, log_scale) -> np.ndarray:
    """log10 of sqrt(sq) * 10**log_scale; -inf where sq == 0 (an exactly zero gradient)."""
    with np.errstate(divide="ignore"):
        return 0.5 * np.log10(sq) + log_scale


def add(a: np.ndarray, a_scale: np.ndarray, b: np.ndarray, b_scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """a * 10**a_scale + b * 10**b_scale for mantissas (S..., ...) and scales (S...): (mantissa, scale).

    The scale is the larger one; a scale of -inf stands for an exact zero (the start of a sum).
    One scale per model (M,), or per model and sample (M, B), ...: the scales' shape leads the mantissas'.
    """
    (wa, wb), scale = _relative(a_scale, b_scale, a.ndim)
    if (wa == 1.0).all():  # a sets the scale (the common case of a running sum): one product, not two
        return a + b * wb, scale
    return a * wa + b * wb, scale


def add_state(adj: tuple, scale: np.ndarray, dh: np.ndarray, dh_scale: np.ndarray) -> tuple[tuple, np.ndarray]:
    """A loss term dL_t/dh_t = dh * 10**dh_scale ((..., H), (...)) joins the adjoint of s_t = adj * 10**scale,
    adj = (h part,) or (h part, c part), as `add` does: the term adds to the h part, both parts weighted alike."""
    (keep, w), top = _relative(scale, dh_scale, dh.ndim)
    return (adj[0] * keep + dh * w, *(a * keep for a in adj[1:])), top


def _relative(a_scale: np.ndarray, b_scale: np.ndarray, ndim: int) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """The weights 10**(scale - top) of two scales, shaped to multiply mantissas of ndim axes, and top (their max)."""
    top = np.maximum(a_scale, b_scale)
    with np.errstate(invalid="ignore"):  # -inf - -inf: both zero, weight 0
        w = [np.where(s == -np.inf, 0.0, 10.0 ** (s - top)) for s in (a_scale, b_scale)]
    shape = top.shape + (1,) * (ndim - top.ndim)
    return (w[0].reshape(shape), w[1].reshape(shape)), top


# Terms weighted below 10**-200 of the largest are dropped (set to zero): they are far
# below float64's resolution of the sum, and as subnormal numbers they would slow the
# matrix products down several-fold.
DROP = -200.0


def weights(log_w: np.ndarray, top: np.ndarray) -> np.ndarray:
    """10**(log_w - top) per row, (M, R) and (M,), or 0 below 10**DROP (and for a -inf top)."""
    with np.errstate(invalid="ignore"):
        rel = log_w - top[:, None]
    return np.where(rel > DROP, 10.0 ** np.maximum(rel, DROP), 0.0)


def weighted_sum(d: np.ndarray, log_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sum_r 10**log_w[m, r] d[m, r] for d (M, R, G), log_w (M, R): (mantissa (M, G), scale (M,))."""
    top = log_w.max(axis=1)
    return (weights(log_w, top)[:, None] @ d)[:, 0], top  # a matrix product: BLAS, not einsum's loop


def weighted_outer_sum(d: np.ndarray, v: np.ndarray, log_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sum_r 10**log_w[m, r] outer(d[m, r], v[m, r]) for d (M, R, G), v (M, R, J), log_w (M, R).

    Returns (mantissa (M, G, J), scale (M,)). ||v[m, r]|| joins the log weights, so neither a
    huge adjoint scale nor a huge v (a state close to overflowing) can overflow the product.
    """
    norm_v = row_norms(v)  # (M, R)
    with np.errstate(divide="ignore"):
        log_w = log_w + np.log10(norm_v)
    top = log_w.max(axis=1)  # -inf where every v[m, r] is zero
    w = weights(log_w, top) / safe_scale(norm_v)
    # (v^T d)^T rather than d^T v: the same product, about 20% faster in OpenBLAS at these shapes;
    # contiguous, because numpy's stacked matmul of a transposed view skips BLAS (50x slower).
    return (np.ascontiguousarray((v * w[..., None]).transpose(0, 2, 1)) @ d).transpose(0, 2, 1), top


def to_linear(mantissa: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """mantissa (M, ...) * 10**scale (M,) in float64: +-inf only where the value itself exceeds float64."""
    # Two half factors, so a large scale with a small mantissa stays finite.
    with np.errstate(over="ignore", invalid="ignore"):
        half = np.power(10.0, np.asarray(scale) / 2).reshape((-1,) + (1,) * (mantissa.ndim - 1))
        return np.where(mantissa == 0, 0.0, (mantissa * half) * half)

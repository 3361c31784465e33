"""Numbers kept as (mantissa, log10 scale): value = mantissa * 10**scale.

The backward pass renormalises its adjoint every step; these helpers turn the
per-step factors back into log10 norms and exact float64 values without ever
forming a number outside float64's range in between.
"""

import numpy as np

TINY = np.finfo(np.float64).tiny


def safe_scale(norm: np.ndarray) -> np.ndarray:
    """The factor to divide an adjoint by: its norm, or TINY where it is zero (0 / TINY = 0)."""
    return np.maximum(norm, TINY)


def suffix_log_scales(log_factors: np.ndarray, carry: np.ndarray) -> np.ndarray:
    """L_t = carry + sum_{s >= t} log_factors[s]: (K, B) factors, (B,) carry -> (K, B)."""
    return carry + np.cumsum(log_factors[::-1], axis=0)[::-1]


def log10_norm(sq: np.ndarray, log_scale) -> np.ndarray:
    """log10 of sqrt(sq) * 10**log_scale; -inf where sq == 0 (an exactly zero gradient)."""
    with np.errstate(divide="ignore"):
        return 0.5 * np.log10(sq) + log_scale


def add(a: dict, a_scale: float, b: dict, b_scale: float) -> tuple[dict, float]:
    """a * 10**a_scale + b * 10**b_scale, as (mantissas, scale) with scale = the larger one."""
    scale = max(a_scale, b_scale)
    fa, fb = 10.0 ** (a_scale - scale), 10.0 ** (b_scale - scale)
    return {k: a[k] * fa + b[k] * fb for k in a}, scale


def to_linear(mantissa: np.ndarray, scale: float) -> np.ndarray:
    """mantissa * 10**scale in float64: +-inf only where the value itself exceeds float64."""
    # Two half factors, so a large scale with a small mantissa stays finite.
    with np.errstate(over="ignore", invalid="ignore"):
        half = np.power(10.0, scale / 2)
        return np.where(mantissa == 0, 0.0, (mantissa * half) * half)

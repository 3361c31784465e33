"""Initialisation with an exact recurrent spectral radius rho.

recurrent_init="orthogonal": each H x H recurrent block is rho * Q, Q Haar-random
orthogonal (QR of a standard Gaussian matrix with the signs of R's diagonal moved
into Q, Mezzadri 2007), so its spectral radius and spectral norm both equal rho.
recurrent_init="gaussian": each block is G / sqrt(H), G standard Gaussian,
rescaled so that its largest |eigenvalue| is rho (its norm is then larger).
Gated cells (LSTM, GRU) scale each gate's block on its own.

Order of draws from `rng` in `params` (and so in `bptt.core.cells.make`):
  1. the recurrent blocks, in gate order, each one `rng.standard_normal((H, H))`;
  2. the input weights, one `rng.standard_normal((n_blocks * H, I))`, times 1/sqrt(I).
Biases are zero and drawn from nothing. The draws never depend on rho (common
random numbers): two radii give the same matrices up to scale, and a cell's
recurrent weights do not depend on its input size.
"""

import math

import numpy as np

METHODS = ("orthogonal", "gaussian")


def spectral_radius(matrix: np.ndarray) -> float:
    """max |eigenvalue| of a square (H, H) matrix."""
    return float(np.max(np.abs(np.linalg.eigvals(matrix)))) if matrix.size else 0.0


def check_radius(radius: float) -> float:
    """rho as a float; ValueError unless it is finite and >= 0."""
    if isinstance(radius, bool) or not isinstance(radius, (int, float, np.integer, np.floating)):
        raise ValueError(f"radius must be a finite number >= 0, got {radius!r}")
    if not math.isfinite(radius) or radius < 0:
        raise ValueError(f"radius must be a finite number >= 0, got {radius!r}")
    return float(radius)


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"recurrent_init must be one of {METHODS}, got {method!r}")
    return method


def recurrent_block(rng: np.random.Generator, hidden_size: int, radius: float, method: str) -> np.ndarray:
    """One (H, H) recurrent block with spectral radius `radius`; draws one (H, H) Gaussian."""
    radius, method = check_radius(radius), check_method(method)
    base = rng.standard_normal((hidden_size, hidden_size))
    if method == "orthogonal":
        q, r = np.linalg.qr(base)
        # Sign correction makes Q Haar-distributed (numpy's QR alone is not).
        return radius * (q * np.where(np.diag(r) < 0, -1.0, 1.0))
    base /= math.sqrt(hidden_size)
    rho0 = spectral_radius(base)
    return base * (radius / rho0)


def params(
    rng: np.random.Generator,
    *,
    n_blocks: int,
    input_size: int,
    hidden_size: int,
    radius: float,
    recurrent_init: str,
) -> dict[str, np.ndarray]:
    """weight_ih (G*H, I), weight_hh (G*H, H), bias_ih, bias_hh (G*H,) zeros; G = n_blocks."""
    weight_hh = np.concatenate([recurrent_block(rng, hidden_size, radius, recurrent_init) for _ in range(n_blocks)])
    weight_ih = rng.standard_normal((n_blocks * hidden_size, input_size)) / math.sqrt(input_size)
    zeros = np.zeros(n_blocks * hidden_size)
    return {"weight_ih": weight_ih, "weight_hh": weight_hh, "bias_ih": zeros, "bias_hh": zeros.copy()}

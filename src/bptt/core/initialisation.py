"""Initial weights: recurrent blocks with an exact spectral radius rho, input weights, gate biases.

recurrent_init, for each H x H block of U (every gate's block, not only the candidate's):
  "orthogonal"  rho * Q, Q Haar-random orthogonal (QR of a standard Gaussian matrix with
                the signs of R's diagonal moved into Q, Mezzadri 2007): radius = norm = rho;
  "gaussian"    G / sqrt(H), G standard Gaussian, rescaled so that its largest |eigenvalue|
                is rho (it is non-normal: its norm is about 2 rho);
  "identity"    rho * I, the IRNN of Le, Jaitly & Hinton (2015); Elman cell only.
Every block is scaled to rho so that the gates' pre-activations live on the same scale as
the candidate's; the radius of a gated cell is that of each block.

Gate biases (`bias_ih` of one block: the LSTM's forget gate, the GRU's update gate z;
positive values make the cell keep its state, h_t ~ h_{t-1} or c_t ~ c_{t-1}):
  a number b    every unit's bias is b;
  "chrono"      the LSTM's chrono initialisation (Tallec & Ollivier 2018): forget-gate
                biases log u, u ~ Uniform(1, T_max - 1), and input-gate biases -log u.

Order of draws from `rng` (and so in `bptt.core.cells.make`):
  1. the recurrent blocks, in gate order, each one `rng.standard_normal((H, H))`
     (drawn for "identity" too, and discarded, so the later draws stay the same);
  2. the input weights, one `rng.standard_normal((n_blocks * H, I))`, times 1/sqrt(I);
  3. for "chrono" only, `rng.uniform(1, T_max - 1, H)`.
The draws never depend on rho or the gate bias (common random numbers): two radii give
the same matrices up to scale, and a cell's recurrent weights do not depend on its input
size.
"""

import math

import numpy as np

METHODS = ("orthogonal", "gaussian", "identity")
CHRONO = "chrono"


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


def check_gate_bias(gate_bias, chrono_t_max=None) -> float | str:
    """A finite number or "chrono" (which needs an integer chrono_t_max >= 3); ValueError otherwise."""
    if gate_bias == CHRONO:
        if isinstance(chrono_t_max, bool) or not isinstance(chrono_t_max, (int, np.integer)) or chrono_t_max < 3:
            raise ValueError(f"gate_bias 'chrono' needs chrono_t_max, an integer >= 3; got {chrono_t_max!r}")
        return CHRONO
    if isinstance(gate_bias, bool) or not isinstance(gate_bias, (int, float, np.integer, np.floating)):
        raise ValueError(f"gate_bias must be a finite number or {CHRONO!r}, got {gate_bias!r}")
    if not math.isfinite(gate_bias):
        raise ValueError(f"gate_bias must be a finite number or {CHRONO!r}, got {gate_bias!r}")
    return float(gate_bias)


def recurrent_block(rng: np.random.Generator, hidden_size: int, radius: float, method: str) -> np.ndarray:
    """One (H, H) recurrent block with spectral radius `radius`; draws one (H, H) Gaussian."""
    radius, method = check_radius(radius), check_method(method)
    base = rng.standard_normal((hidden_size, hidden_size))
    if method == "identity":
        return radius * np.eye(hidden_size)
    if method == "orthogonal":
        q, r = np.linalg.qr(base)
        # Sign correction makes Q Haar-distributed (numpy's QR alone is not).
        return radius * (q * np.where(np.diag(r) < 0, -1.0, 1.0))
    base /= math.sqrt(hidden_size)
    return base * (radius / spectral_radius(base))


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
    blocks = [recurrent_block(rng, hidden_size, radius, recurrent_init) for _ in range(n_blocks)]
    weight_ih = rng.standard_normal((n_blocks * hidden_size, input_size)) / math.sqrt(input_size)
    zeros = np.zeros(n_blocks * hidden_size)
    return {"weight_ih": weight_ih, "weight_hh": np.concatenate(blocks), "bias_ih": zeros, "bias_hh": zeros.copy()}


def chrono_biases(rng: np.random.Generator, hidden_size: int, t_max: int) -> np.ndarray:
    """log u, u ~ Uniform(1, t_max - 1), shape (H,): the chrono forget-gate biases."""
    return np.log(rng.uniform(1.0, t_max - 1.0, hidden_size))

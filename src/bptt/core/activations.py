"""Candidate-path activations f: one registry, one entry per activation.

Each entry gives f, its derivative and gamma_bound = sup |f'| (Pascanu et al.'s
gamma_f). The derivative is written as a function of the *output* y = f(z):
every registered f allows it (tanh' = 1 - y^2, sigmoid' = y (1 - y), relu' =
[y > 0], linear' = 1), and it spares the forward pass from storing z. The price:
where y is within float64's spacing of its bound (tanh for |z| > ~19, sigmoid for
z > ~37), 1 - y^2 or 1 - y rounds to 0, so f' < ~1e-16 is returned as 0. Adding an
activation is one more `Activation(...)` in `_REGISTRY`.
"""

from types import MappingProxyType
from typing import Callable, NamedTuple

import numpy as np


class Activation(NamedTuple):
    """f(z, out=None) -> f(z); df(y) -> f'(z) where y = f(z); gamma_bound = sup |f'|."""

    name: str
    f: Callable[..., np.ndarray]
    df: Callable[[np.ndarray], np.ndarray]
    gamma_bound: float


def _sigmoid(z, out=None):
    # 1 / (1 + e^-z): full relative precision down to sigma(z) ~ 1e-308 (the form
    # 1/2 + tanh(z/2)/2 would round everything below ~1e-17 to 0); e^-z overflows to
    # inf for z < -709 and underflows to 0 for z > 745, giving the correct 0 and 1.
    out = np.negative(z, out=out)
    with np.errstate(over="ignore", under="ignore"):
        np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def _relu(z, out=None):
    return np.maximum(z, 0.0, out=out)


def _identity(z, out=None):
    if out is None:
        return np.array(z, dtype=np.float64)
    if out is not z:
        np.copyto(out, z)
    return out


_REGISTRY = MappingProxyType(
    {
        a.name: a
        for a in (
            Activation("tanh", lambda z, out=None: np.tanh(z, out=out), lambda y: 1.0 - y * y, 1.0),
            Activation("sigmoid", _sigmoid, lambda y: y * (1.0 - y), 0.25),
            Activation("relu", _relu, lambda y: (y > 0).astype(np.float64), 1.0),
            Activation("linear", _identity, lambda y: np.ones_like(y, dtype=np.float64), 1.0),
        )
    }
)

NAMES = tuple(_REGISTRY)


def get(name: str) -> Activation:
    """The registered activation called `name`; ValueError naming the allowed ones otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"activation must be one of {NAMES}, got {name!r}") from None

"""Activations f: one registry, one entry per activation, each derivative under its function.

Each entry gives f(z), its derivative f'(z) at the pre-activation z, gamma_bound =
sup |f'| (Pascanu et al.'s gamma_f) and `saturates_beyond`: the |z| beyond which
f' (or f itself) is below float64's smallest normal number although it is not zero,
so that products built from it may lose precision (inf where that never happens).

f' is taken from z, never from the output y = f(z): 1 - y^2 and y (1 - y) round to 0
as soon as y is within float64's spacing of its bound (|z| > ~19 for tanh, z > ~37 for
the sigmoid), while the true slope is still far from 0. The forms below keep full
relative precision until the slope itself leaves float64's range. Adding an activation
is one more `Activation(...)` in `_REGISTRY`.
"""

from collections.abc import Callable
from types import MappingProxyType
from typing import NamedTuple

import numpy as np


class Activation(NamedTuple):
    """f(z, out=None) -> f(z); df(z) -> f'(z); gamma_bound = sup |f'|; saturates_beyond (see module)."""

    name: str
    f: Callable[..., np.ndarray]
    df: Callable[[np.ndarray], np.ndarray]
    gamma_bound: float
    saturates_beyond: float


def _sigmoid(z, out=None):
    # 1 / (1 + e^-z): full relative precision down to sigma(z) ~ 1e-308 (the form
    # 1/2 + tanh(z/2)/2 would round everything below ~1e-17 to 0); e^-z overflows to
    # inf for z < -709 and underflows to 0 for z > 745, giving the correct 0 and 1.
    out = np.negative(z, out=out)
    with np.errstate(over="ignore", under="ignore"):
        np.exp(out, out=out)
    out += 1.0
    return np.divide(1.0, out, out=out)  # the same quotient as np.reciprocal, in half its time


def _dsigmoid(z):
    # sigma'(z) = sigma(z) sigma(-z) = e^-|z| / (1 + e^-|z|)^2: one exp, no cancellation.
    t = np.abs(z)
    t *= -1.0
    return _bell(t, 1.0)


def _dtanh(z):
    # tanh'(z) = 1 - tanh(z)^2 = 4 e^-2|z| / (1 + e^-2|z|)^2, exact where 1 - y^2 rounds to 0.
    t = np.abs(z)
    t *= -2.0
    return _bell(t, 4.0)


def _bell(t, factor):
    """factor e^t / (1 + e^t)^2 for t <= 0, written into t: two arrays in all, since allocating
    fresh ones costs as much as the arithmetic on the large inputs of a chunk."""
    np.exp(t, out=t)
    d = t + 1.0
    d *= d
    t *= factor
    return np.divide(t, d, out=t)


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
            # tanh' = 4 e^-2|z| / (...)^2 leaves the normal range at |z| > 354.
            Activation("tanh", lambda z, out=None: np.tanh(z, out=out), _dtanh, 1.0, 350.0),
            # sigma' and sigma(-|z|) leave it at |z| > 708.
            Activation("sigmoid", _sigmoid, _dsigmoid, 0.25, 700.0),
            Activation("relu", _relu, lambda z: (z > 0).astype(np.float64), 1.0, np.inf),
            Activation("linear", _identity, lambda z: np.ones_like(z, dtype=np.float64), 1.0, np.inf),
        )
    }
)

NAMES = tuple(_REGISTRY)
SIGMOID = _REGISTRY["sigmoid"]  # the gates' nonlinearity, whatever the candidate path uses


def largest_magnitude(a: np.ndarray) -> np.ndarray:
    """max |a| over the last axis, without the full-size copy np.abs would make: (...,)."""
    return np.maximum(a.max(axis=-1), -a.min(axis=-1))


def get(name: str) -> Activation:
    """The registered activation called `name`; ValueError naming the allowed ones otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"activation must be one of {NAMES}, got {name!r}") from None

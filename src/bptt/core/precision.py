"""Where float64 can no longer be trusted, and the guards that keep a sweep inside its range.

Both backward sweeps (`bptt.core.gradients`, one adjoint per sequence, and `bptt.core.sources`,
one per loss term) use these, so each rule is written once:

  - overflow of the forward pass: `first_nonfinite` finds a state's first non-finite step;
  - an input too large to square: `tame` divides it by a power of two (exact), moved to log space;
  - a backward step whose product with U could exceed float64 although every factor is finite
    (a state near float64's largest numbers): `guard_exponents` gives the power of two to divide
    the step's unit adjoint by first, so the product stays below 2^GUARD_EXPONENT;
  - precision: where a gate, a gate's slope or f' has left float64's range (a saturated step) and a
    norm out of that step falls below UNDERFLOW (2^-900) of the norm it came from, the float64 value
    may be a rounded-away remainder, not the true one (`digits_lost`); such entries are NaN and
    flagged, never reported as 0, and a lost adjoint makes every earlier step lost (`lost_up_to`);
  - `flagged` puts NaN where a value is unmeasurable, and fails loudly on any other NaN.

Shapes: K steps of a chunk, then the sample axes (M models, B sequences, ...).
"""

import numpy as np

UNDERFLOW = 2.0**-900  # below this ratio a saturated step's result may have lost its digits
LOG10_UNDERFLOW = -900 * np.log10(2.0)
# A backward step whose product with U could exceed 2^GUARD_EXPONENT is scaled down first, so that
# the adjoint and its squared norm (entries up to 2^511 square to float64's largest) stay finite.
GUARD_EXPONENT = 480
LOG10_2 = np.log10(2.0)


def first_nonfinite(states: list[np.ndarray]) -> np.ndarray:
    """First step whose state holds a non-finite value, per model (M,), for states [(K, M, B, H), ...]; -1 if none."""
    with np.errstate(over="ignore", invalid="ignore"):
        if all(np.isfinite(a.sum()) for a in states):  # one cheap pass; a huge finite sum only costs the exact check
            return np.full(states[0].shape[1], -1)
    ok = np.logical_and.reduce([np.isfinite(a).all(axis=(2, 3)) for a in states])  # (K, M)
    return np.where(ok.all(axis=0), -1, np.argmin(ok, axis=0))


def tame(dh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dh (..., H) divided by 2**exponent (...) where its squared norm would leave float64: (dh', exponent).

    Any other dh is left bit for bit as it is (exponent 0)."""
    exponent = np.maximum(0, np.frexp(np.abs(dh).max(axis=-1))[1] - GUARD_EXPONENT)
    return np.ldexp(dh, -exponent[..., None]), exponent


def guard_exponents(factors: dict[str, np.ndarray], u: np.ndarray, limit: int = GUARD_EXPONENT) -> np.ndarray:
    """(K, M, B): the power of two to divide step k's unit adjoint by before its backward step, 0 for most steps.

    factors: a backward step's factors (K, M, B, ...) each; u: U (M, G*H, H). An adjoint of norm 1
    (its parts added in a step: entries <= 2) times a factor gives dL/da_t with entries below
    2 max|factor|, and |dL/da_t U|_inf <= max|dL/da_t| * (largest column sum of |U|): a unit
    adjoint divided by 2^exponent keeps that below 2^limit (with twice that margin for a loss
    at every step, whose injected term can double the adjoint's norm)."""
    k, m, b = next(iter(factors.values())).shape[:3]
    with np.errstate(invalid="ignore"):
        biggest = np.stack([np.abs(v).reshape(k, m, b, -1).max(axis=-1) for v in factors.values()]).max(axis=0)
    bound = 4 * biggest * np.abs(u).sum(axis=1).max(axis=1)[:, None]
    return np.maximum(0, np.frexp(bound)[1] - limit)


def digits_lost(saturated: np.ndarray, norm: np.ndarray, reference=1.0) -> np.ndarray:
    """True where a norm out of a saturated step fell below UNDERFLOW of the reference it came from."""
    return saturated & (norm < UNDERFLOW * reference)


def lost_up_to(lost: np.ndarray) -> np.ndarray:
    """Per sample, the last step k of lost (K, ...) that is True, -1 if none: steps 0..k have lost their digits."""
    return np.where(lost.any(axis=0), len(lost) - 1 - np.argmax(lost[::-1], axis=0), -1)


def flagged(values: np.ndarray, nan_at: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """values with NaN at nan_at. A NaN outside `allowed` (default nan_at: the unmeasurable entries) is a
    bug: fail loudly, never return it."""
    values = np.where(nan_at, np.nan, values)
    if (np.isnan(values) & ~(nan_at if allowed is None else allowed)).any():
        raise FloatingPointError(
            "internal error: a log10 norm is NaN where no precision was lost; "
            "please report this with the command that produced it"
        )
    return values

"""Spreads and how the report prints them.

The Wilson score interval of a binomial proportion, and the one way every number the page quotes is
written with its spread: "value [low, high]", with as many digits as the spread supports (two significant
digits of its width), in linear form (`bracket`) or, for norms kept as base-10 logarithms, as powers of
ten (`decades`).
"""

import math

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile
SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
# Significant digits of a value whose spread is zero (every seed gave the same number).
EXACT_DIGITS = 4


def wilson(successes, trials, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of the Wilson score interval (Wilson 1927) for k successes in n trials, elementwise
    (arrays of any shape, n >= 1): centre (k + z²/2) / (n + z²), half-width z sqrt(k(n-k)/n + z²/4) / (n + z²).
    Unlike the normal approximation it stays inside [0, 1] and is not empty at k = 0 or k = n."""
    k, n = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
    centre = (k + z**2 / 2) / (n + z**2)
    half = z * np.sqrt(k * (n - k) / n + z**2 / 4) / (n + z**2)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def decimals(value: float, low: float, high: float) -> int:
    """Decimal places that show the width high - low with two significant digits (at least 0), but never
    more than show `value` with EXACT_DIGITS significant digits (a spread of rounding, 1e-16, is not one
    worth printing); those where the width is zero or not finite."""
    most = EXACT_DIGITS - 1
    if math.isfinite(value) and value != 0:
        most = max(0, EXACT_DIGITS - 1 - math.floor(math.log10(abs(value))))
    width = high - low
    if math.isfinite(width) and width > 0:
        return min(most, max(0, 1 - math.floor(math.log10(width))))
    return most


def bracket(value: float, low: float, high: float) -> str:
    """'0.984 [0.962, 1.007]': value and its interval (or range) with the digits the spread supports;
    '0.5000 (no spread at these digits)' where the ends print alike."""
    return " ".join(part for part in parts(value, low, high) if part)


def parts(value: float, low: float, high: float) -> tuple[str, str]:
    """`bracket`'s two halves, for a table that sets them apart: ('0.984', '[0.962, 1.007]')."""
    if math.isnan(value):
        return "not measurable", ""
    places = decimals(value, low, high)
    return _spread(_fixed(value, places), _fixed(low, places), _fixed(high, places))


def _spread(value: str, low: str, high: str) -> tuple[str, str]:
    if low == high == value:
        return value, "(no spread at these digits)"
    return value, f"[{low}, {high}]"


def _fixed(value: float, places: int) -> str:
    if math.isnan(value):
        return "not measurable"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.{places}f}".replace("-", "−")


def power_of_ten(log10_value: float, significant: int = 2, plain: int = 3, zeros: bool = False) -> str:
    """'3.2 × 10⁻⁴' for log10_value = log10(3.2e-4) (the mantissa with `significant` digits); numbers
    between 0.01 and 999 plainly, with `plain` significant digits (trailing zeros kept if `zeros`: 0.80);
    words for the infinite cases."""
    if math.isnan(log10_value):
        return "not measurable"
    if math.isinf(log10_value):
        return "beyond float64 (overflow)" if log10_value > 0 else "exactly zero"
    exponent = math.floor(log10_value)
    mantissa = round(10 ** (log10_value - exponent), significant - 1)
    if mantissa >= 10:
        mantissa, exponent = 1.0, exponent + 1
    if -2 <= exponent <= 2:
        places = max(0, plain - 1 - exponent)
        text = f"{round(10**log10_value, plain - 1 - exponent):.{places}f}"
        return text if zeros or "." not in text else text.rstrip("0").rstrip(".")
    text = f"{mantissa:.{significant - 1}f}" if significant > 1 else f"{mantissa:.0f}"
    return f"{text} × 10{str(exponent).translate(SUPERSCRIPT)}"


def decades(log10_value: float, log10_low: float, log10_high: float) -> str:
    """'6.9 × 10⁻²¹ [1 × 10⁻²², 3 × 10⁻¹⁹]' for values kept as base-10 logarithms: the mantissa's digits
    set by the spread in decades (one digit beyond a tenth of a decade, two beyond a hundredth, else three)."""
    width = log10_high - log10_low
    significant = 3 if not math.isfinite(width) or width <= 0.01 else 2 if width <= 0.1 else 1
    if not math.isfinite(width) and (math.isfinite(log10_low) or math.isfinite(log10_high)):
        significant = 1  # one end exactly zero (or overflowed): the spread is unbounded
    texts = (power_of_ten(v, significant, significant, zeros=True) for v in (log10_value, log10_low, log10_high))
    return " ".join(_spread(*texts))

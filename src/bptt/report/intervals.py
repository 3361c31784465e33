"""Confidence intervals for counts: the Wilson score interval of a binomial proportion."""

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile


def wilson(successes, trials, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of the Wilson score interval (Wilson 1927) for k successes in n trials, elementwise
    (arrays of any shape, n >= 1): centre (k + z²/2) / (n + z²), half-width z sqrt(k(n-k)/n + z²/4) / (n + z²).
    Unlike the normal approximation it stays inside [0, 1] and is not empty at k = 0 or k = n."""
    k, n = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
    centre = (k + z**2 / 2) / (n + z**2)
    half = z * np.sqrt(k * (n - k) / n + z**2 / 4) / (n + z**2)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)

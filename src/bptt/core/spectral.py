"""The largest singular value of many small matrices, exact to a few units of float64 rounding.

sigma_max(P)^2 = lambda_max(P P^T), and LAPACK's symmetric eigensolver (`numpy.linalg.eigvalsh`,
backward stable) gives lambda_max of the Gram matrix to within about n eps ||P||^2, so
sigma_max comes out with a relative error of about n eps / 2 (< 1e-13 for n <= 512): the
same accuracy as an SVD, for less (`bench/bench_jacobian.py` prints both, per matrix). An
iterative method with a proved stopping rule (power iterations, then a Cholesky factorisation
of (1 + delta) theta I - A as the proof) was tried and lost: the proof failed for most
Jacobians of these networks, whose top singular values lie close together, and fell back here.
"""

import numpy as np

# Entries below 2^-500 of a matrix's largest entry change sigma_max by less than n 2^-500
# relative; set to 0, they keep the Gram matrix free of subnormal numbers, which would make
# LAPACK a hundred times slower.
_NEGLIGIBLE = 2.0**-500


def top_singular_values(p: np.ndarray) -> np.ndarray:
    """sigma_max of each matrix of p (N, r, c), entries below 1 in magnitude: (N,)."""
    p = np.where(np.abs(p) < _NEGLIGIBLE, 0.0, p)
    gram = p @ p.transpose(0, 2, 1)  # P P^T, (N, r, r)
    return np.sqrt(np.maximum(np.linalg.eigvalsh(gram)[:, -1], 0.0))

"""Exact Jacobian norms at a realistic size, and what they cost against the floor (run by `make bench`).

1. An LSTM with H = 256, T = 200, B = 8 (I = 8), one BLAS thread, Jacobian diagnostics on all 8 sequences:
   - the gradient alone (`gradients.lag_profile_and_grads`, median of 3 calls);
   - the floor of any exact method: the gradient sweep plus carrying P_{k-1} = P_k J_k, measured as
     `gradients.profile` with no lag measured (jacobian_lags=[]: J_k formed, P carried, no norm), and
     from BLAS alone (per step and sequence, J_k's n rows through U and one n x n x n product);
   - `gradients.profile` at the pipeline's lags (`jacobian.measured_lags`: every lag up to 32 and
     log-spaced beyond) and its ratio to the floor, against the target (at most 2x).
   The two profile calls alternate (floor, lags, floor, lags) so that both see the same load.
2. The largest singular value of stacks of n x n matrices, per matrix: numpy's SVD against the
   eigenvalue of the Gram matrix that `bptt.core.spectral` uses, at n = 16, 32 (the default grid's
   Elman/GRU and LSTM sizes) and 512 (H = 256, LSTM).
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from bptt.core import cells, gradients, jacobian, spectral  # noqa: E402

T, B, H, I = 200, 8, 256, 8
TARGET = 2.0  # profile at the measured lags, against the floor
ROUNDS = 2


def seconds(fn, repeats: int = 1) -> float:
    """Median wall seconds of `repeats` calls of fn (after none: each call is long enough)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def realistic() -> float:
    """Prints the figures of item 1; returns the ratio of profile at the measured lags to the floor."""
    rng = np.random.default_rng(0)
    cell = cells.make("lstm", input_size=I, hidden_size=H, activation="tanh", radius=1.0, rng=rng)
    x, dh = rng.standard_normal((T, B, I)), rng.standard_normal((B, H))
    gradients.lag_profile_and_grads(cell, x[:5], dh)  # warm-up
    gradient = seconds(lambda: gradients.lag_profile_and_grads(cell, x, dh), repeats=3)
    print(f"LSTM H={H}, T={T}, B={B}, one BLAS thread, Jacobian diagnostics on all {B} sequences")
    print(f"  gradient alone (lag_profile_and_grads): {gradient:.2f} s (median of 3)")
    # BLAS alone, per step and sequence: J_k from its n rows pushed through U (one (n, 4H) x (4H, H)
    # product) and P_{k-1} = P_k J_k (one n x n x n), before any norm is taken.
    n = 2 * H
    rows, p = rng.standard_normal((n, cell.params["weight_hh"].shape[0])), rng.standard_normal((2, n, n))
    blas = seconds(lambda: rows @ cell.params["weight_hh"], repeats=7) + seconds(lambda: p[0] @ p[1], repeats=7)
    print(f"  BLAS floor of carrying P: {blas * 1e3:.1f} ms per step and sequence, {blas * T * B:.1f} s in all")
    lags = jacobian.measured_lags(T)
    rounds = []
    for _ in range(ROUNDS):
        floor = seconds(lambda: gradients.profile(cell, x, dh, jacobian_lags=[]))
        measured = seconds(lambda: gradients.profile(cell, x, dh, jacobian_lags=lags))
        rounds.append((floor, measured))
        print(
            f"  round {len(rounds)}: floor (gradient + carrying P, no norm) {floor:.1f} s; profile at {len(lags)} of "
            f"{T} lags {measured:.1f} s, {measured / floor:.2f}x the floor"
        )
    ratio = statistics.median(m / f for f, m in rounds)
    floor = statistics.median(f for f, _ in rounds)
    print(
        f"  median: profile at the measured lags {ratio:.2f}x the floor (target <= {TARGET:g}x: "
        f"{'met' if ratio <= TARGET else 'missed'}); the floor is {floor / (gradient + blas * T * B):.2f}x "
        "the gradient plus BLAS's products alone"
    )
    return ratio


def singular_values() -> None:
    rng = np.random.default_rng(1)
    print("largest singular value per matrix (median of 5 batched calls)")
    for n, count in ((16, 512), (32, 512), (512, 8)):
        p = rng.standard_normal((count, n, n))
        p /= np.abs(p).max()
        svd = seconds(lambda p=p: np.linalg.svd(p, compute_uv=False), repeats=5) / count
        gram = seconds(lambda p=p: spectral.top_singular_values(p), repeats=5) / count
        print(f"  n={n}: SVD {svd * 1e6:.0f} us, Gram + eigvalsh {gram * 1e6:.0f} us (ratio {gram / svd:.2f})")


if __name__ == "__main__":
    singular_values()
    print(f"RATIO jacobian: {realistic():.2f} (profile at the measured lags / the floor; target <= {TARGET:g})")

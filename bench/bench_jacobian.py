"""Exact Jacobian norms at a realistic size, and what they cost against the gradient (run by `make bench`).

1. An LSTM with H = 256, T = 200, B = 8 (I = 8), one BLAS thread: `gradients.lag_profile_and_grads`
   (the gradient alone, median of 3 calls) against `gradients.profile` with the Jacobian diagnostics
   on 1 sequence (the pipeline's default, jacobian_batch: 1; one call) and on all 8 (one call).
   Prints each ratio beside the target (profile within 5x of the gradient), and the floor of any
   exact method: forming J_k and carrying the product, per step, against the gradient's step.
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

from bptt.core import cells, gradients, spectral  # noqa: E402

T, B, H, I = 200, 8, 256, 8
TARGET = 5.0


def seconds(fn, repeats: int = 1) -> float:
    """Median wall seconds of `repeats` calls of fn (after none: each call is long enough)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def realistic() -> None:
    rng = np.random.default_rng(0)
    cell = cells.make("lstm", input_size=I, hidden_size=H, activation="tanh", radius=1.0, rng=rng)
    x, dh = rng.standard_normal((T, B, I)), rng.standard_normal((B, H))
    gradients.lag_profile_and_grads(cell, x[:5], dh)  # warm-up
    gradient = seconds(lambda: gradients.lag_profile_and_grads(cell, x, dh), repeats=3)
    print(f"LSTM H={H}, T={T}, B={B}, one BLAS thread")
    print(f"  gradient alone (lag_profile_and_grads): {gradient:.2f} s (median of 3)")
    # The floor of any exact method that carries the product: per step and sequence, J_k from its n
    # rows pushed through U (one (n, 4H) x (4H, H) product) and P_{k-1} = P_k J_k (one n x n x n),
    # before any norm is taken.
    n = 2 * H
    rows, p = rng.standard_normal((n, cell.params["weight_hh"].shape[0])), rng.standard_normal((2, n, n))
    floor = seconds(lambda: rows @ cell.params["weight_hh"], repeats=7) + seconds(lambda: p[0] @ p[1], repeats=7)
    print(
        f"  floor of an exact product, per step: {floor * 1e3:.1f} ms against the gradient's "
        f"{gradient / T * 1e3:.2f} ms, {floor * T / gradient:.1f}x"
    )
    for samples in (1, B):
        full = seconds(lambda s=samples: gradients.profile(cell, x, dh, jacobian_samples=s))
        print(
            f"  profile(), Jacobian diagnostics on {samples} of {B} sequences: {full:.1f} s, "
            f"{full / gradient:.0f}x the gradient"
            f" (target <= {TARGET:g}x: {'met' if full / gradient <= TARGET else 'missed'})"
        )


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
    realistic()

"""Benchmark of the numerical core (run by `make bench`; prints its figures).

1. Forward + lag_profile + param_grads of an LSTM (T=1000, B=32, H=128, I=128,
   float64) in one pass (`gradients.lag_profile_and_grads`): ms per call, the
   ratio to the time of its matrix products alone, and (4.) PyTorch's time, in
   rounds that each time all three (median of 3 calls each), so that all three
   see the same load on a shared machine.
2. Cost against T (median ms per call and per step at several T).
3. Peak memory at T=10 000 (same B, H, I), measured in a fresh subprocess with
   tracemalloc (numpy reports its buffers to it) and ru_maxrss.
4. PyTorch CPU autograd on the same computation (LSTMCell loop, retain_grad on
   every h_t, backward), if torch is importable here or in the interpreter named
   by BPTT_TORCH_PYTHON (a subprocess per round); otherwise skipped, and says so.
5. profile() (with Jacobian products) at an experiment-sized LSTM.
Everything runs in one BLAS thread, like the PyTorch comparison.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

T, B, H, I = 1000, 32, 128, 128
ROUNDS = 3


def median_seconds(fn, repeats):
    fn()  # warm-up: first-touch page faults, BLAS initialisation
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def problem(n_steps, seed=0):
    from bptt.core import cells

    rng = np.random.default_rng(seed)
    cell = cells.make("lstm", input_size=I, hidden_size=H, activation="tanh", radius=1.0, rng=rng)
    return cell, rng.standard_normal((n_steps, B, I)), rng.standard_normal((B, H))


def matmuls_only(cell, x):
    """The matrix products of forward + backward with the shapes the core uses."""
    W, U = cell.params["weight_ih"], cell.params["weight_hh"]
    u_t = U.T
    h = np.ones((B, H))
    da = np.ones((B, 4 * H))
    xs = x.reshape(-1, I)
    hs = np.ones((xs.shape[0], H))
    das = np.ones((xs.shape[0], 4 * H))

    def run():
        xs @ W.T
        for _ in range(x.shape[0]):
            h @ u_t
        for _ in range(x.shape[0]):
            da @ U
        _ = (xs.T @ das).T  # the orientation gradients uses (the faster one)
        _ = (hs.T @ das).T

    return run


def torch_command():
    """How to run child_torch: in an interpreter that has torch (common.torch_python); None if there is none."""
    # Imported here: the --torch child may run in an interpreter without common's dependencies (yaml).
    from common import torch_python

    python = torch_python()
    return [python, __file__, "--torch"] if python else None


def bench_main():
    """Rounds of (bptt, its matrix products, PyTorch), so that all three see the same load."""
    from bptt.core import gradients

    cell, x, dh = problem(T)
    cmd = torch_command()
    rounds = []
    for _ in range(ROUNDS):
        full = median_seconds(lambda: gradients.lag_profile_and_grads(cell, x, dh), repeats=3)
        mm = median_seconds(matmuls_only(cell, x), repeats=3)
        if cmd is None:
            rounds.append((full, mm, None, None))
            continue
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        m = json.loads(res.stdout.strip().splitlines()[-1])
        rounds.append((full, mm, m["seconds"], m["version"]))
    print(f"LSTM T={T} B={B} H={H} I={I}, forward + lag_profile + param_grads (one pass), {ROUNDS} rounds:")
    for i, (full, mm, tt, _) in enumerate(rounds):
        line = (
            f"  round {i + 1}: bptt {full * 1e3:.0f} ms, its matrix products alone {mm * 1e3:.0f} ms"
            f" (ratio {full / mm:.2f})"
        )
        print(line + (f", PyTorch {tt * 1e3:.0f} ms (bptt {tt / full:.2f}x as fast)" if tt else ""))
    full = statistics.median(r[0] for r in rounds)
    print(
        f"  median: bptt {full * 1e3:.0f} ms per call; ratio to its matrix products "
        f"{statistics.median(r[0] / r[1] for r in rounds):.2f}"
    )
    if cmd is None:
        print(
            "  PyTorch comparison: SKIPPED (torch is not importable; set BPTT_TORCH_PYTHON to an "
            "interpreter that has torch to run it)"
        )
    else:
        print(
            f"  PyTorch {rounds[0][3]} CPU autograd, 1 thread (LSTMCell loop, retain_grad on every h_t): "
            f"median {statistics.median(r[2] for r in rounds) * 1e3:.0f} ms; bptt "
            f"{statistics.median(r[2] / r[0] for r in rounds):.2f}x as fast (median of the rounds' ratios)"
        )


def bench_linear_in_t():
    from bptt.core import gradients

    lengths = (250, 500, 1000, 2000, 4000, 8000)
    print("cost against T (same B, H, I; median of 3):")
    seconds = []
    for n in lengths:
        cell, x, dh = problem(n)
        seconds.append(median_seconds(lambda c=cell, x=x, d=dh: gradients.lag_profile_and_grads(c, x, d), repeats=3))
        chunks = -(-n // gradients.chunk_length(cell, B))
        print(f"  T={n:5d}: {seconds[-1] * 1e3:7.0f} ms, {seconds[-1] / n * 1e6:6.0f} us per step, {chunks} chunk(s)")
    slope = np.polyfit(np.log(lengths), np.log(seconds), 1)[0]
    print(f"  log-log slope of time against T: {slope:.3f} (1 = linear); beyond one chunk, the forward")
    print("  pass of every chunk but the last runs twice, which bounds the cost per step")


def child_memory():
    """Runs in a subprocess: peak memory of one call at T=10 000."""
    import resource
    import tracemalloc

    from bptt.core import gradients

    tracemalloc.start()
    cell, x, dh = problem(10_000)
    x_bytes = x.nbytes
    gradients.lag_profile_and_grads(cell, x, dh)
    peak = tracemalloc.get_traced_memory()[1]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak": peak, "rss": rss, "x": x_bytes, "chunk": gradients.chunk_length(cell, B)}))


def bench_memory():
    res = subprocess.run([sys.executable, __file__, "--memory"], capture_output=True, text=True, check=True)
    m = json.loads(res.stdout.strip().splitlines()[-1])
    mib = 2**20
    print("peak memory, LSTM T=10000 B=32 H=128 I=128 (fresh process):")
    print(
        f"  tracemalloc peak {m['peak'] / mib:.0f} MiB (of which the input x: {m['x'] / mib:.0f} MiB); "
        f"max RSS {m['rss'] / mib:.0f} MiB; chunks of {m['chunk']} steps"
    )


def child_torch():
    """Runs where torch imports: the same computation with PyTorch autograd, one thread."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(I, H).double()
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((T, B, I)))
    dh = torch.from_numpy(rng.standard_normal((B, H)))

    def run():
        cell.zero_grad()
        h = torch.zeros(B, H, dtype=torch.float64)
        c = torch.zeros(B, H, dtype=torch.float64)
        hs = []
        for t in range(T):
            h, c = cell(x[t], (h, c))
            h.retain_grad()
            hs.append(h)
        (hs[-1] * dh).sum().backward()
        return torch.log10(torch.stack([g.grad.norm(dim=1) for g in hs]))

    print(json.dumps({"seconds": median_seconds(run, repeats=3), "version": torch.__version__}))


def bench_profile():
    from bptt.core import cells, gradients

    rng = np.random.default_rng(0)
    for kind, hsz in (("rnn", 64), ("lstm", 32), ("lstm", 64)):
        cell = cells.make(kind, input_size=8, hidden_size=hsz, activation="tanh", radius=1.0, rng=rng)
        x, dh = rng.standard_normal((200, 16, 8)), rng.standard_normal((16, hsz))
        t = median_seconds(lambda c=cell, x=x, d=dh: gradients.profile(c, x, d), repeats=3)
        print(f"profile() with Jacobian products, {kind} T=200 B=16 H={hsz}: {t * 1e3:.0f} ms per call")


if __name__ == "__main__":
    if sys.argv[1:] == ["--memory"]:
        child_memory()
    elif sys.argv[1:] == ["--torch"]:
        child_torch()
    else:
        bench_main()
        bench_linear_in_t()
        bench_memory()
        bench_profile()

"""What the rest of the core needs to know about a cell kind: one `CellSpec` per kind.

Each cell module (`rnn`, `lstm`, `gru`) defines its equations, forward and backward side by
side, and one SPEC; `bptt.core.cells` collects them into the registry. Adding a cell kind is
one more module and one more entry there.

Stacked shapes: every array carries the model axis M first (a single cell is M = 1), then
the sequences B, then, for Jacobian rows, n; matrices are stacked per model.
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class CellSpec(NamedTuple):
    name: str
    n_blocks: int  # G: U has G*H rows, stacked by gate in PyTorch's order
    candidate_block: int  # the block the activation f acts on
    state_parts: int  # 1 for s_t = h_t, 2 for s_t = (h_t, c_t)
    gate_bias_block: int | None  # the block `gate_bias` shifts (LSTM forget, GRU update gate)
    grad_blocks: int  # blocks of dL/da_t a backward step writes
    hh_blocks: tuple[int, ...]  # ... of them, dL/d(U h_{t-1} + b_hh)
    ih_blocks: tuple[int, ...]  # ... of them, dL/d(W x_t + b_ih)
    arrays_per_step: int  # (M, B, H) arrays held per step while a chunk is processed
    forward: Callable  # (params, act, wx (K, M, B, G, H), state) -> trace
    coefficients: Callable  # (trace, act) -> step factors of the backward pass, (K, ...) each
    saturated: Callable  # (trace, act) -> (K, M, B) bool
    backward_step: Callable  # (step factors, adjoint, out, through_u) -> adjoint of s_{t-1}

    @property
    def hh(self) -> slice:
        """The blocks of dL/da_t that are dL/d(U h_{t-1} + b_hh), as a slice of its block axis."""
        return slice(self.hh_blocks[0], self.hh_blocks[-1] + 1)


def transposed(u: np.ndarray) -> np.ndarray:
    """U^T per model, (M, X, H) -> (M, H, X), contiguous: numpy's stacked matmul of a transposed
    view skips BLAS and runs many times slower."""
    return np.ascontiguousarray(u.transpose(0, 2, 1))


def matmul_t(v: np.ndarray, u_t: np.ndarray) -> np.ndarray:
    """U v for v (M, ..., H) and u_t = transposed(U), (M, H, X): (M, ..., X), one batched product."""
    m, h = v.shape[0], v.shape[-1]
    return (v.reshape(m, -1, h) @ u_t).reshape(*v.shape[:-1], u_t.shape[2])


def vec_matmul(d: np.ndarray, u: np.ndarray) -> np.ndarray:
    """d U for d (M, ..., G, H) (flattened to G*H = rows of U) and U (M, G*H, H): (M, ..., H)."""
    m = d.shape[0]
    return (d.reshape(m, -1, u.shape[1]) @ u).reshape(*d.shape[:-2], u.shape[2])


def through_u(spec: CellSpec, u: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The product a backward step ends with: dL/da_t (M, ..., grad_blocks, H) -> dL/d(U h_{t-1}) U, (M, ..., H)."""
    return lambda da: vec_matmul(da[..., spec.hh, :], u)


# Bytes of one trace array per block of steps (`blocks`): small enough for the processor's cache.
_BLOCK_BYTES = 2**20


def blocks(spec: CellSpec, trace: dict) -> list[tuple[int, int]]:
    """The trace's K steps as blocks [first, last) of a few steps each, in order. Each formula of a backward
    step makes temporaries of its input's size: blocks that stay in cache take a third of the time of
    whole-chunk arrays (LSTM, H = 128, B = 32)."""
    n_steps = len(trace["h"]) - 1
    size = max(1, _BLOCK_BYTES // (trace["h"][0].size * spec.n_blocks * 8))
    return [(i, min(i + size, n_steps)) for i in range(0, n_steps, size)]


def trace_steps(trace: dict, first: int, last: int) -> dict:
    """Steps first..last-1 of a trace, as a trace of their own (views): "h" (and "c") keep their initial state."""
    n_steps = len(trace["h"]) - 1
    return {k: v[first : last + 1] if len(v) == n_steps + 1 else v[first:last] for k, v in trace.items()}

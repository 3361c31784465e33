"""Recurrent cells: the registry of cell kinds, parameters in PyTorch's layout, the forward pass.

Notation (docs/conventions.md): x_t input (B, I), h_t hidden state (B, H), W = weight_ih, U =
weight_hh, f = the cell's `activation`. Rows of W, U and the biases are stacked by gate in
PyTorch's order; each cell module (`rnn`, `lstm`, `gru`) states its equations and holds its
forward and backward step side by side. `activation` replaces tanh on the candidate path
only (the RNN's f, the LSTM's g and the f of c_t, the GRU's n); gates stay sigmoid.
Initial states are zero. The state s_t is h_t, or (h_t, c_t) for the LSTM.

A `Cell` holds one network (params of shapes (G*H, I), (G*H, H), (G*H,)) or, from
`stack`, M networks of one kind and activation (the same shapes with M in front), which
the gradient sweep runs side by side as one batch.
"""

from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from bptt.core import activations, gru, initialisation, lstm, rnn
from bptt.core.cellspec import CellSpec

SPECS: MappingProxyType[str, CellSpec] = MappingProxyType({s.name: s for s in (rnn.SPEC, lstm.SPEC, gru.SPEC)})
KINDS = tuple(SPECS)
PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class Cell(NamedTuple):
    """kind in KINDS, activation name, params {weight_ih, weight_hh, bias_ih, bias_hh}."""

    kind: str
    activation: str
    params: dict[str, np.ndarray]

    @property
    def spec(self) -> CellSpec:
        return SPECS[self.kind]

    @property
    def hidden_size(self) -> int:
        return self.params["weight_hh"].shape[-1]

    @property
    def input_size(self) -> int:
        return self.params["weight_ih"].shape[-1]

    @property
    def n_models(self) -> int | None:
        """M for a stack of networks, None for a single one."""
        return self.params["weight_hh"].shape[0] if self.params["weight_hh"].ndim == 3 else None


def check_kind(kind: str) -> CellSpec:
    if kind not in SPECS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return SPECS[kind]


def check_integer(name: str, value, minimum: int = 1) -> int:
    """`value` as an int, or a ValueError naming `name` if it is not an integer (bools refused) >= `minimum`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def make(
    kind: str,
    *,
    input_size: int,
    hidden_size: int,
    activation: str,
    radius: float,
    rng: np.random.Generator,
    recurrent_init: str = "orthogonal",
    gate_bias: float | str = 0.0,
    chrono_t_max: int | None = None,
) -> Cell:
    """A freshly initialised cell (see bptt.core.initialisation for the draws and their order).

    gate_bias (LSTM and GRU): added to bias_ih of the forget gate (LSTM) or the update gate z
    (GRU), or "chrono" (LSTM only) with chrono_t_max. recurrent_init "identity": rnn only.
    """
    spec = check_kind(kind)
    activations.get(activation)
    input_size = check_integer("input_size", input_size)
    hidden_size = check_integer("hidden_size", hidden_size)
    initialisation.check_radius(radius)
    initialisation.check_method(recurrent_init)
    gate_bias = initialisation.check_gate_bias(gate_bias, chrono_t_max)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}"
        )
    if recurrent_init == "identity" and kind != "rnn":
        raise ValueError(f"recurrent_init 'identity' applies to kind 'rnn' only, got kind {kind!r}")
    if spec.gate_bias_block is None and gate_bias != 0:
        raise ValueError(f"gate_bias applies to the gated kinds only; got gate_bias={gate_bias!r} for kind {kind!r}")
    if gate_bias == initialisation.CHRONO and kind != "lstm":
        raise ValueError(f"gate_bias 'chrono' applies to kind 'lstm' only, got kind {kind!r}")
    params = initialisation.params(
        rng,
        n_blocks=spec.n_blocks,
        input_size=input_size,
        hidden_size=hidden_size,
        radius=radius,
        recurrent_init=recurrent_init,
    )
    bias = params["bias_ih"].reshape(spec.n_blocks, hidden_size)  # a view, one row per gate
    if gate_bias == initialisation.CHRONO:
        bias[lstm.F] = initialisation.chrono_biases(rng, hidden_size, chrono_t_max)
        bias[lstm.I] = -bias[lstm.F]
    elif spec.gate_bias_block is not None:
        bias[spec.gate_bias_block] += gate_bias
    return Cell(kind, activation, params)


def from_params(kind: str, params: dict, *, activation: str) -> Cell:
    """A cell from given parameters (copied to float64); ValueError on wrong keys or shapes."""
    spec = check_kind(kind)
    activations.get(activation)
    if not isinstance(params, dict) or set(params) != set(PARAM_NAMES):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params must be a dict with keys {PARAM_NAMES}, got {got}")
    p = {name: np.array(params[name], dtype=np.float64) for name in PARAM_NAMES}
    hh = p["weight_hh"]
    rows = hh.shape[0] if hh.ndim == 2 else -1
    if hh.ndim != 2 or hh.shape[1] < 1 or rows != spec.n_blocks * hh.shape[1]:
        raise ValueError(
            f"params['weight_hh'] must have shape ({spec.n_blocks}*H, H) for kind {kind!r}, got {hh.shape}"
        )
    expected = {"weight_ih": (rows, None), "bias_ih": (rows,), "bias_hh": (rows,)}
    for name, shape in expected.items():
        a = p[name]
        if a.ndim != len(shape) or a.shape[0] != rows or (a.ndim == 2 and a.shape[1] < 1):
            want = f"({rows}, I)" if name == "weight_ih" else f"({rows},)"
            raise ValueError(f"params[{name!r}] must have shape {want} for kind {kind!r}, got {a.shape}")
    for name, a in p.items():
        if not np.isfinite(a).all():
            raise ValueError(f"params[{name!r}] must be finite (it holds NaN or inf)")
    return Cell(kind, activation, p)


def stack(cells: list[Cell]) -> Cell:
    """M cells of one kind, activation and shape as one Cell whose params have M in front."""
    if not cells or any(not isinstance(c, Cell) for c in cells):
        raise ValueError("stack needs a non-empty list of bptt.core.cells.Cell")
    first = cells[0]
    for c in cells:
        if (c.kind, c.activation, c.n_models) != (first.kind, first.activation, None):
            raise ValueError("stack needs single cells of one kind and activation")
        if any(c.params[n].shape != first.params[n].shape for n in PARAM_NAMES):
            raise ValueError("stack needs cells of one input and hidden size")
    return Cell(first.kind, first.activation, {n: np.stack([c.params[n] for c in cells]) for n in PARAM_NAMES})


def as_stack(cell: Cell) -> Cell:
    """The cell itself if it is a stack, else a stack of one (M = 1, views of its arrays)."""
    return (
        cell
        if cell.n_models is not None
        else Cell(cell.kind, cell.activation, {k: v[None] for k, v in cell.params.items()})
    )


def candidate_block(cell: Cell) -> np.ndarray:
    """U's (H, H) block of the candidate path (all of U for the RNN); (M, H, H) for a stack."""
    hsz, k = cell.hidden_size, cell.spec.candidate_block
    return cell.params["weight_hh"][..., k * hsz : (k + 1) * hsz, :]


def zero_state(cell: Cell, samples: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """s_{-1}: (h,) or (h, c), each zeros of shape samples + (H,)."""
    return tuple(np.zeros((*samples, cell.hidden_size)) for _ in range(cell.spec.state_parts))


def trace(cell: Cell, x: np.ndarray, state: tuple[np.ndarray, ...]) -> dict[str, np.ndarray]:
    """Forward pass of a stack over x (K, M, B, I) from state s_{-1} ((M, B, H) each).

    Returns the cell module's trace: "h" (K+1, M, B, H) with h[0] = the initial h, plus what
    its backward step needs (see the cell's `forward`). Non-finite values are left as they
    come (the caller checks); numpy's overflow warnings are silenced here.
    """
    k, m, b, i = x.shape
    with np.errstate(over="ignore", invalid="ignore"):
        # W x_t for all steps at once: one product per model, (M, K*B, I) @ (M, I, G*H).
        wx = x.swapaxes(0, 1).reshape(m, k * b, i) @ cell.params["weight_ih"].transpose(0, 2, 1)
        wx = np.ascontiguousarray(wx.reshape(m, k, b, cell.spec.n_blocks, cell.hidden_size).swapaxes(0, 1))
        return cell.spec.forward(cell.params, activations.get(cell.activation), wx, state)


def final_state(cell: Cell, tr: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """s_{K-1} of a trace: (h,) or (h, c), copied (a view would keep the whole trace alive)."""
    return (tr["h"][-1].copy(), tr["c"][-1].copy()) if cell.spec.state_parts == 2 else (tr["h"][-1].copy(),)


def forward(cell: Cell, x: np.ndarray, state: tuple[np.ndarray, ...] | None = None) -> np.ndarray:
    """Hidden states h_t for x (T, B, I) from s_{-1} = state (zero by default): (T, B, H).

    For a stack, x is (T, M, B, I) and the result (T, M, B, H).
    """
    x = np.asarray(x, dtype=np.float64)
    single = cell.n_models is None
    stacked = as_stack(cell)
    xs = x[:, None] if single else x
    state = zero_state(cell, xs.shape[1:3]) if state is None else tuple(s[None] if single else s for s in state)
    h = trace(stacked, xs, state)["h"][1:]
    return h[:, 0] if single else h

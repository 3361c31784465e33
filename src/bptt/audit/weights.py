"""A user's state_dict in PyTorch's layout, read into one `bptt.core.cells.Cell` per layer.

PyTorch names the parameters of layer k of nn.RNN / nn.LSTM / nn.GRU weight_ih_l{k} (G*H, I_k),
weight_hh_l{k} (G*H, H), bias_ih_l{k} and bias_hh_l{k} (G*H,), rows stacked by gate: LSTM i, f, g, o
(G = 4), GRU r, z, n (G = 3, b_hn inside the reset product), RNN G = 1; layer k > 0 reads layer k-1's
h, so I_k = H. The core takes exactly this layout (docs/conventions.md), so the arrays go in as they
are; only the settings a state_dict does not hold come from the caller: the RNN's nonlinearity, and
proj_size and bidirectional layers, which are refused here (weight_hr_l{k} and *_reverse keys).

Files: .safetensors through the `safetensors` package's numpy API (no torch needed; bfloat16, which
numpy lacks, is read from the file's own header and bytes), .pt through torch.load(weights_only=True)
when torch is importable. Every array is upcast to float64 and the file's dtypes are kept, so the
report can say that float16 or bfloat16 weights were upcast.
"""

import json
import pathlib
import re
from typing import NamedTuple

import numpy as np

from bptt.audit import AuditError
from bptt.core import cells

KIND_BY_BLOCKS = {1: "rnn", 3: "gru", 4: "lstm"}
NONLINEARITIES = ("tanh", "relu")  # nn.RNN's choices; the LSTM and GRU are tanh
_KEY = re.compile(r"(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?")


class Network(NamedTuple):
    """A stack of layers of one kind: layers[0] reads the inputs, layers[-1] gives the output h."""

    kind: str
    activation: str
    layers: tuple[cells.Cell, ...]
    dtypes: tuple[str, ...]  # the file's dtypes for these arrays, e.g. ("float32",) or ("bfloat16",)

    @property
    def upcast(self) -> tuple[str, ...]:
        """The half-precision dtypes the weights came in (upcast to float64 here)."""
        return tuple(d for d in self.dtypes if d in ("float16", "bfloat16"))


def read_tensors(path: str | pathlib.Path) -> dict[str, tuple[np.ndarray, str]]:
    """name -> (float64 array, the file's dtype name) for every tensor of a .safetensors or .pt file."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise AuditError(f"{path}: no such file")
    if path.suffix == ".safetensors":
        return _read_safetensors(path)
    if path.suffix in (".pt", ".pth"):
        return _read_torch(path)
    raise AuditError(f"{path}: unknown file type {path.suffix!r}; allowed: .safetensors, or .pt/.pth with torch")


def _read_safetensors(path: pathlib.Path) -> dict[str, tuple[np.ndarray, str]]:
    from safetensors import SafetensorError, safe_open

    out = {}
    try:
        with safe_open(str(path), framework="numpy") as f:
            for name in f.keys():  # noqa: SIM118 - safe_open is not a dict
                dtype = str(f.get_slice(name).get_dtype()).lower()
                a = _bfloat16(path, name) if dtype == "bf16" else f.get_tensor(name)
                out[name] = (np.asarray(a, dtype=np.float64), _DTYPE_NAMES.get(dtype, dtype))
    except (SafetensorError, OSError) as err:
        raise AuditError(f"{path}: not a readable .safetensors file ({err})") from None
    return out


_DTYPE_NAMES = {"f16": "float16", "bf16": "bfloat16", "f32": "float32", "f64": "float64"}


def _bfloat16(path: pathlib.Path, name: str) -> np.ndarray:
    """One BF16 tensor from the safetensors layout (u64 header size, JSON header, raw little-endian
    bytes): bfloat16 is the top half of a float32, so shifting its bits up 16 gives that float32 exactly."""
    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        entry = json.loads(f.read(size))[name]
        start, end = entry["data_offsets"]
        f.seek(8 + size + start)
        raw = np.frombuffer(f.read(end - start), dtype="<u2")
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(entry["shape"])


def _read_torch(path: pathlib.Path) -> dict[str, tuple[np.ndarray, str]]:
    try:
        import torch
    except ImportError:
        raise AuditError(
            f"{path}: reading a .pt file needs torch, which is not importable here; install torch, or save "
            "the state_dict as .safetensors (docs/audit.md shows how)"
        ) from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad file; the message says which
        raise AuditError(f"{path}: torch.load could not read it ({type(err).__name__}: {err})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise AuditError(f"{path}: expected a state_dict (a dict of tensors, from module.state_dict())")
    return {k: (v.detach().to(torch.float64).numpy(), str(v.dtype).removeprefix("torch.")) for k, v in state.items()}


def load(
    path: str | pathlib.Path,
    *,
    nonlinearity: str | None = None,
    proj_size: int = 0,
    prefix: str = "",
    bias: bool = True,
    ignore: tuple[str, ...] = (),
) -> Network:
    """The network in `path` (keys `prefix` + weight_ih_l0 ...; the keys in `ignore`, such as a head's,
    are skipped). The kind is inferred from weight_hh_l0's rows (G*H); nonlinearity is required for
    an RNN (tanh or relu) and must be None or tanh otherwise; bias=False for a module built without biases."""
    path = pathlib.Path(path)
    if proj_size:
        raise AuditError(f"{path}: proj_size={proj_size} (an LSTM with projections) is not supported; use proj_size: 0")
    tensors = {k[len(prefix) :]: v for k, v in read_tensors(path).items() if k.startswith(prefix) and k not in ignore}
    unknown = sorted(prefix + k for k in tensors if not _KEY.fullmatch(k))
    if unknown:
        raise AuditError(
            f"{path}: unknown key(s) {', '.join(unknown[:5])}; expected {prefix}weight_ih_l0, {prefix}weight_hh_l0, "
            f"{prefix}bias_ih_l0, {prefix}bias_hh_l0, ... (set prefix: or list a head's keys under head:)"
        )
    if not tensors:
        raise AuditError(f"{path}: no key starts with prefix {prefix!r}; expected {prefix}weight_ih_l0 ...")
    refused = sorted(prefix + k for k in tensors if k.endswith("_reverse") or k.startswith("weight_hr"))
    if refused:
        raise AuditError(
            f"{path}: key {refused[0]} belongs to a bidirectional layer or a projection (proj_size > 0), "
            "which the audit does not support; audit a unidirectional model without proj_size"
        )
    n_layers = 1 + max(int(_KEY.fullmatch(k).group(2)) for k in tensors)
    names = [f"{n}_l{k}" for k in range(n_layers) for n in (cells.PARAM_NAMES if bias else cells.PARAM_NAMES[:2])]
    missing = [prefix + n for n in names if n not in tensors]
    extra = sorted(prefix + n for n in tensors if n not in names)
    if missing or extra:
        what = f"missing key(s) {', '.join(missing)}" if missing else f"unexpected key(s) {', '.join(extra)}"
        no_bias = missing and all("bias" in n for n in missing)
        hint = " (a module built with bias=False: set bias: false)" if no_bias else ""
        raise AuditError(f"{path}: {what} for a {n_layers}-layer network{hint}")
    for name in names:
        if not np.isfinite(tensors[name][0]).all():
            raise AuditError(f"{path}: {prefix}{name} holds NaN or inf; the audit needs finite weights")
    kind = _kind(path, prefix, tensors)
    activation = _activation(path, kind, nonlinearity)
    layers = []
    for k in range(n_layers):
        params = {n: tensors[f"{n}_l{k}"][0] if f"{n}_l{k}" in tensors else None for n in cells.PARAM_NAMES}
        rows = params["weight_hh"].shape[0]
        for n in ("bias_ih", "bias_hh"):
            params[n] = np.zeros(rows) if params[n] is None else params[n]
        _check_layer(path, prefix, k, kind, params, layers[-1].hidden_size if layers else None)
        layers.append(cells.from_params(kind, params, activation=activation))
    dtypes = tuple(sorted({tensors[n][1] for n in names}))
    return Network(kind, activation, tuple(layers), dtypes)


def _kind(path, prefix: str, tensors: dict) -> str:
    hh = tensors["weight_hh_l0"][0]
    blocks = hh.shape[0] // hh.shape[1] if hh.ndim == 2 and hh.shape[1] and hh.shape[0] % hh.shape[1] == 0 else None
    found = KIND_BY_BLOCKS.get(blocks)
    if found is None:
        raise AuditError(
            f"{path}: {prefix}weight_hh_l0 has shape {hh.shape}; "
            "expected (G*H, H) with G = 1 (RNN), 3 (GRU) or 4 (LSTM)"
        )
    return found


def _activation(path, kind: str, nonlinearity: str | None) -> str:
    if kind == "rnn":
        if nonlinearity not in NONLINEARITIES:
            raise AuditError(
                f"{path}: an nn.RNN's state_dict does not say its nonlinearity; set nonlinearity: tanh or relu "
                f"(got {nonlinearity!r})"
            )
        return nonlinearity
    if nonlinearity not in (None, "tanh"):
        raise AuditError(f"{path}: nonlinearity {nonlinearity!r} applies to nn.RNN only; an {kind} uses tanh")
    return "tanh"


def _check_layer(path, prefix: str, k: int, kind: str, params: dict, below: int | None) -> None:
    """Shapes of layer k against PyTorch's layout: one line naming the key, its shape and the expected one."""
    g = cells.SPECS[kind].n_blocks
    hsz = params["weight_hh"].shape[-1] if params["weight_hh"].ndim == 2 else -1
    isz = params["weight_ih"].shape[-1] if params["weight_ih"].ndim == 2 else -1
    want = {
        "weight_hh": (g * hsz, hsz),
        "weight_ih": (g * hsz, below if below is not None else max(isz, 1)),
        "bias_ih": (g * hsz,),
        "bias_hh": (g * hsz,),
    }
    for name, shape in want.items():
        if params[name].shape != shape or hsz < 1:
            raise AuditError(
                f"{path}: {prefix}{name}_l{k} has shape {params[name].shape}; the layout of a {kind} "
                f"with hidden size {hsz}{'' if below is None else f' above a layer of {below}'} needs {shape}"
            )


def load_head(
    path: str | pathlib.Path, weight: str, bias: str | None
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """A linear head y = V h + c from `path`: (V (C, H), c (C,), dtypes); c = 0 when bias is None."""
    tensors = read_tensors(path)
    for key in (weight, bias):
        if key is not None and key not in tensors:
            raise AuditError(f"{path}: head key {key!r} not found; its keys: {', '.join(sorted(tensors)[:8])}")
    v = tensors[weight][0]
    if v.ndim != 2:
        raise AuditError(f"{path}: head weight {weight} has shape {v.shape}; expected (C, H)")
    c = tensors[bias][0] if bias is not None else np.zeros(len(v))
    if c.shape != (len(v),):
        raise AuditError(f"{path}: head bias {bias} has shape {c.shape}; expected ({len(v)},)")
    if not (np.isfinite(v).all() and np.isfinite(c).all()):
        raise AuditError(f"{path}: the head's weights hold NaN or inf; the audit needs finite weights")
    return v, c, tuple(sorted({tensors[k][1] for k in (weight, bias) if k is not None}))

"""The audit: config section in, results/audit.parquet out (one row per model, layer, quantity, summary and lag).

Settings (the `audit:` section of config.yaml, docs/audit.md and docs/config.md):
    models:            a list, each {name, weights, inputs, batch_first, nonlinearity, proj_size, prefix, bias, head}
    directions:        random unit directions at the last state per sequence (the loss-free measure)
    seed:              the seed of those directions
    jacobian:          sequences whose per-layer Jacobian product norm is measured (0: none; O(H^3) per step)
A model's head (optional) is {weights (default: the model's file), weight, bias, loss, loss_at, targets}.
Everything is checked before anything is computed, and the table is written whole (atomically) or not at all.
"""

import pathlib
import warnings
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from bptt.audit import AuditError, measures, weights
from bptt.core import loss
from bptt.pipeline import collect, tables

DIRECTIONS = 4  # audit.directions when left out
SUMMARIES = {"median": 50, "q25": 25, "q75": 75, "min": 0, "max": 100}
MODEL_KEYS = {"name", "weights", "inputs", "batch_first", "nonlinearity", "proj_size", "prefix", "bias", "head"}
HEAD_KEYS = {"weights", "weight", "bias", "loss", "loss_at", "targets"}


class Model(NamedTuple):
    name: str
    net: weights.Network
    x: np.ndarray  # (T, B, I)
    head: measures.Head | None
    dtypes: tuple[str, ...]


def _npy(path, what: str) -> np.ndarray:
    path = pathlib.Path(path)
    if path.suffix != ".npy" or not path.is_file():
        raise AuditError(f"{what} {path}: expected an existing .npy file (numpy.save)")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise AuditError(f"{what} {path}: not a readable .npy array ({err})") from None


def inputs(path, batch_first: bool, input_size: int) -> np.ndarray:
    """The user's sequences as float64 (T, B, I), from (T, B, I), or (B, T, I) with batch_first."""
    x = _npy(path, "inputs")
    order = "(B, T, I)" if batch_first else "(T, B, I)"
    if x.ndim != 3:
        raise AuditError(f"inputs {path}: shape {x.shape}; expected 3 axes {order} (batch_first: {batch_first})")
    if x.size == 0:
        raise AuditError(f"inputs {path}: the array is empty (shape {x.shape}); need T >= 1 steps and B >= 1 sequences")
    if x.dtype.kind not in "fiu":
        raise AuditError(f"inputs {path}: dtype {x.dtype}; expected numbers")
    x = np.asarray(x.swapaxes(0, 1) if batch_first else x, dtype=np.float64)
    if x.shape[2] != input_size:
        raise AuditError(
            f"inputs {path}: feature size {x.shape[2]} (last axis of {order}) but weight_ih_l0 takes {input_size}"
        )
    if not np.isfinite(x).all():
        raise AuditError(f"inputs {path}: holds NaN or inf")
    return x


def load_model(spec: dict) -> Model:
    """One entry of `models`, read and checked: the network, its inputs and its head."""
    if not isinstance(spec, dict) or not {"name", "weights", "inputs"} <= set(spec):
        raise AuditError(f"audit.models: each entry needs name, weights and inputs; got {spec!r}")
    unknown = sorted(set(spec) - MODEL_KEYS)
    if unknown:
        raise AuditError(
            f"audit model {spec['name']}: unknown setting(s) {', '.join(unknown)}; allowed: {sorted(MODEL_KEYS)}"
        )
    head_spec = spec.get("head") or None
    head_keys = ()
    if head_spec is not None:
        bad = sorted(set(head_spec) - HEAD_KEYS) or [k for k in ("weight", "loss", "targets") if k not in head_spec]
        if bad:
            raise AuditError(
                f"audit model {spec['name']}: head needs weight, loss and targets, and allows {sorted(HEAD_KEYS)}; "
                f"check {bad}"
            )
        if head_spec.get("weights", spec["weights"]) == spec["weights"]:
            head_keys = tuple(k for k in (head_spec["weight"], head_spec.get("bias")) if k)
    net = weights.load(
        spec["weights"],
        nonlinearity=spec.get("nonlinearity"),
        proj_size=spec.get("proj_size", 0),
        prefix=spec.get("prefix", ""),
        bias=spec.get("bias", True),
        ignore=head_keys,
    )
    x = inputs(spec["inputs"], spec.get("batch_first", False), net.layers[0].input_size)
    dtypes = net.dtypes
    head = None
    if head_spec is not None:
        v, c, head_dtypes = weights.load_head(
            head_spec.get("weights", spec["weights"]), head_spec["weight"], head_spec.get("bias")
        )
        loss_at = head_spec.get("loss_at", "last")
        if head_spec["loss"] not in loss.NAMES or loss_at not in measures.LOSS_AT:
            raise AuditError(
                f"audit model {spec['name']}: loss must be one of {', '.join(loss.NAMES)}, loss_at last or every"
            )
        target = _npy(head_spec["targets"], "targets")
        if target.dtype.kind not in "fiu":
            raise AuditError(f"targets {head_spec['targets']}: dtype {target.dtype}; expected numbers")
        if spec.get("batch_first", False) and loss_at == "every" and target.ndim >= 2:
            target = target.swapaxes(0, 1)
        if head_spec["loss"] == "mse":
            target = target.astype(np.float64)
        head = measures.Head(v, c, head_spec["loss"], loss_at, target)
        if v.shape[1] != net.layers[-1].hidden_size:
            raise AuditError(
                f"head weight {head_spec['weight']}: shape {v.shape}; expected (C, {net.layers[-1].hidden_size}), "
                "C outputs of the top layer's hidden size"
            )
        measures.check_target(head, *x.shape[:2])
        dtypes = tuple(sorted(set(dtypes) | set(head_dtypes)))
    return Model(str(spec["name"]), net, x, head, dtypes)


def model_table(model: Model, directions: int, seed: int, jacobian: int = 0) -> pa.Table:
    """The rows of one model (tables.AUDIT)."""
    per_step = measures.per_step(model.net, model.x, model.head, directions, seed, jacobian)
    n_steps = model.x.shape[0]
    lag = np.arange(n_steps - 1, -1, -1)
    columns: dict[str, list] = {f.name: [] for f in tables.AUDIT}
    for quantity, per_layer in per_step.items():
        for layer, a in enumerate(per_layer):  # a (T, S)
            lost = np.isnan(a)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all NaN (every sequence unmeasurable) stays NaN
                tau = collect.timescale(10.0 ** collect.decay_slope(lag, a.T))  # per sequence (and direction)
                fit = np.nanpercentile(tau, [50, 25, 75])
                summaries = {name: np.nanpercentile(a, q, axis=1) for name, q in SUMMARIES.items()}
            for summary, values in summaries.items():
                row = {
                    "model": model.name,
                    "kind": model.net.kind,
                    "activation": model.net.activation,
                    "n_layers": len(model.net.layers),
                    "layer": layer,
                    "quantity": quantity,
                    "summary": summary,
                    "seq_len": n_steps,
                    "sequences": a.shape[1],
                    "weights_dtype": ",".join(model.dtypes),
                    "timescale": fit[0],
                    "timescale_q25": fit[1],
                    "timescale_q75": fit[2],
                }
                for k, v in row.items():
                    columns[k].extend([v] * n_steps)
                columns["step"].extend(range(n_steps))
                columns["lag"].extend(lag)
                columns["log10_norm"].extend(values)
                columns["unmeasurable_fraction"].extend(lost.mean(axis=1))
    return pa.Table.from_pydict(columns, schema=tables.AUDIT)


def check_settings(settings) -> tuple[list, int, int, int]:
    """(models, directions, seed, jacobian) from the audit section; AuditError naming what is wrong."""
    if not isinstance(settings, dict) or not settings.get("models"):
        raise AuditError("the audit section needs models: a list of {name, weights, inputs, ...} (docs/audit.md)")
    models, directions, seed = settings["models"], settings.get("directions", DIRECTIONS), settings.get("seed", 0)
    jacobian = settings.get("jacobian", 0)
    for key, value, least in (("directions", directions, 1), ("jacobian", jacobian, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise AuditError(f"audit.{key} must be an integer >= {least}, got {value!r}")
    names = [m.get("name") if isinstance(m, dict) else None for m in models]
    if len(set(names)) != len(names):
        raise AuditError(f"audit.models: names must be distinct, got {names}")
    return models, directions, int(seed), jacobian


def audit(settings: dict) -> pa.Table:
    """The whole table: every model read and checked first, then measured."""
    specs, directions, seed, jacobian = check_settings(settings)
    models = [load_model(s) for s in specs]
    return pa.concat_tables([model_table(m, directions, seed, jacobian) for m in models])

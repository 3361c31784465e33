"""Invalid configs, shared by the unit tests of bptt.pipeline.configcheck and the workflow tests."""

import copy
import pathlib

import yaml

ROOT = pathlib.Path(__file__).parents[1]
CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text())

# (edit, the line's expected start, a fragment of what is allowed)
CASES = {
    "unknown top-level key": ({"sedes": 3}, "the config: unknown key(s) sedes", "allowed keys: grid, seeds"),
    "unknown grid key": ({"grid": {"radii": [1]}}, "grid: unknown key(s) radii", "allowed keys: cell"),
    "wrong type": ({"seeds": "three"}, "seeds: 'three' is not an integer", ">= 1"),
    "list given as scalar": ({"grid": {"radius": 1.0}}, "grid.radius: 1.0 is not a list", "from 1e-300"),
    "empty list": ({"grid": {"cell": []}}, "grid.cell: the list is empty", "rnn, lstm, gru"),
    "duplicated list": (
        {"grid": {"seq_len": [25, 50, 25]}},
        "grid.seq_len: [25, 50, 25] lists 25 as the same value",
        "integers >= 1",
    ),
    "1 and 1.0 twice": (
        {"grid": {"radius": [1, 1.0]}},
        "grid.radius: [1, 1.0] lists 1 and 1.0 as the same value",
        "from 1e-300",
    ),
    "unknown init": (
        {"grid": {"recurrent_init": ["xavier"]}},
        "grid.recurrent_init[0]: 'xavier' is not allowed",
        "orthogonal, gaussian, identity",
    ),
    "gate bias word": ({"grid": {"gate_bias": [0.0, "large"]}}, "grid.gate_bias[1]: 'large' is not allowed", "chrono"),
    "huge inputs": ({"input_scale": 1e308}, "input_scale: 1e+308 is not allowed; it must be <= 1000000.0", "1e6"),
    "negative jacobian batch": (
        {"jacobian_batch": -1},
        "jacobian_batch: -1 is not allowed; it must be >= 0",
        "batch_size",
    ),
    "old forget_bias": (
        {"forget_bias": 1.0},
        "forget_bias: forget_bias was replaced by grid.gate_bias",
        "gate_bias: [1.0]",
    ),
    "old recurrent_init": (
        {"recurrent_init": "gaussian"},
        "recurrent_init: recurrent_init is now grid.recurrent_init",
        "[gaussian]",
    ),
    "unknown cell": (
        {"grid": {"cell": ["rnn", "transformer"]}},
        "grid.cell[1]: 'transformer' is not allowed",
        "rnn, lstm, gru",
    ),
    "unknown activation": (
        {"grid": {"activation": ["gelu"]}},
        "grid.activation[0]: 'gelu' is not allowed",
        "tanh, sigmoid, relu, linear",
    ),
    "radius zero": ({"grid": {"radius": [0.5, 0]}}, "grid.radius[1]: 0 is not allowed; it must be >= 1e-300", "finite"),
    "radius negative": (
        {"grid": {"radius": [-1.0]}},
        "grid.radius[0]: -1.0 is not allowed; it must be >= 1e-300",
        "finite",
    ),
    "radius subnormal": (
        {"grid": {"radius": [1e-320]}},
        "grid.radius[0]: 1e-320 is not allowed; it must be >= 1e-300",
        "digits",
    ),
    "radius infinite": ({"grid": {"radius": [float("inf")]}}, "grid.radius[0]: inf is not a finite number", "1e-300"),
    "radius nan": ({"grid": {"radius": [float("nan")]}}, "grid.radius[0]: nan is not a finite number", "1e-300"),
    "seq_len zero": ({"grid": {"seq_len": [0]}}, "grid.seq_len[0]: 0 is not allowed; it must be >= 1", "integers"),
    "seeds zero": ({"seeds": 0}, "seeds: 0 is not allowed; it must be >= 1", "replicate seeds"),
    "unknown loss": ({"loss": "hinge"}, "loss: 'hinge' is not allowed; allowed values: cross_entropy, mse", "readout"),
}


def edited(config, edit):
    """A deep copy of `config` with `edit` applied (a dict value updates that section)."""
    config = copy.deepcopy(config)
    for key, value in edit.items():
        if isinstance(value, dict):
            config[key].update(value)
        else:
            config[key] = value
    return config

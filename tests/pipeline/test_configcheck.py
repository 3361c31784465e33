"""Every invalid config gets one line naming the key, the bad value and what is allowed."""

import copy
import pathlib

import pytest
import yaml

from bptt import configcheck

ROOT = pathlib.Path(__file__).parents[2]
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text())

# (edit, the line's expected start, a fragment of what is allowed)
CASES = {
    "unknown top-level key": ({"sedes": 3}, "the config: unknown key(s) sedes", "allowed keys: grid, seeds"),
    "unknown grid key": ({"grid": {"radii": [1]}}, "grid: unknown key(s) radii", "allowed keys: cell"),
    "wrong type": ({"seeds": "three"}, "seeds: 'three' is not an integer", ">= 1"),
    "list given as scalar": ({"grid": {"radius": 1.0}}, "grid.radius: 1.0 is not a list", "finite numbers > 0"),
    "empty list": ({"grid": {"cell": []}}, "grid.cell: the list is empty", "rnn, lstm, gru"),
    "duplicated list": ({"grid": {"seq_len": [25, 50, 25]}}, "grid.seq_len: [25, 50, 25] lists 25 more than once", "integers >= 1"),
    "1 and 1.0 twice": ({"grid": {"radius": [1, 1.0]}}, "grid.radius: [1, 1.0] lists", "finite numbers > 0"),
    "unknown cell": ({"grid": {"cell": ["rnn", "transformer"]}}, "grid.cell[1]: 'transformer' is not allowed", "rnn, lstm, gru"),
    "unknown activation": ({"grid": {"activation": ["gelu"]}}, "grid.activation[0]: 'gelu' is not allowed", "tanh, sigmoid, relu, linear"),
    "radius zero": ({"grid": {"radius": [0.5, 0]}}, "grid.radius[1]: 0 is not allowed; it must be > 0", "finite"),
    "radius negative": ({"grid": {"radius": [-1.0]}}, "grid.radius[0]: -1.0 is not allowed; it must be > 0", "finite"),
    "radius infinite": ({"grid": {"radius": [float("inf")]}}, "grid.radius[0]: inf is not a finite number", "> 0"),
    "radius nan": ({"grid": {"radius": [float("nan")]}}, "grid.radius[0]: nan is not a finite number", "> 0"),
    "seq_len zero": ({"grid": {"seq_len": [0]}}, "grid.seq_len[0]: 0 is not allowed; it must be >= 1", "integers"),
    "seeds zero": ({"seeds": 0}, "seeds: 0 is not allowed; it must be >= 1", "replicate seeds"),
    "unknown loss": ({"loss": "hinge"}, "loss: 'hinge' is not allowed; allowed values: cross_entropy, mse", "readout"),
}


def _edited(edit):
    config = copy.deepcopy(CONFIG)
    for key, value in edit.items():
        if isinstance(value, dict):
            config[key].update(value)
        else:
            config[key] = value
    return config


def test_the_shipped_config_is_valid():
    assert configcheck.problems(CONFIG, SCHEMA) == []


@pytest.mark.parametrize("case", CASES)
def test_each_problem_is_named_with_what_is_allowed(case):
    edit, start, allowed = CASES[case]
    found = configcheck.problems(_edited(edit), SCHEMA)
    assert len(found) == 1, found
    assert found[0].startswith(start), found[0]
    assert allowed in found[0].split("Allowed:")[-1] or allowed in found[0]


def test_all_problems_are_listed_at_once():
    found = configcheck.problems(_edited({"seeds": 0, "grid": {"cell": ["cnn"]}}), SCHEMA)
    assert [line.split(":")[0] for line in found] == ["grid.cell[0]", "seeds"]


def test_schema_defaults_equal_the_shipped_config():
    # The schema carries the defaults; config.yaml spells them out.
    defaults = {key: spec["default"] for key, spec in SCHEMA["properties"].items() if key != "grid"}
    defaults["grid"] = {key: spec["default"] for key, spec in SCHEMA["properties"]["grid"]["properties"].items()}
    assert defaults == CONFIG


def test_schema_enums_match_the_code():
    from bptt import activations, cells, init, loss

    grid = SCHEMA["properties"]["grid"]["properties"]
    assert tuple(grid["cell"]["items"]["enum"]) == cells.KINDS
    assert tuple(grid["activation"]["items"]["enum"]) == activations.NAMES
    assert tuple(SCHEMA["properties"]["recurrent_init"]["enum"]) == init.METHODS
    assert tuple(SCHEMA["properties"]["loss"]["enum"]) == loss.NAMES

"""Every invalid config gets one line naming the key, the bad value and what is allowed."""

import pathlib

import pytest
import yaml
from config_cases import CASES, CONFIG, edited

from bptt.pipeline import configcheck

ROOT = pathlib.Path(__file__).parents[2]
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


def test_the_shipped_config_is_valid():
    assert configcheck.problems(CONFIG, SCHEMA) == []


@pytest.mark.parametrize("case", CASES)
def test_each_problem_is_named_with_what_is_allowed(case):
    edit, start, allowed = CASES[case]
    found = configcheck.problems(edited(CONFIG, edit), SCHEMA)
    assert len(found) == 1, found
    assert found[0].startswith(start), found[0]
    assert allowed in found[0].split("Allowed:")[-1] or allowed in found[0]


def test_all_problems_are_listed_at_once():
    found = configcheck.problems(edited(CONFIG, {"seeds": 0, "grid": {"cell": ["cnn"]}}), SCHEMA)
    assert [line.split(":")[0] for line in found] == ["grid.cell[0]", "seeds"]


def _defaults(spec: dict):
    """What the schema fills in for a key: its default, or for a section (default {}) its keys' defaults."""
    if spec["default"] == {} and "properties" in spec:
        return {key: _defaults(sub) for key, sub in spec["properties"].items()}
    return spec["default"]


def test_schema_defaults_equal_the_shipped_config():
    # The schema carries the defaults; config.yaml spells them out.
    assert {key: _defaults(spec) for key, spec in SCHEMA["properties"].items()} == CONFIG


def test_schema_enums_match_the_code():
    from bptt.core import activations, cells, initialisation, loss

    grid = SCHEMA["properties"]["grid"]["properties"]
    assert tuple(grid["cell"]["items"]["enum"]) == cells.KINDS
    assert tuple(grid["activation"]["items"]["enum"]) == activations.NAMES
    assert tuple(grid["recurrent_init"]["items"]["enum"]) == initialisation.METHODS
    assert tuple(SCHEMA["properties"]["loss"]["enum"]) == loss.NAMES


@pytest.mark.parametrize(
    "given, meant",
    [
        ({"seeds": 2.0}, {"seeds": 2}),  # an integral number for an integer setting is that integer
        ({"hidden_size": "16"}, {"hidden_size": 16}),  # --config hidden_size=16 may arrive as text
        ({"grid": {"radius": ["1", "0.5"]}}, {"grid": {"radius": [1.0, 0.5]}}),  # --config 'grid={"radius": [1]}'
        ({"grid": {"gate_bias": ["0", "chrono"]}}, {"grid": {"gate_bias": [0.0, "chrono"]}}),
        ({"seeds": 2.5}, {"seeds": 2.5}),  # not integral: left for the check to refuse
    ],
)
def test_numbers_are_read_as_meant_before_the_check(given, meant):
    assert configcheck.normalise(given, SCHEMA) == meant


def test_a_fractional_integer_is_refused_after_normalising():
    found = configcheck.problems(configcheck.normalise(edited(CONFIG, {"seeds": 2.5}), SCHEMA), SCHEMA)
    assert found == [f"seeds: 2.5 is not an integer. Allowed: {SCHEMA['properties']['seeds']['description']}."]


@pytest.mark.parametrize(
    "edit, start",
    [
        ({"grid": {"recurrent_init": ["identity"]}}, "grid: lstm gets no grid point"),
        ({"jacobian_batch": 5}, "jacobian_batch: 5 exceeds batch_size 4"),
        ({"jacobian_batch": 0, "loss_at": "every"}, "jacobian_batch: 0 with loss_at: every leaves no sequence"),
    ],
)
def test_keys_that_conflict_with_each_other_are_named(edit, start):
    found = configcheck.cross_problems(edited(CONFIG, edit))
    assert found and found[0].startswith(start), found


@pytest.mark.parametrize(
    "edit",
    [
        {"steps": 10**12},  # issue 17, item 4: a traceback allocating 3.64 TiB
        {"tasks": {"recall": {"seq_len": [3], "num_classes": 10**9}}},  # the OOM killer took the machine
        {"eval_batch_size": 10**8},
    ],
)
def test_training_sizes_that_cannot_fit_are_refused_with_the_figure(edit):
    config = edited(CONFIG, {"training": {**CONFIG["training"], **edit}})
    found = configcheck.memory_problems(config, 8 * 2**30)
    assert len(found) == 1 and found[0].startswith("training: ") and "GiB" in found[0], found
    assert configcheck.memory_problems(CONFIG, 8 * 2**30) == []


def test_experiment_sizes_that_cannot_fit_are_refused_with_the_figure():
    found = configcheck.memory_problems(edited(CONFIG, {"batch_size": 10**7}), 8 * 2**30)
    assert len(found) == 1 and found[0].startswith("grid: 48 job(s) would need more memory"), found


def test_a_training_target_for_a_model_or_task_the_config_lacks_is_named_with_those_it_has():
    # Issue 17, item 6: `snakemake -n results/training/adding/evil/T4/clip-off.npz` gave a KeyError traceback.
    config = edited(CONFIG, {"training": {**CONFIG["training"], "tasks": {"adding": {"seq_len": [10]}}}})
    found = configcheck.target_problems(
        config,
        ["results/training/adding/evil/T4/clip-off.npz", "results/training/recall/lstm/T4/clip-off.npz", "all"],
    )
    assert found == [
        "results/training/adding/evil/T4/clip-off.npz: the config's training section has no model 'evil'; "
        "its models: rnn_tanh, irnn, lstm, lstm_bias1, gru. Ask for one of those, or add it to training.models.",
        "results/training/recall/lstm/T4/clip-off.npz: the config's training section has no task 'recall'; "
        "its tasks: adding. Ask for one of those, or add it to training.tasks.",
    ]
    assert configcheck.target_problems(CONFIG, ["results/training/adding/lstm/T4/clip-off.npz"]) == []


def test_an_unquoted_off_in_clip_is_the_word_off():
    # Issue 17, item 7: YAML reads `clip: [off]` as [False], which was refused as "False is not allowed".
    config = yaml.safe_load("training: {clip: [off, 1.0]}")
    assert configcheck.normalise(config, SCHEMA) == {"training": {"clip": ["off", 1.0]}}
    assert configcheck.normalise({"seeds": False}, SCHEMA) == {"seeds": False}  # elsewhere false stays false


def test_a_key_given_twice_in_a_config_file_is_named():
    text = "seeds: 3\ngrid:\n  radius: [1.0]\n  radius: [2.0]\nseeds: 4\n"
    assert configcheck.duplicate_keys(text, "my.yaml") == [
        "my.yaml: grid.radius is given twice (lines 3 and 4); the last would silently win. Keep one.",
        "my.yaml: seeds is given twice (lines 1 and 5); the last would silently win. Keep one.",
    ]
    assert configcheck.duplicate_keys((ROOT / "config.yaml").read_text(), "config.yaml") == []


def test_a_training_radius_follows_the_grids_rule():
    # Issue 17, item 7: a training model took radius 1e-320 where the grid requires >= 1e-300.
    models = {"tiny": {"cell": "rnn", "radius": 1e-320}}
    found = configcheck.problems(edited(CONFIG, {"training": {**CONFIG["training"], "models": models}}), SCHEMA)
    assert found and found[0].startswith("training.models.tiny.radius: 1e-320 is not allowed; it must be >= 1e-300")

"""The training section of the config: its schema, its one-line messages, its jobs, their settings and paths."""

import copy
import math
import pathlib
import re

import pytest
import yaml
from snakemake.utils import validate

from bptt.core import activations, cells, initialisation
from bptt.pipeline import configcheck, grid, paths, training_grid
from bptt.train import optim, tasks

ROOT = pathlib.Path(__file__).parents[2]
SCHEMA_FILE = ROOT / "workflow/schemas/config.schema.yaml"
SCHEMA = yaml.safe_load(SCHEMA_FILE.read_text())
CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text())
TRAINING = SCHEMA["properties"]["training"]


def _with(**training):
    config = copy.deepcopy(CONFIG)
    config["training"].update(training)
    return config


def _filled(config):
    config = configcheck.normalise(copy.deepcopy(config), SCHEMA)
    validate(config, str(SCHEMA_FILE))
    return config


def test_the_shipped_training_section_is_valid():
    # (That the schema's defaults equal it is checked for every section in tests/pipeline/test_configcheck.py.)
    assert configcheck.problems(CONFIG, SCHEMA) == []
    assert configcheck.training_problems(_filled(CONFIG)) == []


def test_schema_enums_match_the_code():
    model = TRAINING["properties"]["models"]["additionalProperties"]["properties"]
    assert tuple(TRAINING["properties"]["tasks"]["properties"]) == tasks.NAMES
    assert tuple(TRAINING["properties"]["optimizer"]["enum"]) == optim.NAMES
    assert tuple(TRAINING["properties"]["learning_rate"]["properties"]) == optim.NAMES
    assert tuple(model["cell"]["enum"]) == cells.KINDS
    assert tuple(model["activation"]["enum"]) == activations.NAMES
    assert tuple(model["recurrent_init"]["enum"]) == initialisation.METHODS
    assert TRAINING["properties"]["models"]["propertyNames"]["pattern"] == f"^{paths.MODEL_PATTERN}$"


def test_a_model_entry_gets_the_defaults_it_leaves_out_and_a_task_left_out_stays_out():
    config = _filled(_with(models={"mine": {"cell": "gru"}}, tasks={"recall": {"seq_len": [3]}}))
    assert config["training"]["models"] == {
        "mine": {"cell": "gru", "activation": "tanh", "recurrent_init": "orthogonal", "radius": 1.0, "gate_bias": 0.0}
    }
    assert config["training"]["tasks"] == {"recall": {"seq_len": [3], "num_classes": 4}}


CASES = {
    "negative clip": ({"clip": ["off", -1.0]}, "training.clip[1]: -1.0 is not allowed", "threshold c > 0"),
    "clip zero": ({"clip": [0]}, "training.clip[0]: 0 is not allowed", "threshold c > 0"),
    "unknown task": (
        {"tasks": {"copy": {"seq_len": [5]}}},
        "training.tasks: unknown key(s) copy; allowed keys: adding, recall",
        "",
    ),
    "no task": ({"tasks": {}}, "training.tasks: nothing is given; give at least 1 entry", "adding and recall"),
    "adding too short": (
        {"tasks": {"adding": {"seq_len": [1]}}},
        "training.tasks.adding.seq_len[0]: 1 is not allowed; it must be >= 2",
        "integers >= 2",
    ),
    "unknown cell": (
        {"models": {"m": {"cell": "transformer"}}},
        "training.models.m.cell: 'transformer' is not allowed; allowed values: rnn, lstm, gru",
        "recurrent cell kind",
    ),
    "model without cell": (
        {"models": {"m": {"activation": "relu"}}},
        "training.models.m: cell is missing",
        "its cell (rnn, lstm or gru)",
    ),
    "bad model name": (
        {"models": {"LSTM-1": {"cell": "lstm"}}},
        "training.models: the name 'LSTM-1' is not allowed",
        "lowercase letters, digits and _",
    ),
    "unknown model key": (
        {"models": {"m": {"cell": "lstm", "forget_bias": 1}}},
        "training.models.m: unknown key(s) forget_bias",
        "",
    ),
    "steps zero": ({"steps": 0}, "training.steps: 0 is not allowed; it must be >= 1", "an integer >= 1"),
    "unknown optimizer": (
        {"optimizer": "rmsprop"},
        "training.optimizer: 'rmsprop' is not allowed; allowed values: sgd, adam",
        "",
    ),
    "learning rate nan": (
        {"learning_rate": {"adam": math.nan}},
        "training.learning_rate.adam: nan is not a finite number",
        "> 0",
    ),
    "solved fraction one": (
        {"solved_fraction": 1},
        "training.solved_fraction: 1 is not allowed; it must be < 1",
        "> 0 and < 1",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_each_bad_training_setting_is_one_line_naming_the_key_and_what_is_allowed(case):
    edit, start, allowed = CASES[case]
    found = configcheck.problems(_with(**edit), SCHEMA)
    assert len(found) == 1, found
    assert found[0].startswith(start), found[0]
    assert allowed in found[0].split("Allowed:")[-1]


@pytest.mark.parametrize(
    "model, message",
    [
        (
            {"cell": "lstm", "recurrent_init": "identity"},
            "training.models.m: recurrent_init 'identity' applies to kind 'rnn' only",
        ),
        ({"cell": "rnn", "gate_bias": 1.0}, "training.models.m: gate_bias applies to the gated kinds only"),
        ({"cell": "gru", "gate_bias": "chrono"}, "training.models.m: gate_bias 'chrono' applies to kind 'lstm' only"),
    ],
)
def test_a_model_the_core_refuses_is_named_in_the_cores_words(model, message):
    found = configcheck.training_problems(_filled(_with(models={"m": model})))
    assert len(found) == 1 and found[0].startswith(message), found


def test_numbers_written_as_text_in_a_model_are_read_as_meant():
    config = configcheck.normalise(_with(models={"m": {"cell": "rnn", "radius": "2"}}), SCHEMA)
    assert config["training"]["models"]["m"]["radius"] == 2


def test_jobs_follow_the_config_order_and_spell_clip_canonically():
    config = _filled(
        _with(
            tasks={"adding": {"seq_len": [4, 8]}, "recall": {"seq_len": [3]}},
            clip=["off", 1.0],
            models={"a": {"cell": "rnn"}, "b": {"cell": "gru"}},
        )
    )
    jobs = training_grid.jobs(config["training"])
    assert jobs[:3] == [("adding", "a", 4, "off"), ("adding", "a", 4, "1"), ("adding", "b", 4, "off")]
    assert len(jobs) == 3 * 2 * 2 and jobs[-1] == ("recall", "b", 3, "1")
    assert [training_grid.clip_text(v) for v in (1, 1.0, "off", 0.5, 1e-5)] == ["1", "1", "off", "0.5", "1e-05"]
    assert paths.train_run_path("adding", "a", 4, "1") == "results/training/adding/a/T4/clip-1.npz"


def test_a_job_takes_its_own_model_its_own_task_settings_and_the_chosen_learning_rate():
    config = _filled(CONFIG)["training"]
    adding = training_grid.job_settings(config, "adding", "lstm_bias1")
    recall = training_grid.job_settings(config, "recall", "lstm_bias1")
    assert adding["gate_bias"] == "1" and adding["cell"] == "lstm" and adding["radius"] == "1"
    assert "num_classes" not in adding and recall["num_classes"] == 4
    assert adding["learning_rate"] == grid.canonical_number(config["learning_rate"][config["optimizer"]])
    other = copy.deepcopy(config)
    other["learning_rate"]["sgd" if config["optimizer"] == "adam" else "adam"] = 123.0
    other["models"]["rnn_tanh"]["radius"] = 0.5
    assert training_grid.job_settings(other, "adding", "lstm_bias1") == adding  # edits elsewhere leave it alone


@pytest.mark.parametrize("value", [1, 0.5, 1.25, 1e-05, 2.5e20, 3.0, 100.0, 0.125])
def test_every_canonical_clip_spelling_matches_the_wildcard(value):
    assert re.fullmatch(paths.CLIP_PATTERN, training_grid.clip_text(value))


@pytest.mark.parametrize("text", ["1.0", "01", "0.50", ".5", "1.", "-1", "nan", "inf", "on", "0"])
def test_non_canonical_clip_spellings_match_no_rule(text):
    assert not re.fullmatch(paths.CLIP_PATTERN, text)

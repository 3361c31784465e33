"""Every invalid config gets one line naming the key, the bad value and what is allowed."""

import pathlib

import pytest
import yaml

from bptt.pipeline import configcheck

from config_cases import CASES, CONFIG, edited

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
    assert tuple(SCHEMA["properties"]["recurrent_init"]["enum"]) == initialisation.METHODS
    assert tuple(SCHEMA["properties"]["loss"]["enum"]) == loss.NAMES

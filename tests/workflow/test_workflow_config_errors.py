"""An invalid config stops Snakemake before anything runs, with the problem named.

Each case of config_cases runs the real command (`snakemake`, not a dry run)
on a copy of the finished baseline: it must exit non-zero, print the line that
names the key, the bad value and what is allowed, and leave results/ exactly
as it was (no file written, changed or removed).
"""

import pytest
import yaml
from config_cases import CASES, edited
from workflow_helpers import TINY, planned, snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def finished_copy(baseline, tmp_path_factory):
    import shutil

    copy = tmp_path_factory.mktemp("invalid") / "repo"
    shutil.copytree(baseline, copy, symlinks=True)
    return copy


def _snapshot(path):
    return {
        str(p.relative_to(path)): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in sorted((path / "results").rglob("*"))
    }


@pytest.mark.parametrize("case", CASES)
def test_invalid_config_is_refused_before_anything_runs(finished_copy, tmp_path, case):
    edit, start, allowed = CASES[case]
    config_file = tmp_path / "bad.yaml"
    config_file.write_text(yaml.safe_dump(edited(TINY, edit)))
    before = _snapshot(finished_copy)
    result = snakemake(finished_copy, "--configfile", str(config_file), check=False)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "config is invalid" in message
    assert start in message and allowed in message, message
    assert _snapshot(finished_copy) == before


def test_keys_left_out_take_the_schemas_defaults(fresh):
    path = fresh
    (path / "config.yaml").write_text("grid:\n  cell: [gru]\nseeds: 2\n")
    schema = yaml.safe_load((path / "workflow/schemas/config.schema.yaml").read_text())["properties"]
    grid = {key: spec["default"] for key, spec in schema["grid"]["properties"].items()}
    assert planned(path)["experiment"] == len(grid["activation"]) * len(grid["seq_len"])
    shell = snakemake(path, "-n", "-p", "results/runs/gru/tanh/T25.npz").stdout
    expected = (
        f"--seeds 2 --batch-size {schema['batch_size']['default']} --hidden-size {schema['hidden_size']['default']}"
    )
    assert expected in shell


@pytest.mark.parametrize(
    "flag",
    [
        "seeds=2.0",  # an integral number for an integer setting (issue 8, item 15)
        "hidden_size=3.0",
        'grid={"cell": ["rnn", "lstm"], "activation": ["tanh"], "radius": [0.9, 1, 1.1], "seq_len": [4, 6], '
        '"recurrent_init": ["orthogonal"], "gate_bias": [0, 0.5]}',  # nested values arrive as text (item 17)
    ],
)
def test_numbers_from_the_command_line_are_read_as_meant(after_baseline, flag):
    # Each flag restates a value of the baseline's config: the same numbers, so nothing to do.
    result = snakemake(after_baseline, "-n", "--config", flag)
    assert "Nothing to be done" in result.stdout + result.stderr

"""The training rules through Snakemake's command line, on a copy of this checkout with a tiny training config."""

import copy
import pathlib
import sys

import pyarrow.parquet as pq
import pytest
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "workflow"))
import workflow_helpers  # noqa: E402

from bptt.pipeline import paths  # noqa: E402

pytestmark = pytest.mark.workflow

CONFIG = yaml.safe_load((workflow_helpers.ROOT / "config.yaml").read_text())
CONFIG["training"] = copy.deepcopy(workflow_helpers.TINY["training"])  # 8 jobs of a fraction of a second
TARGETS = (paths.TRAINING, paths.TRAINING_SUMMARY, paths.TRAINING_CLIFF_SURFACE, paths.TRAINING_CLIFF_PATHS)


def test_plain_snakemake_builds_the_training_tables_then_only_an_edited_model_reruns(tmp_path):
    repo = workflow_helpers.pristine_copy(tmp_path / "repo", CONFIG)
    plan = workflow_helpers.planned(repo)  # rule all
    assert plan["train"] == 8 and plan["collect_training"] == 1
    workflow_helpers.snakemake(repo, "--cores", "2", *TARGETS)
    summary = pq.read_table(repo / paths.TRAINING_SUMMARY).to_pandas()
    assert len(summary) == 8 * 2  # jobs x seeds
    assert set(summary["model"]) == {"tanh", "lstm_b1"} and summary["clip"].isna().sum() == 8
    assert len(pq.read_table(repo / paths.TRAINING)) == 8 * 2 * 3  # evaluations at steps 0, 2, 4
    assert (repo / "benchmarks/train/adding/tanh/T4/clip-1.tsv").exists()

    edited = copy.deepcopy(CONFIG)
    edited["training"]["models"]["lstm_b1"]["gate_bias"] = 2.0
    workflow_helpers.write_config(repo, edited)
    plan = workflow_helpers.planned(repo)
    assert plan["train"] == 4 and plan["collect_training"] == 1  # the edited model's 4 jobs alone


def test_a_bad_training_setting_stops_snakemake_with_one_line_and_nothing_written(tmp_path):
    bad = copy.deepcopy(CONFIG)
    bad["training"]["clip"] = ["off", -1.0]
    repo = workflow_helpers.pristine_copy(tmp_path / "repo", bad)
    result = workflow_helpers.snakemake(repo, "--cores", "1", *TARGETS, check=False)
    assert result.returncode != 0
    assert "training.clip[1]: -1.0 is not allowed. Allowed: gradient clipping settings" in result.stdout + result.stderr
    assert not (repo / "results").exists()

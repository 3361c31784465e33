"""The clipping rules through Snakemake's command line, on a copy of this checkout with the tiny config."""

import copy
import pathlib
import sys

import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "workflow"))
import workflow_helpers  # noqa: E402

from bptt.pipeline import paths  # noqa: E402

pytestmark = pytest.mark.workflow

TARGETS = (paths.CLIPPING, paths.CLIPPING_TRACES)


def test_plain_snakemake_plans_the_clipping_jobs_and_builds_their_tables(tmp_path):
    repo = workflow_helpers.pristine_copy(tmp_path / "repo")
    plan = workflow_helpers.planned(repo)  # rule all
    assert plan["clip_run"] == 2 and plan["collect_clipping"] == 1
    workflow_helpers.snakemake(repo, "--cores", "2", *TARGETS)
    runs = pq.read_table(repo / paths.CLIPPING).to_pandas()
    assert len(runs) == 2 * 2 * (2 + 1)  # clip settings x learning rates x (seeds + perturbed)
    wild = runs[runs["learning_rate"] == 1e100]  # diverged either way: clipped, its steps are 1e100 long
    assert wild["diverged"].all() and not runs.loc[runs["learning_rate"] == 0.01, "diverged"].any()
    assert wild.loc[wild["clip"] == "off", "nonfinite_step"].notna().all()  # unclipped, it leaves float64
    assert runs.loc[runs["clip"] == "1", "nonfinite_step"].isna().all()
    assert (repo / paths.clipping_benchmark("tanh", "1")).exists()


def test_a_bad_clipping_setting_stops_snakemake_with_one_line_and_nothing_written(tmp_path):
    bad = copy.deepcopy(workflow_helpers.TINY)
    bad["clipping"]["perturbed_seeds"] = 3
    repo = workflow_helpers.pristine_copy(tmp_path / "repo", bad)
    result = workflow_helpers.snakemake(repo, "--cores", "1", *TARGETS, check=False)
    assert result.returncode != 0
    assert "clipping.perturbed_seeds: 3 exceeds clipping.seeds 2; give at most seeds" in result.stdout + result.stderr
    assert not (repo / "results").exists()

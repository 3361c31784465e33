"""Damaged results, another working folder, degenerate grids: a clear message, and a rerun that recovers."""

import re
import subprocess

import pyarrow.parquet as pq
import pytest
from workflow_helpers import COLLECTED, SNAKEMAKE, TINY, local_env, snakemake, write_config

pytestmark = pytest.mark.workflow


def test_a_damaged_record_is_named_set_aside_and_rebuilt_by_the_next_run(after_baseline, baseline):
    # Issue 8, item 10: collect failed with zipfile.BadZipFile without naming the file, and every rerun
    # failed the same way.
    path = after_baseline
    record = path / "results/runs/rnn/tanh/T4.npz"
    record.write_bytes(record.read_bytes()[:100])
    (path / COLLECTED[0]).unlink()  # as after an edit: collect must run and read the damaged file
    failed = snakemake(path, *COLLECTED, check=False)
    assert failed.returncode != 0
    assert f"{record.relative_to(path)} could not be read" in failed.stdout + failed.stderr
    assert (path / "results/runs/rnn/tanh/T4.npz.corrupt").exists()
    snakemake(path, *COLLECTED)
    assert pq.read_table(path / COLLECTED[0]).equals(pq.read_table(baseline / COLLECTED[0]))


def test_a_damaged_table_is_named_set_aside_and_the_next_run_rebuilds_it_and_the_report(after_baseline):
    # Issue 8, item 11: a truncated gradients.parquet failed the report at every rerun.
    path = after_baseline
    table = path / COLLECTED[0]
    table.write_bytes(table.read_bytes()[:200])
    (path / "results/report.html").unlink()
    failed = snakemake(path, check=False)
    assert failed.returncode != 0 and "results/gradients.parquet could not be read" in failed.stdout + failed.stderr
    snakemake(path)
    assert pq.read_table(table).num_rows > 0 and (path / "results/report.html").exists()


def test_the_workflow_runs_from_another_working_folder(snapshot, tmp_path):
    # Issue 8, item 13: with --directory elsewhere the report failed to find report/equations.yaml.
    work = tmp_path / "elsewhere"
    work.mkdir()
    write_config(work, TINY)
    command = [
        str(SNAKEMAKE),
        "-s",
        str(snapshot / "Snakefile"),
        "--directory",
        str(work),
        "--cores",
        "2",
        "--configfile",
        str(work / "config.yaml"),
    ]
    result = subprocess.run(command, cwd=tmp_path, env=local_env(snapshot), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (work / "results/report.html").exists() and not (snapshot / "results").exists()


@pytest.mark.parametrize(
    "grid, pascanu",
    [
        ({"seq_len": [1]}, False),  # no lag to fit: every regime is null (issue 8, item 14)
        # tanh saturates beyond float64 at once: only the last step is measurable, so no run has a
        # regime and there is no Pascanu section (the page says how many steps were not measurable)
        ({"radius": [1.0e300]}, False),
        ({"cell": ["lstm"]}, False),  # no Elman runs: no Pascanu section
    ],
    ids=["T=1", "overflow at once", "no rnn"],
)
def test_a_valid_but_degenerate_grid_gives_a_report_that_says_what_it_can(fresh, grid, pascanu):
    write_config(fresh, {**TINY, "grid": {**TINY["grid"], **grid}})
    snakemake(fresh, "--cores", "2")
    html = (fresh / "results/report.html").read_text()
    assert "<h2>9. Provenance</h2>" in html
    assert ("Pascanu's conditions in the Elman runs" in html) == pascanu
    if grid.get("radius") == [1.0e300]:
        assert "steps in all could not be" in html
    if grid.get("seq_len") == [1]:  # no sentence claims a rate that was not fitted
        assert re.search(r"No decay rate could be fitted \(T = 1[^.]*\bElman RNN with tanh\b", html)
        assert "Elman RNN with tanh: at H = 3, no rate could be fitted" in html
        assert "vanishes at every radius" not in html and not re.search(r"\bnan\b", html)

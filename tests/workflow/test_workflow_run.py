"""End to end: the collected tables, their readers, determinism and recovery after kill -9."""

import os
import signal
import subprocess
import time
import zipfile

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from workflow_helpers import COLLECTED, SNAKEMAKE, TINY, local_env, snakemake

from bptt.pipeline import tables

pytestmark = pytest.mark.workflow

JOBS = 4  # the tiny grid: 2 cells x 2 lengths
POINTS = 3 + 3 * 2  # per length: 3 radii for rnn, 3 radii x 2 gate biases for lstm


def test_collected_tables_have_the_contract_columns_and_rows(baseline):
    gradients = pq.read_table(baseline / COLLECTED[0])
    summary = pq.read_table(baseline / COLLECTED[1])
    assert gradients.schema.equals(tables.GRADIENTS) and summary.schema.equals(tables.SUMMARY)
    assert len(gradients) == POINTS * TINY["seeds"] * sum(TINY["grid"]["seq_len"])
    assert len(summary) == POINTS * TINY["seeds"] * len(TINY["grid"]["seq_len"])
    lstm = pc.equal(gradients["cell"], "lstm").to_numpy(zero_copy_only=False)
    assert gradients.filter(lstm)["log10_grad_c"].null_count == 0
    assert gradients.filter(~lstm)["log10_grad_c"].null_count == len(gradients.filter(~lstm))
    assert set(summary["regime"].to_pylist()) <= {"vanishing", "stable", "exploding"}
    assert sorted(set(summary["radius"].to_pylist())) == [0.9, 1.0, 1.1]


def test_each_job_runs_numpy_with_one_blas_thread(baseline):
    # Snakemake sets OPENBLAS_NUM_THREADS and its kin from the rule's threads: 1; the job logs it.
    logs = sorted((baseline / "logs" / "experiment").rglob("*.log"))
    assert len(logs) == JOBS and all("(BLAS threads: 1)" in log.read_text() for log in logs)


@pytest.mark.parametrize("name", COLLECTED)
def test_pandas_polars_and_duckdb_read_the_same_table(baseline, name):
    path = baseline / name
    reference = pq.read_table(path).to_pandas()
    pd.testing.assert_frame_equal(pd.read_parquet(path), reference)
    pd.testing.assert_frame_equal(pl.read_parquet(path).to_pandas(), reference, check_dtype=False)
    pd.testing.assert_frame_equal(
        duckdb.sql(f"select * from read_parquet('{path}')").df(), reference, check_dtype=False
    )
    assert pl.read_parquet(path).columns == duckdb.sql(f"select * from '{path}'").columns == list(reference.columns)


def _assert_same_collected(first, second):
    for name in COLLECTED:
        assert pq.read_table(first / name).equals(pq.read_table(second / name), check_metadata=True), name


def test_one_core_gives_the_same_data_as_two(baseline, fresh):
    serial = fresh
    snakemake(serial, "--cores", "1", *COLLECTED)
    _assert_same_collected(serial, baseline)


@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGINT], ids=["kill -9", "Ctrl-C"])
def test_a_run_killed_mid_way_recovers_the_same_data(baseline, fresh, signal_number):
    path = fresh
    # Its own process group, as in a terminal: the signal reaches Snakemake and its jobs at once.
    run = subprocess.Popen(
        [str(SNAKEMAKE), "--cores", "2", *COLLECTED],
        cwd=path,
        env=local_env(path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    runs = path / "results" / "runs"
    deadline = time.monotonic() + 120
    while not list(runs.rglob("*.npz")) and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(run.pid, signal_number)
    run.wait(timeout=60)
    done = list(runs.rglob("*.npz"))
    assert 0 < len(done) < JOBS, f"the signal came too late or too early: {len(done)} of {JOBS} jobs"
    assert not (path / COLLECTED[0]).exists()
    for record in done:  # written atomically: every file there is whole
        with np.load(record) as arrays:
            assert "log10_grad_h" in arrays
    # The README's recovery: after kill -9 Snakemake's lock stays behind and
    # needs --unlock; after Ctrl-C plain `snakemake` suffices. The profile's
    # rerun-incomplete redoes the jobs that were running.
    if signal_number == signal.SIGKILL:
        assert "LockException" in snakemake(path, *COLLECTED, check=False).stderr
        snakemake(path, "--unlock")
    snakemake(path, *COLLECTED)
    _assert_same_collected(path, baseline)
    assert "Nothing to be done" in snakemake(path, "-n", *COLLECTED).stdout


def test_snakemake_report_zip_carries_the_html_report(after_baseline):
    path = after_baseline
    snakemake(path, "--report", "report.zip")
    with zipfile.ZipFile(path / "report.zip") as archive:
        # Snakemake stores registered outputs under report/data/raw/<hash>/.
        ours = [name for name in archive.namelist() if "/data/raw/" in name and name.endswith("/report.html")]
        assert len(ours) == 1, f"results/report.html is not in the zip: {archive.namelist()[:20]}"
        assert archive.read(ours[0]) == (path / "results" / "report.html").read_bytes()

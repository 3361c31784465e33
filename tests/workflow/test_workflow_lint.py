"""The Python files are ruff-clean (format and check), the Snakemake files snakefmt-clean, and
`snakemake --lint` has no advice beyond conda/container."""

import subprocess

import pytest
from workflow_helpers import ROOT, SNAKEMAKE, local_env

pytestmark = pytest.mark.workflow

CONDA_ADVICE = "Specify a conda environment or container for each rule."


@pytest.mark.parametrize("command", [["format", "--check"], ["check"]], ids=["ruff format", "ruff check"])
def test_ruff_is_clean(command):
    result = subprocess.run(
        [str(SNAKEMAKE.parent / "ruff"), *command, "src", "tests", "bench"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt_check_is_clean():
    snakefmt = [str(SNAKEMAKE.parent / "snakefmt"), "--check", "Snakefile", "workflow/rules"]
    result = subprocess.run(snakefmt, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_lint_gives_no_advice_but_conda_or_container():
    result = subprocess.run([str(SNAKEMAKE), "--lint"], cwd=ROOT, env=local_env(ROOT), capture_output=True, text=True)
    advice, where = [], None
    for line in (result.stdout + result.stderr).splitlines():
        if line.startswith("Lints for "):
            where = line.removeprefix("Lints for ").rstrip(":")
        elif line.startswith("    * "):
            advice.append((where, line.removeprefix("    * ").rstrip(":")))
    assert advice, "no lint output to check: did --lint run?\n" + result.stdout + result.stderr
    assert [(w, a) for w, a in advice if a != CONDA_ADVICE.rstrip(":")] == []

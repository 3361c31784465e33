"""Fixtures of the workflow tests: one shared baseline run, private copies of it."""

import pathlib
import shutil

import pytest

from workflow_helpers import pristine_copy, snakemake


@pytest.fixture(scope="session")
def baseline(tmp_path_factory) -> pathlib.Path:
    """A finished run of the tiny config (all targets, --cores 2): do not modify, copy."""
    path = pristine_copy(tmp_path_factory.mktemp("baseline") / "repo")
    snakemake(path, "--cores", "2")
    return path


@pytest.fixture
def after_baseline(baseline, tmp_path) -> pathlib.Path:
    """A private copy of the finished baseline run, free to edit."""
    copy = tmp_path / "repo"
    shutil.copytree(baseline, copy, symlinks=True)
    return copy

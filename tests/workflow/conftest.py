"""Fixtures of the workflow tests: one snapshot of the code, one shared baseline run, copies."""

import pathlib
import shutil

import pytest
from workflow_helpers import pristine_copy, snakemake


@pytest.fixture(scope="session")
def snapshot(tmp_path_factory) -> pathlib.Path:
    """This checkout's workflow and code with the tiny config, copied once per session.

    Every other copy is made from it, so all runs of a session use the same
    code even while the checkout itself is being edited.
    """
    return pristine_copy(tmp_path_factory.mktemp("snapshot") / "repo")


@pytest.fixture
def fresh(snapshot, tmp_path) -> pathlib.Path:
    """A private copy of the snapshot, nothing run yet."""
    copy = tmp_path / "repo"
    shutil.copytree(snapshot, copy, symlinks=True)
    return copy


@pytest.fixture(scope="session")
def baseline(snapshot, tmp_path_factory) -> pathlib.Path:
    """A finished run of the tiny config (all targets, --cores 2): do not modify, copy."""
    path = tmp_path_factory.mktemp("baseline") / "repo"
    shutil.copytree(snapshot, path, symlinks=True)
    snakemake(path, "--cores", "2")
    return path


@pytest.fixture
def after_baseline(baseline, tmp_path) -> pathlib.Path:
    """A private copy of the finished baseline run, free to edit."""
    copy = tmp_path / "repo"
    shutil.copytree(baseline, copy, symlinks=True)
    return copy

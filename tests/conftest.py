"""Shared test helpers.

Tests that need an outside component (Debian's chromium, a running SLURM) skip
on a developer machine that lacks it, but fail in CI (CI=true), where .ci/run
must have installed it: a skipped browser or cluster test must never pass CI.
"""

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(available: bool, what: str) -> None:
    """Skip (locally) or fail (in CI) when `what` is not available."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI; .ci/run must install/start it")
    pytest.skip(f"{what} not available on this machine")

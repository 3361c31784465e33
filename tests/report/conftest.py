"""Fixtures for the report's tests: small synthetic collected tables (see synthetic.py)."""

import pathlib
import sys

import pytest
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import synthetic  # noqa: E402

ROOT = pathlib.Path(__file__).parents[2]


@pytest.fixture(scope="session")
def tables():
    """The collected tables of a small grid, no jitter: the findings are known exactly."""
    return synthetic.tables()


@pytest.fixture(scope="session")
def config():
    """The shipped config.yaml: its grid lists the variants synthetic.py draws."""
    return yaml.safe_load((ROOT / "config.yaml").read_text())


@pytest.fixture(scope="session")
def main(tables, config):
    """The tables restricted to the main variant the norm figures show."""
    from bptt.report import render

    return render.main_variant(tables, config)

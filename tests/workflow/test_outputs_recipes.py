"""The recipes of docs/outputs.md, run as written on the tiny baseline run: pandas and DuckDB agree."""

import pathlib
import re

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.workflow

DOC = pathlib.Path(__file__).parents[2] / "docs" / "outputs.md"
# The tiny grid's values for the recipes' settings (its longest T is 6, so lag 100 does not exist).
SETTINGS = {"SEQ_LEN": 6, "TOLERANCE": 0.01, "LAG": 3, "RADIUS": 1.0}


def recipes() -> list[str]:
    """The python blocks of the Recipes section, their settings line set to the tiny grid's values."""
    section = DOC.read_text().split("## Recipes", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)

    def tiny(match: re.Match) -> str:
        names = [n.strip() for n in match.group(1).split(",")]
        return f"{match.group(1)} = {', '.join(repr(SETTINGS[n]) for n in names)}"

    return [re.sub(r"^([A-Z_, ]+) = .*$", tiny, block, count=1, flags=re.M) for block in blocks]


def test_the_recipes_run_on_the_tables_and_pandas_agrees_with_duckdb(baseline, monkeypatch):
    blocks = recipes()
    assert len(blocks) == 4, "docs/outputs.md should hold two recipes, each in pandas and in DuckDB"
    monkeypatch.chdir(baseline)
    found = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), found)
    stops = found["stops"].reset_index()
    pd.testing.assert_frame_equal(stops, found["stops_sql"], check_dtype=False)
    kept = found["kept"].rename("log10_kept").reset_index()
    assert len(kept) == 3  # the Elman cell, and the LSTM with each of its two gate biases
    pd.testing.assert_frame_equal(kept, found["kept_sql"], check_dtype=False)
    # The relative column is what the recipe's question asks: lag LAG against lag 0.
    g = pd.read_parquet(baseline / "results/gradients.parquet")
    g = g[(g.seq_len == 6) & (g.radius == 1.0)]
    back, last = (g[g.lag == lag].set_index(["cell", "gate_bias", "seed"])["log10_grad_h"] for lag in (3, 0))
    by_hand = (back - last).groupby(["cell", "gate_bias"]).median()
    np.testing.assert_allclose(kept.set_index(["cell", "gate_bias"])["log10_kept"], by_hand, rtol=1e-12)

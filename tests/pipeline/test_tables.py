"""docs/outputs.md documents every column of every table, with its type and the stored meaning."""

import pathlib

import pytest

from bptt.pipeline import tables

DOC = (pathlib.Path(__file__).parents[2] / "docs" / "outputs.md").read_text()
SCHEMAS = {
    "gradients": tables.GRADIENTS,
    "summary": tables.SUMMARY,
    "theory": tables.THEORY,
    "eigenvalues": tables.EIGENVALUES,
    "every_step_pairs": tables.EVERY_STEP_PAIRS,
    "every_step_lags": tables.EVERY_STEP_LAGS,
    "clipping": tables.CLIPPING,
    "clipping_traces": tables.CLIPPING_TRACES,
    "audit": tables.AUDIT,
    "trainability": tables.TRAINABILITY,
    "trainability_summary": tables.TRAINABILITY_SUMMARY,
}


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_docs_list_every_column_with_its_type_and_meaning(name):
    section = DOC.split(f"## `results/{name}.parquet`")[1].split("\n## ")[0]
    for field in SCHEMAS[name]:
        kind = str(field.type).replace("double", "float64")
        meaning = field.metadata[b"description"].decode()
        assert meaning and f"| `{field.name}` | {kind} | {meaning} |" in section, field.name

"""The README documents every column of both collected tables, with its type."""

import pathlib

import pytest

from bptt.pipeline import tables

README = (pathlib.Path(__file__).parents[2] / "README.md").read_text()


@pytest.mark.parametrize("schema", [tables.GRADIENTS, tables.SUMMARY], ids=["gradients", "summary"])
def test_readme_lists_every_column_with_its_type(schema):
    section = README.split("## Output: the Parquet schemas")[1].split("\n## ")[0]
    for field in schema:
        kind = str(field.type).replace("double", "float64")
        assert f"| `{field.name}` | {kind} |" in section, field.name


def test_every_column_says_what_it_means():
    for field in tables.SUMMARY:
        assert field.metadata[b"description"]
    for field in tables.GRADIENTS:
        assert field.metadata[b"description"]

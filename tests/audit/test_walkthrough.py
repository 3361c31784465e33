"""docs/audit.md's walkthrough runs as written: its ```python blocks, in order, in a fresh folder."""

import pathlib
import re

DOC = pathlib.Path(__file__).parents[2] / "docs" / "audit.md"


def test_walkthrough_runs(tmp_path, monkeypatch):
    text = DOC.read_text()
    walkthrough = text[text.index("## Walkthrough") :]
    blocks = re.findall(r"```python\n(.*?)```", walkthrough, flags=re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - the documentation's own code
    assert (tmp_path / "results" / "audit.parquet").is_file()

"""The code hash covers exactly what a job imports, and ignores comments."""

import shutil
import subprocess
import sys

import pytest

from bptt.pipeline import codehash

ENTRIES = ("bptt.pipeline.experiment", "bptt.pipeline.collect")


@pytest.mark.parametrize("entry", ENTRIES)
def test_dependencies_are_the_bptt_modules_the_job_imports(entry):
    code = (
        f"import sys, {entry}; "
        "print('\\n'.join(sorted(m.__file__ for n, m in sys.modules.items() if n.split('.')[0] == 'bptt')))"
    )
    imported = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert sorted(map(str, codehash.dependencies(entry))) == imported


def _package_copy(tmp_path, monkeypatch):
    src = codehash.module_file("bptt").parent
    shutil.copytree(src, tmp_path / "bptt", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [n for n in sys.modules if n.split(".")[0] == "bptt"]:
        monkeypatch.delitem(sys.modules, name)
    return tmp_path / "bptt"


def test_hash_follows_code_not_comments_or_mtimes(tmp_path, monkeypatch):
    package = _package_copy(tmp_path, monkeypatch)
    assert codehash.module_file("bptt").parent == package
    before = codehash.code_hash("bptt.pipeline.experiment")
    cells = package / "core" / "cells.py"
    text = cells.read_text()
    cells.write_text(text + "\n# a comment\n")
    assert codehash.code_hash("bptt.pipeline.experiment") == before
    cells.write_text(text + "\nEXTRA = 1\n")
    assert codehash.code_hash("bptt.pipeline.experiment") != before
    cells.write_text(text)  # reverted: new mtime, same code
    assert codehash.code_hash("bptt.pipeline.experiment") == before
    (package / "pipeline" / "collect.py").write_text(
        (package / "pipeline" / "collect.py").read_text() + "\nEXTRA = 1\n"
    )
    assert codehash.code_hash("bptt.pipeline.experiment") == before


def test_extra_files_count_by_bytes(tmp_path):
    extra = tmp_path / "template.html"
    extra.write_text("<p>a</p>")
    before = codehash.code_hash("bptt.pipeline.collect", files=(extra,))
    extra.write_text("<p>b</p>")
    assert codehash.code_hash("bptt.pipeline.collect", files=(extra,)) != before

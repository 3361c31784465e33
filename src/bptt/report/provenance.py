"""Provenance: how the report's numbers were made (commit, versions, date, run times).

Run times come from Snakemake benchmark files (tab-separated, column `s` = wall seconds).
A file's rule is its first directory under the benchmark folder (benchmarks/<rule>/...), or its
stem for a file directly inside it (benchmarks/<rule>.tsv).
"""

import datetime
import importlib.metadata
import pathlib
import platform
import subprocess

import pandas as pd

from bptt.pipeline import inputs

PACKAGES = ("numpy", "pandas", "pyarrow", "matplotlib", "jinja2", "latex2mathml", "snakemake")


def git_commit(root: pathlib.Path) -> str:
    """The checked-out commit of the repository whose top folder is `root`, flagged if the tree has
    edits; "unknown" for a folder that is not such a checkout, even if it sits inside another
    repository (whose commit says nothing about this code)."""
    try:
        top = pathlib.Path(_git(root, "rev-parse", "--show-toplevel"))
        if top.resolve() != pathlib.Path(root).resolve():
            return f"unknown (not a git checkout: {root} lies inside the repository at {top})"
        commit = _git(root, "rev-parse", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit + (" (with uncommitted changes)" if dirty else "")


def package_versions(names=PACKAGES) -> dict[str, str]:
    """Python's and each named package's installed version ('not installed' if absent)."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def run_times(paths, root: pathlib.Path) -> pd.DataFrame:
    """Per rule: jobs, summed and longest wall seconds, from the benchmark files `paths`.

    The files are the current run's (listed by the workflow, so stale files of an older grid are
    not counted), inside the benchmark folder `root`. Returns columns rule, jobs, total_s, max_s
    (largest total first); empty for no files. A file that is not a benchmark is moved aside and named
    (`bptt.pipeline.inputs`): the next run reruns the job that writes it.
    """

    def load(p):
        table = pd.read_csv(p, sep="\t")
        if "s" not in table.columns or table.empty:
            raise ValueError("it is not a Snakemake benchmark file (no 's' column or no rows)")
        return table

    rows = []
    for path in map(pathlib.Path, paths):
        table = inputs.read(path, load)  # a damaged file is named and moved aside: its job reruns
        relative = path.relative_to(root)
        rule = relative.parts[0] if len(relative.parts) > 1 else path.stem
        rows.append((rule, float(table["s"].iloc[0])))
    runs = pd.DataFrame(rows, columns=["rule", "s"])
    per_rule = runs.groupby("rule")["s"].agg(jobs="count", total_s="sum", max_s="max").reset_index()
    return per_rule.sort_values("total_s", ascending=False, ignore_index=True)


def build_date(now: datetime.datetime | None = None) -> str:
    """The build date in UTC, ISO 8601 to the second."""
    now = now or datetime.datetime.now(datetime.UTC)
    return now.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _git(root: pathlib.Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()

"""The page as a whole: self-contained, escaped, cited, and clear errors on bad input."""

import datetime
import json
import pathlib
import re
import subprocess

import pandas as pd
import pytest
import yaml

from bptt.report import __main__ as cli
from bptt.report import mathml, provenance, render
from bptt.pipeline.spectrum import few_radii

ROOT = pathlib.Path(__file__).parents[2]
SVGS = {k: "<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>" for k in "abcdef"}


def page(tables, eigenvalues, config, **changes):
    gradients, summary = tables
    arguments = dict(config=config, report_dir=ROOT / "report", benchmarks=[], benchmark_root=ROOT,
                     repo_root=ROOT, svgs=SVGS, now=datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC))
    return render.render(gradients, summary, eigenvalues, **{**arguments, **changes})


def test_page_is_self_contained_and_cites_what_it_lists(tables, eigenvalues, config):
    html = page(tables, eigenvalues, config)
    # Nothing is loaded: every src is a data URI; reference links are <a href>, fetched only on click.
    assert re.findall(r"""src=["'](?!data:)""", html) == []
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    assert html.count("<img") == 6 and html.count("data:image/svg+xml;base64,") == 6
    assert html.count("<math") > 20
    cited = set(re.findall(r'href="#ref-([\w-]+)"', html))
    listed = set(re.findall(r'<li id="ref-([\w-]+)"', html))
    assert cited == listed
    assert {"brown2017", "d2l-bptt", "qiu2020", "elman1990", "bengio1994", "hochreiter1997",
            "cho2014", "pascanu2013"} <= listed
    assert "2024-01-02 00:00:00 UTC" in html


def test_config_and_data_strings_are_escaped(tables, eigenvalues, config):
    gradients, summary = tables
    hostile = "<script>alert(1)</script>"
    summary = summary.assign(activation=summary.activation.replace("tanh", hostile))
    html = page((gradients, summary), eigenvalues, {**config, "loss": hostile})
    assert hostile not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_unknown_citation_is_a_clear_error():
    cite, cited = render.citations({"a": {"text": "A", "link": ""}})
    assert 'href="#ref-a"' in cite("a") and cited()[0]["number"] == 1
    with pytest.raises(ValueError, match="report/references.yaml lacks"):
        cite("nobody2099")


def test_every_equation_converts_without_leftover_latex():
    equations = yaml.safe_load((ROOT / "report" / "equations.yaml").read_text())
    for tex in [*equations["block"].values(), *equations["inline"].values()]:
        assert "\\" not in mathml.block(tex), tex
    with pytest.raises(ValueError, match="cannot convert the LaTeX"):
        mathml.inline(r"x^")


def test_read_table_names_missing_columns_and_files(tmp_path, tables):
    gradients, _ = tables
    path = tmp_path / "gradients.parquet"
    gradients.drop(columns=["gamma_step"]).to_parquet(path)
    with pytest.raises(ValueError, match="lacks the column.*gamma_step"):
        render.read_table(path, render.GRADIENT_COLUMNS)
    with pytest.raises(FileNotFoundError, match="run `snakemake` first"):
        render.read_table(tmp_path / "missing.parquet", render.GRADIENT_COLUMNS)
    gradients.iloc[:0].to_parquet(path)
    with pytest.raises(ValueError, match="has no rows"):
        render.read_table(path, render.GRADIENT_COLUMNS)


def test_cli_writes_the_page_and_the_svgs(tmp_path, tables, eigenvalues, config):
    gradients, summary = tables
    for name, table in [("g", gradients), ("s", summary), ("e", eigenvalues)]:
        table.to_parquet(tmp_path / f"{name}.parquet")
    bench = tmp_path / "benchmarks" / "experiment"
    bench.mkdir(parents=True)
    pd.DataFrame({"s": [1.5], "h:m:s": ["0:00:01"]}).to_csv(bench / "one.tsv", sep="\t", index=False)
    out = tmp_path / "out" / "report.html"
    cli.main(["--gradients", str(tmp_path / "g.parquet"), "--summary", str(tmp_path / "s.parquet"),
              "--eigenvalues", str(tmp_path / "e.parquet"), "--config-json", json.dumps(config),
              "--benchmarks", str(bench / "one.tsv"), "--benchmark-root", str(tmp_path / "benchmarks"),
              "--report-dir", str(ROOT / "report"), "--figures", str(tmp_path / "figs"),
              "--output", str(out), "--repo", str(ROOT)])
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [f"figure_{k}.svg" for k in "abcdef"]
    assert "<td>experiment</td>" in out.read_text()
    with pytest.raises(SystemExit, match="--config-json is not valid JSON"):
        cli.main(["--gradients", "g", "--summary", "s", "--eigenvalues", "e", "--config-json", "{",
                  "--report-dir", "r", "--figures", "f", "--output", "o"])


def test_run_times_per_rule_and_bad_files(tmp_path):
    for rule, name, seconds in [("experiment", "a/x.tsv", 2.0), ("experiment", "b.tsv", 3.0), ("", "spectrum.tsv", 0.5)]:
        path = tmp_path / rule / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"s": [seconds], "max_rss": [1.0]}).to_csv(path, sep="\t", index=False)
    files = sorted(tmp_path.rglob("*.tsv"))
    times = provenance.run_times(files, tmp_path).set_index("rule")
    assert times.loc["experiment"].tolist() == [2, 5.0, 3.0]
    assert times.loc["spectrum", "total_s"] == 0.5
    bad = tmp_path / "bad.tsv"
    bad.write_text("nothing\n1\n")
    with pytest.raises(ValueError, match="bad.tsv is not a Snakemake benchmark file"):
        provenance.run_times([bad], tmp_path)


def test_git_commit_outside_a_checkout(tmp_path):
    assert provenance.git_commit(tmp_path) == "unknown (not a git checkout)"
    assert re.match(r"[0-9a-f]{40}", provenance.git_commit(ROOT))


def test_a_folder_inside_another_repository_does_not_report_that_repositorys_commit(tmp_path):
    outer = tmp_path / "outer"
    (outer / "bptt-copy").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(outer)], check=True)
    got = provenance.git_commit(outer / "bptt-copy")
    assert got.startswith("unknown (not a git checkout") and "inside the repository" in got


def test_few_radii_picks_ends_and_the_one_nearest_one():
    assert few_radii([1.5, 0.5, 0.9, 1.05, 2.0]) == [0.5, 1.05, 2.0]
    assert few_radii([1.0]) == [1.0]
    with pytest.raises(ValueError, match="positive"):
        few_radii([0.0, 1.0])

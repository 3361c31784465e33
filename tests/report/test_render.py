"""The page as a whole: self-contained, escaped, cited, and clear errors on bad input."""

import datetime
import json
import pathlib
import re
import string
import subprocess

import pandas as pd
import pytest
import synthetic
import yaml

from bptt.pipeline import report_inputs
from bptt.pipeline.spectrum import few_radii
from bptt.report import __main__ as cli
from bptt.report import mathml, provenance, render

ROOT = pathlib.Path(__file__).parents[2]
FIGURES = string.ascii_lowercase[: len(render.FIGURES)]  # the letters of render.FIGURES, one per figure
SVGS = {f.id: "<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>" for f in render.FIGURES}


def page(tables, config, **changes):
    arguments = dict(
        config=config,
        report_dir=ROOT / "report",
        benchmarks=[],
        benchmark_root=ROOT,
        repo_root=ROOT,
        svgs=SVGS,
        now=datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC),
    )
    return render.render(tables, **{**arguments, **changes})


def test_page_is_self_contained_and_cites_what_it_lists(tables, config):
    html = page(tables, config)
    # Nothing is loaded: every src is a data URI; reference links are <a href>, fetched only on click.
    assert re.findall(r"""src=["'](?!data:)""", html) == []
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    assert html.count("<img") == len(FIGURES) and html.count("data:image/svg+xml;base64,") == len(FIGURES)
    assert html.count("<math") > 20
    cited = set(re.findall(r'href="#ref-([\w-]+)"', html))
    listed = set(re.findall(r'<li id="ref-([\w-]+)"', html))
    assert cited == listed
    assert set(synthetic.ALWAYS_CITED) <= listed
    assert "2024-01-02 00:00:00 UTC" in html


def test_figure_letters_follow_the_order_of_the_page(tables, config):
    html = page(tables, config)
    letters = re.findall(r'<figure id="figure-([a-z])">', html)
    assert "".join(letters) == FIGURES
    for letter in letters:
        assert html.count(f"<b>Figure ({letter}). ") == 1


def test_config_and_data_strings_are_escaped(tables, config):
    hostile = "<script>alert(1)</script>"
    summary = tables.summary.assign(activation=tables.summary.activation.replace("tanh", hostile))
    html = page(tables._replace(summary=summary), {**config, "loss": hostile})
    assert hostile not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_loss_at_every_step_says_which_figures_follow_one_term_and_which_the_sum(tables, config):
    def text(html):
        return re.sub(r"<[^>]+>", "", html)

    last, every = text(page(tables, config)), text(page(tables, {**config, "loss_at": "every"}))
    assert "the error enters at the last step only" in last and "follows the sum" not in last
    assert "the median over t of" in every and "the error enters at the last step only" not in every
    assert "it follows the sum, not a single term" in every


def test_unknown_citation_is_a_clear_error():
    cite, cited = render.citations({"a": {"text": "A", "link": ""}})
    assert 'href="#ref-a"' in cite("a") and cited()[0]["number"] == 1
    with pytest.raises(ValueError, match="report/references.yaml lacks"):
        cite("nobody2099")


def test_every_equation_converts_without_leftover_latex():
    equations = yaml.safe_load((ROOT / "report" / "equations.yaml").read_text())
    for tex in [*equations["block"].values(), *equations["inline"].values(), *equations["plain"].values()]:
        assert "\\" not in mathml.block(tex), tex
    with pytest.raises(ValueError, match="cannot convert the LaTeX"):
        mathml.inline(r"x^")


def test_plain_notation_in_a_sentence_is_set_as_mathml_and_the_rest_escaped():
    plain = {"L_t": r"\mathcal{L}_t", "γ_f σ_max(U)": r"\gamma_f \, \sigma_{\max}(U)"}
    text = str(mathml.typeset("<b> L_t and L_tail; γ_f σ_max(U) < 1.", plain))
    assert text.startswith("&lt;b&gt; <math") and "L_tail" in text and "&lt; 1." in text
    assert text.count("<math") == 2 and "σ_max" not in text and " L_t " not in text


def test_the_page_names_no_seed_post_and_writes_no_raw_subscripts(tables, config):
    for loss_at in ("last", "every"):
        html = page(tables, {**config, "loss_at": loss_at})
        body = re.sub(r"<pre.*?</pre>|<math.*?</math>", " ", html, flags=re.S)  # the config text is the user's
        text = re.sub(r"<[^>]+>", " ", body)
        assert not re.search(r"\bthe seed\b|\bseed's", text, re.I)
        assert re.findall(r"(?<!\w)(?:h_k|c_k|L_t|σ_max|γ_f|G_τ|ρc)(?!\w)", text) == []


def test_read_table_names_missing_columns_and_files(tmp_path, tables):
    schema = render.schema("gradients")
    path = tmp_path / "gradients.parquet"
    tables.gradients.drop(columns=["gamma_step"]).to_parquet(path)
    with pytest.raises(SystemExit, match="lacks the column.*gamma_step.*moved to .*corrupt"):
        render.read_table(path, schema)
    with pytest.raises(SystemExit, match="run snakemake to produce it"):
        render.read_table(tmp_path / "missing.parquet", schema)
    tables.gradients.iloc[:0].to_parquet(path)
    with pytest.raises(SystemExit, match="has no rows"):
        render.read_table(path, schema)


def test_a_truncated_table_is_named_and_set_aside(tmp_path, tables):
    path = tmp_path / "gradients.parquet"
    tables.gradients.to_parquet(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(SystemExit, match=f"{path} could not be read"):
        render.read_table(path, render.schema("gradients"))
    assert (tmp_path / "gradients.parquet.corrupt").exists() and not path.exists()


def test_cli_writes_the_page_and_the_svgs(tmp_path, tables, config):
    given = {name: table for name, table in zip(report_inputs.INPUTS, tables) if table is not None}
    for name, table in given.items():
        table.to_parquet(tmp_path / f"{name}.parquet")
    bench = tmp_path / "benchmarks" / "experiment"
    bench.mkdir(parents=True)
    pd.DataFrame({"s": [1.5], "h:m:s": ["0:00:01"]}).to_csv(bench / "one.tsv", sep="\t", index=False)
    out = tmp_path / "out" / "report.html"
    cli.main(
        [
            *[f for name in given for f in (report_inputs.flag(name), str(tmp_path / f"{name}.parquet"))],
            "--config-json",
            json.dumps(config),
            "--benchmarks",
            str(bench / "one.tsv"),
            "--benchmark-root",
            str(tmp_path / "benchmarks"),
            "--report-dir",
            str(ROOT / "report"),
            "--figures",
            str(tmp_path / "figs"),
            "--output",
            str(out),
            "--repo",
            str(ROOT),
        ]
    )
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [f"figure_{k}.svg" for k in FIGURES]
    assert "<td>experiment</td>" in out.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*(f"{n}.parquet" for n in given), "benchmarks", "figs", "out"]
    )
    with pytest.raises(SystemExit, match="--config-json is not valid JSON"):
        cli.main(
            [
                *[f for name in given for f in (report_inputs.flag(name), "x")],
                "--config-json",
                "{",
                "--report-dir",
                "r",
                "--figures",
                "f",
                "--output",
                "o",
            ]
        )


def test_run_times_per_rule_and_bad_files(tmp_path):
    for rule, name, seconds in [
        ("experiment", "a/x.tsv", 2.0),
        ("experiment", "b.tsv", 3.0),
        ("", "spectrum.tsv", 0.5),
    ]:
        path = tmp_path / rule / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"s": [seconds], "max_rss": [1.0]}).to_csv(path, sep="\t", index=False)
    files = sorted(tmp_path.rglob("*.tsv"))
    times = provenance.run_times(files, tmp_path).set_index("rule")
    assert times.loc["experiment"].tolist() == [2, 5.0, 3.0]
    assert times.loc["spectrum", "total_s"] == 0.5
    bad = tmp_path / "bad.tsv"
    bad.write_text("nothing\n1\n")
    with pytest.raises(SystemExit, match="bad.tsv could not be read .*not a Snakemake benchmark file.*moved to"):
        provenance.run_times([bad], tmp_path)


def test_an_empty_benchmark_file_is_named_and_moved_aside(tmp_path):
    # Issue 17, item 5: a 0-byte benchmark file ended in pandas' EmptyDataError, naming no file, at every run.
    empty = tmp_path / "experiment" / "rnn" / "T5.tsv"
    empty.parent.mkdir(parents=True)
    empty.touch()
    with pytest.raises(SystemExit, match=f"{empty} could not be read .* moved to {empty}.corrupt; run snakemake again"):
        provenance.run_times([empty], tmp_path)
    assert not empty.exists() and empty.with_name("T5.tsv.corrupt").exists()


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


def test_figures_drawn_by_two_processes_are_the_same_bytes(tables, config):
    assert render.make_figures(tables, config, workers=2) == render.make_figures(tables, config)

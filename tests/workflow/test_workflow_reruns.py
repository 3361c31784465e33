"""Reruns do the least correct work: what `snakemake -n` plans after each kind of edit.

Every case starts from a copy of the finished baseline run (4 jobs: one per cell and length, each
computing all its radii and gate biases) and asserts the number of jobs planned per rule.
"""

import copy
import os
import pathlib
import re

import pytest
from workflow_helpers import TINY, planned, write_config

pytestmark = pytest.mark.workflow

ALL_JOBS, LSTM_JOBS, RNN_JOBS = 4, 2, 2


def _edit_config(path, **changes):
    config = copy.deepcopy(TINY)
    for key, value in changes.items():
        (config["grid"] if key in config["grid"] else config)[key] = value
    write_config(path, config)


def _append(path: pathlib.Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def _pipeline(plan):
    """The plan for the rules that compute and collect; the report's rules follow them."""
    return {rule: plan.get(rule, 0) for rule in ("experiment", "collect")}


def test_unchanged_workflow_has_nothing_to_do(after_baseline):
    assert planned(after_baseline) == {}


def test_the_same_radius_spelled_1_0_is_the_same_point(after_baseline):
    _edit_config(after_baseline, radius=[0.9, 1.0, 1.1])
    assert planned(after_baseline) == {}


def test_adding_a_length_runs_only_its_new_jobs(after_baseline):
    _edit_config(after_baseline, seq_len=[4, 6, 8])
    assert _pipeline(planned(after_baseline)) == {"experiment": 2, "collect": 1}


def test_adding_a_radius_reruns_each_job_once_with_all_its_radii(after_baseline):
    _edit_config(after_baseline, radius=[0.9, 1, 1.1, 1.25])
    assert _pipeline(planned(after_baseline)) == {"experiment": ALL_JOBS, "collect": 1}


def test_removing_a_length_reruns_only_collect(after_baseline):
    _edit_config(after_baseline, seq_len=[4])
    assert _pipeline(planned(after_baseline)) == {"experiment": 0, "collect": 1}


def test_removing_a_radius_reruns_every_experiment_as_docs_config_says(after_baseline):
    _edit_config(after_baseline, radius=[0.9, 1])
    assert _pipeline(planned(after_baseline)) == {"experiment": ALL_JOBS, "collect": 1}


def test_removing_a_gate_bias_reruns_the_gated_jobs_only(after_baseline):
    _edit_config(after_baseline, gate_bias=[0.0])
    assert _pipeline(planned(after_baseline)) == {"experiment": LSTM_JOBS, "collect": 1}


def test_a_shared_setting_reruns_every_experiment(after_baseline):
    _edit_config(after_baseline, batch_size=3)
    assert _pipeline(planned(after_baseline)) == {"experiment": ALL_JOBS, "collect": 1}


def test_the_gate_bias_reruns_the_gated_jobs_only(after_baseline):
    _edit_config(after_baseline, gate_bias=[0.0, 1.0])
    assert _pipeline(planned(after_baseline)) == {"experiment": LSTM_JOBS, "collect": 1}


def test_the_identity_init_reruns_the_elman_jobs_only(after_baseline):
    _edit_config(after_baseline, recurrent_init=["orthogonal", "identity"])
    assert _pipeline(planned(after_baseline)) == {"experiment": RNN_JOBS, "collect": 1}


def test_a_summary_setting_reruns_only_collect(after_baseline):
    _edit_config(after_baseline, regime_tolerance=0.02)
    assert _pipeline(planned(after_baseline)) == {"experiment": 0, "collect": 1}


@pytest.mark.parametrize(
    "module", ["core/lstm.py", "core/gradients.py", "pipeline/experiment.py", "pipeline/seeding.py"]
)
def test_numerical_code_reruns_the_experiments(after_baseline, module):
    _append(after_baseline / "src/bptt" / module, "\nEDITED = True\n")
    assert _pipeline(planned(after_baseline)) == {"experiment": ALL_JOBS, "collect": 1}


def test_collect_code_reruns_only_collect(after_baseline):
    _append(after_baseline / "src/bptt/pipeline/collect.py", "\nEDITED = True\n")
    assert _pipeline(planned(after_baseline)) == {"experiment": 0, "collect": 1}


def test_a_comment_in_the_code_reruns_nothing(after_baseline):
    _append(after_baseline / "src/bptt/core/gradients.py", "\n# a remark\n")
    assert planned(after_baseline) == {}


def test_report_code_and_templates_rerun_only_the_report(after_baseline):
    package = after_baseline / "src/bptt/report"
    if not (after_baseline / "workflow/rules/report.smk").exists():
        pytest.skip("the report rules are not in this checkout")
    _append(next(iter(sorted(package.glob("*.py")))), "\nEDITED = True\n")
    template = next(p for p in sorted((after_baseline / "report").rglob("*")) if p.is_file())
    _append(template, "\n")
    plan = planned(after_baseline)
    assert _pipeline(plan) == {"experiment": 0, "collect": 0}
    assert plan.get("report") == 1


def test_reverting_an_edit_brings_back_nothing_to_be_done(after_baseline):
    edited = [
        after_baseline / "src/bptt/core/cells.py",
        after_baseline / "src/bptt/pipeline/collect.py",
        after_baseline / "config.yaml",
    ]
    originals = [p.read_text() for p in edited]
    for path in edited[:2]:
        _append(path, "\nEDITED = 1\n")
    # A key given twice is refused (issue 17), so the config's value is changed in place.
    edited[2].write_text(re.sub(r"^seeds: \d+$", "seeds: 5", originals[2], count=1, flags=re.M))
    assert edited[2].read_text() != originals[2]
    assert planned(after_baseline) != {}
    for path, text in zip(edited, originals):
        path.write_text(text)  # reverted: same content, a newer mtime
        os.utime(path)
    assert planned(after_baseline) == {}

"""The clipping study's job entry, its collected tables, its config section and its cost, on a tiny config."""

import copy
import pathlib

import numpy as np
import pandas as pd
import pytest
import yaml
from snakemake.utils import validate

from bptt.pipeline import clipping, clipping_grid, collect_clipping, configcheck, estimate, paths, tables, train
from bptt.train import tasks

ROOT = pathlib.Path(__file__).parents[2]
SCHEMA_FILE = ROOT / "workflow/schemas/config.schema.yaml"
SCHEMA = yaml.safe_load(SCHEMA_FILE.read_text())
CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text())
ARGS = (
    "--model m --clip {clip} --cell rnn --activation {activation} --recurrent-init {init} --radius {radius}"
    " --gate-bias 0 --seq-len 4 --learning-rate {lr} --steps 6 --batch-size 3 --eval-batch-size 5 --seeds 3"
    " --hidden-size 3 --perturbed-seeds {perturbed} --perturbation 1e-12"
)
DEFAULTS = {"clip": "off", "activation": "tanh", "init": "orthogonal", "radius": 1.5, "lr": "0.01 0.1", "perturbed": 2}


def _argv(tmp_path, name="record", **changes):
    return ARGS.format(**(DEFAULTS | changes)).split() + ["--output", str(tmp_path / f"{name}.npz")]


def _run(tmp_path, name="record", **changes):
    clipping.main(_argv(tmp_path, name, **changes))
    with np.load(tmp_path / f"{name}.npz") as record:
        return dict(record)


def test_record_holds_every_run_with_its_shape(tmp_path):
    record = _run(tmp_path)
    assert set(record) == set(clipping.RECORD)
    assert record["learning_rate"].tolist() == [0.01, 0.1]
    assert record["seed"].tolist() == [0, 1, 2, 0, 1] and record["perturbation"].tolist() == [0, 0, 0, 1e-12, 1e-12]
    assert record["grad_norm"].shape == record["clipped"].shape == record["train_loss"].shape == (2, 6, 5)
    assert record["initial_loss"].shape == record["final_loss"].shape == record["nonfinite_step"].shape == (2, 5)
    assert str(record["optimizer"]) == "sgd" and str(record["clip"]) == "off" and not record["clipped"].any()


def test_the_members_are_the_training_jobs_networks_and_their_perturbed_copies(tmp_path):
    record = _run(tmp_path)
    args, _ = clipping.parse_args(_argv(tmp_path))
    original = train.initial_params(args, tasks.get("adding"))
    copies = clipping.perturbed(original, 2, 1e-12)
    for name, value in copies.items():  # each entry times 1 + 1e-12 noise: zeros (the biases) stay zero
        base = original[name][:2]
        assert value == pytest.approx(base, rel=1e-11, abs=0)
        assert not (value != base)[base == 0].any() and ((value != base).any() or not base.any())
    # A perturbed copy sees its seed's batches: its first loss agrees with its original's to the perturbation.
    assert record["train_loss"][:, 0, 3:] == pytest.approx(record["train_loss"][:, 0, :2], rel=1e-9)
    assert not np.array_equal(record["train_loss"][:, 0, 3:], record["train_loss"][:, 0, :2])


def test_an_exploding_run_is_recorded_and_clipping_bounds_it(tmp_path):
    wild = {"lr": "1e100"}  # each SGD step multiplies the readout by about 1e100
    off = _run(tmp_path, "off", **wild)
    on = _run(tmp_path, "on", clip="1", **wild)
    assert (off["nonfinite_step"] >= 0).any()  # left float64, recorded rather than raised
    assert (on["nonfinite_step"] == -1).all() and on["clipped"].any()
    assert (on["grad_norm"][on["clipped"]] > 1).all() and not (on["grad_norm"][~on["clipped"]] > 1).any()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"perturbed": 4}, "--perturbed-seeds 4 exceeds --seeds 3"),
        ({"lr": "-1"}, "must be a finite number > 0, got -1"),
        ({"clip": "0"}, "must be a finite number > 0, got 0"),
        ({"init": "identity", "activation": "tanh", "radius": "nan"}, "must be a finite number > 0, got nan"),
    ],
)
def test_bad_arguments_stop_with_one_line_and_write_nothing(tmp_path, capsys, change, message):
    with pytest.raises(SystemExit) as stop:
        clipping.main(_argv(tmp_path, **change))
    assert stop.value.code == 2 and message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_collect_writes_one_row_per_run_and_the_traces(tmp_path):
    _run(tmp_path, "off", lr="0.01 1e100")
    _run(tmp_path, "on", clip="1", lr="0.01 1e100")
    out = {"clipping": tmp_path / "c.parquet", "traces": tmp_path / "t.parquet"}
    collect_clipping.main(
        ["--divergence-factor", "10", "--runs", str(tmp_path / "off.npz"), str(tmp_path / "on.npz")]
        + [f"--{k}={v}" for k, v in out.items()]
    )
    runs, traces = pd.read_parquet(out["clipping"]), pd.read_parquet(out["traces"])
    assert list(runs.columns) == tables.CLIPPING.names and list(traces.columns) == tables.CLIPPING_TRACES.names
    assert len(runs) == 2 * 2 * 5 and set(runs["clip"]) == {"off", "1"}
    assert (
        runs.loc[runs["clip"] == "1", "clip_threshold"].eq(1.0).all()
        and runs.loc[runs["clip"] == "off", "clip_threshold"].isna().all()
    )
    stopped = runs[runs["nonfinite_step"].notna()]
    assert len(stopped) and stopped["diverged"].all() and stopped["final_loss"].isna().all()
    assert (stopped["steps"] == stopped["nonfinite_step"]).all()
    # Every unperturbed run's steps, up to the one that left float64.
    unperturbed = runs[runs["perturbation"] == 0]
    assert len(traces) == int(unperturbed["steps"].sum())
    assert (
        traces.groupby(["clip", "learning_rate", "seed"])["clipped"].sum().sum() == unperturbed["clipped_steps"].sum()
    )


def test_divergence_is_leaving_float64_or_ending_far_above_the_start():
    initial = np.array([1.0, 1.0, 1.0, 2.0])
    final = np.array([9.9, 10.1, np.nan, 15.0])
    stopped = np.array([-1, -1, 3, -1])
    assert collect_clipping.diverged(initial, final, stopped, 10.0).tolist() == [False, True, True, False]


def _filled(config):
    config = configcheck.normalise(copy.deepcopy(config), SCHEMA)
    validate(config, str(SCHEMA_FILE))
    return config


def _with(**section):
    config = copy.deepcopy(CONFIG)
    config["clipping"].update(section)
    return config


def test_the_shipped_section_is_valid_and_its_jobs_and_paths():
    config = _filled(CONFIG)
    assert configcheck.problems(CONFIG, SCHEMA) == [] and clipping_grid.problems(config) == []
    jobs = clipping_grid.jobs(config["clipping"])
    assert jobs == [("rnn_tanh_rho1_5", "off"), ("rnn_tanh_rho1_5", "10"), ("irnn", "off"), ("irnn", "10")]
    assert paths.clipping_run_path(*jobs[1]) == "results/clipping/rnn_tanh_rho1_5/clip-10.npz"
    flags = clipping_grid.job_settings(config["clipping"], "irnn")
    assert flags["recurrent_init"] == "identity" and flags["learning_rate"][0] == "0.0001"
    assert flags["perturbation"] == "1e-12"


@pytest.mark.parametrize(
    ("section", "line"),
    [
        ({"clip": -1.0}, "clipping.clip: -1.0 is not allowed; it must be > 0. Allowed: the clipping threshold c"),
        (
            {"learning_rate": []},
            "clipping.learning_rate: the list is empty; give at least 1 value(s). Allowed: plain SGD",
        ),
        ({"learning_rate": [0.1, 0]}, "clipping.learning_rate[1]: 0 is not allowed; it must be > 0."),
        ({"perturbation": 0.1}, "clipping.perturbation: 0.1 is not allowed; it must be <= 1e-06."),
        ({"divergence_factor": 1}, "clipping.divergence_factor: 1 is not allowed; it must be > 1."),
        ({"seeds": 0}, "clipping.seeds: 0 is not allowed; it must be >= 1."),
        ({"models": {"Bad": {"cell": "rnn"}}}, "clipping.models: the name 'Bad' is not allowed."),
        ({"speed": 2}, "clipping: unknown key(s) speed; allowed keys: seq_len, models"),
    ],
)
def test_a_bad_value_gives_one_line_naming_key_value_and_what_is_allowed(section, line):
    found = configcheck.problems(_with(**section), SCHEMA)
    assert len(found) == 1 and found[0].startswith(line), found


def test_cross_key_problems_are_named():
    config = _filled(_with(perturbed_seeds=9, models={"bad": {"cell": "lstm", "recurrent_init": "identity"}}))
    found = clipping_grid.problems(config)
    assert found[0].startswith("clipping.models.bad: ") and "Change the value, or the cell." in found[0]
    assert found[1] == (
        "clipping.perturbed_seeds: 9 exceeds clipping.seeds 8; give at most seeds (0 for no perturbation test)."
    )


def test_planning_cost_grows_with_the_work_and_joins_the_estimate():
    config = _filled(CONFIG)
    flat = lambda h, samples, blocks, parts: {"call": 1e-6, "gradient": 1e-9 * samples * blocks}  # noqa: E731
    one = clipping_grid.job_seconds(config["clipping"], "irnn", flat)
    twice = copy.deepcopy(config)
    twice["clipping"]["learning_rate"] = twice["clipping"]["learning_rate"] * 2
    assert clipping_grid.job_seconds(twice["clipping"], "irnn", flat) == pytest.approx(2 * one)
    assert clipping_grid.seconds(config, flat) == pytest.approx(4 * one)  # four jobs of Elman cells alike
    assert estimate.estimate(config, 1)["shares"]["clipping"] > 0

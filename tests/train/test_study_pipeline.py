"""The trainability study's pipeline: its config, jobs, stacked training, records, tables and budget check."""

import copy
import dataclasses
import pathlib

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from snakemake.utils import validate

from bptt.pipeline import (
    budget_check,
    collect_trainability,
    configcheck,
    study,
    study_cost,
    study_grid,
    tables,
    trainability,
)
from bptt.train import loop, tasks

ROOT = pathlib.Path(__file__).parents[2]
SCHEMA_FILE = ROOT / "workflow/schemas/config.schema.yaml"
SCHEMA = yaml.safe_load(SCHEMA_FILE.read_text())
CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text())
TINY = [
    "--task", "adding", "--seq-len", "5", "--group", "rnn_tanh",
    "--models", "a=rnn,tanh,orthogonal,0.5,0", "b=rnn,tanh,orthogonal,1,0",
    "--learning-rates", "0.01", "0.1", "--seeds", "2", "--steps", "6", "--batch-size", "3",
    "--eval-interval", "3", "--eval-batch-size", "4", "--hidden-size", "3", "--clip", "1",
    "--solved-fraction", "0.1",
]  # fmt: skip


def _with(**study_settings):
    config = copy.deepcopy(CONFIG)
    config["trainability"].update(study_settings)
    return config


def test_the_shipped_study_is_valid_and_its_models_span_the_issues_list():
    assert configcheck.problems(CONFIG, SCHEMA) == []
    filled = configcheck.normalise(copy.deepcopy(CONFIG), SCHEMA)
    validate(filled, str(SCHEMA_FILE))
    assert configcheck.training_problems(filled, "trainability") == []
    assert configcheck.study_problems(filled) == []
    specs = CONFIG["trainability"]["models"].values()
    assert len({s["radius"] for s in specs if s["cell"] == "rnn" and s["activation"] == "tanh"}) >= 2
    assert {s["gate_bias"] for s in specs if s["cell"] == "lstm"} >= {0.0, 1.0, "chrono"}
    assert max(n for t in CONFIG["trainability"]["tasks"].values() for n in t["seq_len"]) >= 200


@pytest.mark.parametrize(
    "edit, key",
    [
        ({"learning_rates": [0.01, 0.1]}, "trainability.learning_rates"),
        ({"seeds": 3}, "trainability.seeds"),
        ({"budget_factor": 1}, "trainability.budget_factor"),
        ({"clip": -1}, "trainability.clip"),
        ({"perturbation": {"relative": 0}}, "trainability.perturbation.relative"),
    ],
)
def test_each_bad_study_setting_is_one_line_naming_key_value_and_what_is_allowed(edit, key):
    found = configcheck.problems(_with(**edit), SCHEMA)
    assert len(found) == 1 and found[0].startswith(f"{key}: ") and "Allowed:" in found[0]
    assert "\n" not in found[0]


def test_a_perturbed_rung_outside_the_ladders_is_named():
    config = configcheck.normalise(_with(perturbation={"relative": 1e-12, "seq_len": [7]}), SCHEMA)
    assert configcheck.study_problems(config) == [
        "trainability.perturbation.seq_len: 7 is not allowed. "
        "Allowed: lengths of the tasks' ladders (6, 12, 25, 50, 100, 200)."
    ]


def test_jobs_one_per_task_length_and_stack_plus_the_perturbed_rungs():
    study_config = CONFIG["trainability"]
    jobs = study_grid.jobs(study_config)
    groups = study_grid.groups(study_config)
    assert groups == ["rnn_tanh", "rnn_relu", "lstm_tanh", "gru_tanh"]
    assert len(jobs) == 2 * 6 * len(groups) + 2 * len(groups)
    settings = study_grid.job_settings(study_config, "recall", "lstm_tanh", "perturbed")
    assert settings["models"][2] == "lstm_chrono=lstm,tanh,orthogonal,1,chrono"
    assert settings["num_classes"] == 4 and settings["perturbation"] == "1e-12"
    assert study_grid.job_settings(study_config, "adding", "lstm_tanh")["perturbation"] == "0"


def test_stacked_members_with_their_own_learning_rates_train_as_each_would_alone():
    args, _, _ = trainability.parse_args([*TINY, "--output", "x"])
    record = trainability.run(args)
    assert list(record["model"]) == ["a"] * 4 + ["b"] * 4
    assert list(record["learning_rate"]) == [0.01, 0.01, 0.1, 0.1] * 2
    assert np.isfinite(record["timescale_init"]).all()
    # one member alone, with its scalar learning rate, gives the same history to the last bit
    alone, _, _ = trainability.parse_args(
        [*TINY[:7], "b=rnn,tanh,orthogonal,1,0", "--learning-rates", "0.1", *TINY[12:], "--output", "x"]
    )
    single = trainability.run(alone)
    np.testing.assert_array_equal(single["train_loss"], record["train_loss"][:, 6:])
    np.testing.assert_array_equal(single["timescale_init"], record["timescale_init"][6:])


def test_the_learning_rates_of_one_seed_start_from_one_network_and_the_perturbation_is_relative():
    args, _, _ = trainability.parse_args([*TINY, "--output", "x"])
    task = tasks.get("adding")
    _, _, params = trainability.initial_params(args, task)
    np.testing.assert_array_equal(params["weight_hh"][0], params["weight_hh"][2])  # seed 0 at both rates
    _, _, moved = trainability.initial_params(dataclasses.replace(args, perturbation=1e-12), task)
    ratio = np.abs(moved["weight_hh"] / params["weight_hh"] - 1)
    assert 0 < ratio.max() < 1e-10


def test_a_diverging_member_is_frozen_and_the_others_are_untouched():
    args, _, _ = trainability.parse_args([*TINY, "--output", "x"])
    kind, activation, params = trainability.initial_params(args, tasks.get("adding"))
    params["readout_weight"][1] = 1e300  # member 1's loss leaves float64
    rngs = [np.random.default_rng(i) for i in range(8)]
    held = [tasks.batch(tasks.get("adding"), np.random.default_rng(9), 5, 4) for _ in range(8)]
    batch = (np.stack([h[0] for h in held], axis=1), np.stack([h[1] for h in held]))
    settings = loop.Settings(6, 3, 3, "adam", np.full(8, 0.01), 1.0, engine="fast")
    history, _ = loop.train(kind, activation, params, tasks.get("adding"), 5, rngs, batch, settings)
    assert history.diverged_step[1] >= 0 and (np.delete(history.diverged_step, 1) == -1).all()
    assert np.isfinite(np.delete(history.train_loss, 1, axis=1)).all()


def _records(tmp_path):
    out = []
    for n in (3, 5):
        path = tmp_path / f"T{n}.npz"
        argv = [*TINY[:3], str(n), *TINY[4:], "--output", str(path)]
        assert trainability.main(argv) == 0
        out.append(path)
    return out


def test_collect_writes_one_row_per_run_and_a_summary_per_model(tmp_path):
    paths = _records(tmp_path)
    table, summary = tmp_path / "t.parquet", tmp_path / "s.parquet"
    collect_trainability.main(["--runs", *map(str, paths), "--table", str(table), "--summary", str(summary)])
    runs = pq.read_table(table)
    assert runs.schema.equals(tables.TRAINABILITY, check_metadata=False) and runs.num_rows == 16
    per_model = pq.read_table(summary).to_pandas()
    assert sorted(per_model["model"]) == ["a", "b"]
    assert per_model["budget_rungs_moved"].isna().all() and per_model["perturbed_runs"].isna().all()


def test_the_budget_check_reruns_the_rung_above_each_models_longest_at_its_chosen_rate(tmp_path):
    paths = _records(tmp_path)
    records = [collect_trainability.read_record(str(p)) for p in paths]
    runs = pd.concat([collect_trainability.record_rows(r, "study") for r in records])
    per_model = study.longest_solved(runs).set_index("model")
    plan = budget_check.plan(records, [3, 5])
    for model, row in per_model.iterrows():
        rung = study.next_rung(int(row["longest_solved"]), [3, 5])
        assert (rung is None) or plan[rung][model] == row["learning_rate"]


def test_longest_solved_needs_half_the_seeds_and_the_wilson_interval_is_the_textbook_one():
    table = np.array([[True, True, False], [True, False, False], [False, True, True]])  # seeds x rungs
    assert study.longest(table, np.array([10, 20, 40])) == 20
    low, high = study.wilson(np.array([0, 5]), np.array([5, 5]))
    assert low[0] == 0 and high[0] == pytest.approx(0.4345, abs=1e-4)  # 0 of 5
    assert low[1] == pytest.approx(0.5655, abs=1e-4) and high[1] == pytest.approx(1.0)


def test_the_planning_estimate_covers_every_study_job():
    tiny = copy.deepcopy(CONFIG["trainability"]) | {"steps": 1, "hidden_size": 2, "batch_size": 1}
    one = study_cost.seconds(tiny)
    assert one > 0
    assert study_cost.seconds(tiny | {"steps": 10}) == pytest.approx(10 * one, rel=1e-9)


def test_only_the_model_and_rate_pairs_that_solved_the_rung_below_climb():
    args, _, _ = trainability.parse_args([*TINY, "--output", "x"])
    previous = {  # a: seed 1 solved at 0.1; b: nothing
        "model": np.array(["a"] * 4 + ["b"] * 4),
        "learning_rate": np.array([0.01, 0.01, 0.1, 0.1] * 2),
        "stopped_step": np.array([-1, -1, -1, 3, -1, -1, -1, -1]),
    }
    climbed = trainability.climbing(args, previous)
    assert trainability.members(climbed) == [("a", 0.1, 0), ("a", 0.1, 1)]
    assert trainability.climbing(args, {trainability.SKIPPED: np.array(True)}).models == ()
    assert trainability.climbing(args, None) == args
    # a climber trains as it would in the full stack: same network, batches and held-out batch
    full, alone = trainability.run(args), trainability.run(climbed)
    np.testing.assert_array_equal(alone["train_loss"], full["train_loss"][:, 2:4])


def test_a_perturbed_job_reads_the_studys_rung_below_so_it_trains_the_same_members():
    study_config = CONFIG["trainability"]
    ladder = study_config["tasks"]["adding"]["seq_len"]
    assert study_grid.previous(study_config, "adding", ladder[0], "rnn_tanh") == []
    below = study_grid.previous(study_config, "adding", ladder[2], "rnn_tanh")
    assert below == [f"results/trainability/adding/T{ladder[1]}/rnn_tanh/study.npz"]


def test_the_chosen_rate_breaks_ties_on_the_loss_at_rungs_every_rate_trained():
    # both rates solve 2 runs; 0.1 stopped climbing after T = 4, where its loss was low: the loss
    # compared is T = 4's only, where 0.01 is lower
    rows = [("adding", "a", 0.01, 0, 4, True, 0.01), ("adding", "a", 0.01, 1, 4, True, 0.01)]
    rows += [("adding", "a", 0.01, s, 8, False, 0.5) for s in (0, 1)]
    rows += [("adding", "a", 0.1, s, 4, True, 0.02) for s in (0, 1)]
    runs = pd.DataFrame(rows, columns=["task", "model", "learning_rate", "seed", "seq_len", "solved", "final_loss"])
    assert study.chosen_rates(runs)[("adding", "a")] == 0.01

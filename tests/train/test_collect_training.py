"""collect_training: evaluation rows, the per-run summary (solved, divergence, clipping), the cliff's tables."""

import math
import pathlib

import numpy as np
import pyarrow.parquet as pq
import pytest

from bptt.pipeline import cli, collect_training, tables
from bptt.train import cliff


def _record(metric, diverged_step=(-1, -1), task="adding"):
    """A record of 2 seeds, 6 steps, evaluations at 0, 2, 4, 6; step k's grad norm is k (seed 0) or 10 k (seed 1),
    and seed 0's steps 2 and 3 were clipped."""
    metric = np.asarray(metric, dtype=float)  # (4, 2)
    steps = np.arange(1, 7)
    diverged = np.asarray(diverged_step)
    eval_step = np.array([0, 2, 4, 6])
    metric = np.where(eval_step[:, None] >= np.where(diverged >= 0, diverged, 99)[None], np.nan, metric)
    clipped = np.zeros((6, 2), dtype=bool)
    clipped[[1, 2], 0] = True  # row k-1 is step k
    record = {
        "task": np.array(task),
        "model": np.array("m"),
        "seq_len": np.array(8),
        "clip": np.array("1"),
        "cell": np.array("rnn"),
        "activation": np.array("tanh"),
        "recurrent_init": np.array("orthogonal"),
        "radius": np.array(1.0),
        "gate_bias": np.array("0"),
        "eval_step": eval_step,
        "eval_loss": metric * 2,
        "eval_metric": metric,
        "train_loss": np.ones((6, 2)),
        "grad_norm": np.stack([steps, 10 * steps], axis=1).astype(float),
        "clipped": clipped,
        "diverged_step": diverged,
        "seed": np.array([0, 1]),
    }
    return record | ({"num_classes": np.array(4)} if task == "recall" else {})


def test_each_row_carries_the_largest_norm_and_the_clipping_events_since_the_previous_evaluation():
    rows, _ = collect_training.run_tables(_record(np.full((4, 2), 0.1)), 0.1)
    seed0 = rows.filter(np.array(rows["seed"]) == 0).to_pydict()
    assert seed0["step"] == [0, 2, 4, 6]
    assert seed0["grad_norm"] == [None, 2.0, 4.0, 6.0]  # steps 1-2, 3-4, 5-6: largest of each
    assert seed0["clipped"] == [0, 1, 1, 0]  # step 2 in (0, 2], step 3 in (2, 4]
    assert rows.schema == tables.TRAINING
    assert set(rows["clip"].to_pylist()) == {1.0}


def test_solved_is_judged_at_the_end_and_steps_to_solve_from_when_it_stays_solved():
    # MSE, chance 1/6: solved means <= 1/60. Seed 0 dips below, rises, then stays; seed 1 ends above.
    metric = [[0.2, 0.2], [0.01, 0.01], [0.05, 0.01], [0.01, 0.05]]
    _, summary = collect_training.run_tables(_record(metric), 0.1)
    rows = summary.to_pylist()
    assert [r["solved"] for r in rows] == [True, False]
    assert [r["steps_to_solve"] for r in rows] == [6, None]
    assert rows[0]["final_metric"] == 0.01 and rows[0]["chance_metric"] == pytest.approx(1 / 6)
    assert [r["clipped_steps"] for r in rows] == [2, 0]
    assert [r["max_grad_norm"] for r in rows] == [6.0, 60.0]
    assert rows[0]["gate_bias"] == "none" and rows[0]["gate_bias_value"] is None  # rnn
    assert summary.schema == tables.TRAINING_SUMMARY


def test_a_run_that_meets_the_criterion_at_every_evaluation_was_solved_from_step_0():
    _, summary = collect_training.run_tables(_record(np.full((4, 2), 0.001)), 0.1)
    assert [r["steps_to_solve"] for r in summary.to_pylist()] == [0, 0]


def test_a_diverged_run_keeps_its_evaluations_before_the_divergence_and_is_never_solved():
    record = _record(np.full((4, 2), 0.001), diverged_step=(3, -1))
    record["grad_norm"][2, 0] = np.inf  # step 3's gradient left float64
    rows, summary = collect_training.run_tables(record, 0.1)
    assert [s for s, seed in zip(rows["step"].to_pylist(), rows["seed"].to_pylist()) if seed == 0] == [0, 2]
    first = summary.to_pylist()[0]
    assert first["diverged"] and first["diverged_step"] == 3 and not first["solved"]
    assert first["final_loss"] is None and first["final_metric"] is None and first["steps_to_solve"] is None
    assert first["max_grad_norm"] == math.inf
    assert summary.to_pylist()[1]["solved"]


def test_recall_is_solved_by_accuracy_against_chance_one_over_c():
    # C = 4: solved means 1 - accuracy <= 0.1 * 3/4, accuracy >= 0.925.
    _, summary = collect_training.run_tables(
        _record([[0.25, 0.25], [0.5, 0.5], [0.9, 0.9], [0.93, 0.92]], task="recall"), 0.1
    )
    assert [r["solved"] for r in summary.to_pylist()] == [True, False]
    assert summary.to_pylist()[0]["chance_loss"] == pytest.approx(math.log(4))


def test_the_cliff_tables_show_unclipped_steps_thrown_far_and_clipped_ones_bounded():
    settings = cliff.SETTINGS._replace(w=(0.0, 12.0, 7), b=(-6.0, 4.0, 5), steps=30)
    surface, paths = collect_training.cliff_tables(settings)
    assert surface.num_rows == 35 and surface.schema == tables.CLIFF_SURFACE
    assert paths.schema == tables.CLIFF_PATHS and paths.num_rows == 2 * 31 * len(settings.starts)
    table = paths.to_pandas()
    table["clip"] = table["clip"].fillna(0)
    moves = table.sort_values("step").groupby(["clip", "start"])[["w", "b"]].diff().dropna()
    length = np.hypot(moves["w"], moves["b"]).groupby(table.loc[moves.index, "clip"]).max()
    bound = settings.learning_rate * settings.clip
    assert length[settings.clip] <= bound * (1 + 1e-12)  # clipped: at most lr * c per step
    assert length[0] > 10 * bound  # unclipped: a step on the wall throws the parameters far


def test_the_cli_writes_four_tables_from_records(tmp_path):
    for name, metric in (("a", 0.001), ("b", 0.5)):
        cli.write(_record(np.full((4, 2), metric)), str(tmp_path / f"{name}.npz"))
    outputs = {k: tmp_path / f"{k}.parquet" for k in ("training", "summary", "cliff_surface", "cliff_paths")}
    argv = ["--solved-fraction", "0.1", "--runs", str(tmp_path / "a.npz"), str(tmp_path / "b.npz")]
    for key, path in outputs.items():
        argv += [f"--{key.replace('_', '-')}", str(path)]
    assert collect_training.main(argv) == 0
    assert pq.read_table(outputs["summary"])["solved"].to_pylist() == [True, True, False, False]
    assert pq.read_table(outputs["training"]).num_rows == 16


def test_a_damaged_record_is_moved_aside_with_a_message(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(SystemExit, match="moved to .*bad.npz.corrupt"):
        collect_training.read_record(str(bad))
    assert (tmp_path / "bad.npz.corrupt").exists() and not bad.exists()


def test_every_column_says_what_it_means():
    for schema in (tables.TRAINING, tables.TRAINING_SUMMARY, tables.CLIFF_SURFACE, tables.CLIFF_PATHS):
        for field in schema:
            assert field.metadata[b"description"], field.name


@pytest.mark.parametrize(
    "schema",
    [tables.TRAINING, tables.TRAINING_SUMMARY, tables.CLIFF_SURFACE, tables.CLIFF_PATHS],
    ids=["training", "summary", "cliff_surface", "cliff_paths"],
)
def test_the_docs_list_every_column_with_its_type_and_meaning(schema):
    section = (pathlib.Path(__file__).parents[2] / "docs" / "training.md").read_text()
    for field in schema:
        kind = str(field.type).replace("double", "float64")
        assert f"| `{field.name}` | {kind} | {field.metadata[b'description'].decode()} |" in section, field.name


def test_an_intact_record_for_another_run_is_named_and_set_aside(tmp_path):
    # Issue 17, item 5: a record copied or renamed from another job (here model m at T = 8, clip 1, filed
    # under model other) is intact but not the run its path names; collecting it would mislabel its rows.
    right = tmp_path / "results/training/adding/m/T8/clip-1.npz"
    wrong = tmp_path / "results/training/adding/other/T8/clip-1.npz"
    for path in (right, wrong):
        cli.write(_record(np.full((4, 2), 0.001)), str(path))
    training, _ = collect_training.collect([str(right)], 0.1)
    assert training.num_rows == 8
    with pytest.raises(
        SystemExit, match="does not match the config: it holds the run .*'model': 'm'.*'model': 'other'"
    ):
        collect_training.collect([str(right), str(wrong)], 0.1)
    assert wrong.with_name("clip-1.npz.corrupt").exists() and not wrong.exists() and right.exists()

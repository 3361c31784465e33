"""Collect the trainability study's records into two tables.

    python -m bptt.pipeline.collect_trainability --runs results/trainability/*/T*/*/*.npz \\
        --budget results/trainability/*/budget/*.npz \\
        --table results/trainability.parquet --summary results/trainability_summary.parquet

trainability: one row per run (`bptt.pipeline.tables.TRAINABILITY`): the study's, the perturbed
reruns' and the budget check's, told apart by `run`. trainability_summary: one row per task and model
(`tables.TRAINABILITY_SUMMARY`): the chosen learning rate, the longest solved length with its
bootstrap interval over seeds, the budget check's longest solved length and how many rungs it moved,
the robustness test's flips, and the median timescales. A record that cannot be read is moved aside
(`bptt.pipeline.inputs`), so the next run recomputes it.
"""

import argparse
import sys

import numpy as np
import pandas as pd
import pyarrow as pa

from bptt.pipeline import inputs, study, tables, trainability


def read_record(path: str) -> dict[str, np.ndarray]:
    """A study job's record, checked to hold every array ({} : a budget check with nothing to rerun);
    a damaged file is moved aside."""
    return inputs.read_record(
        path, lambda record: trainability.RECORD if record and trainability.SKIPPED not in record else ()
    )


def record_rows(record: dict[str, np.ndarray], run: str) -> pd.DataFrame:
    """One row per member of a record (columns of tables.TRAINABILITY)."""
    loss = record["eval_loss"]  # (E, M): NaN after a member stopped or diverged
    made = np.isfinite(loss)
    last = np.where(made.any(axis=0), len(loss) - 1 - made[::-1].argmax(axis=0), 0)
    members = np.arange(loss.shape[1])
    stopped, diverged = record["stopped_step"], record["diverged_step"]
    seq_len = record["seq_len"] if record["seq_len"].ndim else np.full(len(members), int(record["seq_len"]))
    return pd.DataFrame(
        {
            "task": str(record["task"]),
            "model": record["model"].astype(str),
            "learning_rate": record["learning_rate"],
            "seed": record["seed"].astype(np.int64),
            "seq_len": seq_len.astype(np.int64),
            "run": run,
            "steps": int(record["steps"]),
            "timescale_init": record["timescale_init"],
            "timescale_trained": record["timescale_trained"],
            "initial_loss": loss[0],
            "final_loss": np.where(made.any(axis=0), loss[last, members], np.nan),
            "final_metric": np.where(made.any(axis=0), record["eval_metric"][last, members], np.nan),
            "solved": stopped >= 0,
            "steps_to_solve": pd.array([int(s) if s >= 0 else None for s in stopped], dtype="Int64"),
            "diverged": diverged >= 0,
        }
    )


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per task and model (tables.TRAINABILITY_SUMMARY) from every run."""
    main = runs[runs["run"] == "study"]
    out = study.longest_solved(main)
    chosen = study.at_chosen(main)
    medians = chosen.groupby(["task", "model"])[["timescale_init", "timescale_trained"]].median()
    out = out.join(medians, on=["task", "model"])
    budget = runs[runs["run"] == "budget"]
    rerun = budget.groupby(["task", "model", "seq_len"])["solved"].mean() >= 0.5  # at the rung above
    moved = [
        pd.NA if (task, model) not in rerun.droplevel(2).index else int(rerun[(task, model)].any())
        for task, model in out[["task", "model"]].itertuples(index=False)
    ]
    out["budget_rungs_moved"] = pd.array(moved, dtype="Int64")
    perturbed = runs[runs["run"] == "perturbed"]
    keys = ["task", "model", "learning_rate", "seed", "seq_len"]
    pairs = main.merge(perturbed, on=keys, suffixes=("", "_perturbed"))
    flips = pairs.assign(flip=pairs["solved"] != pairs["solved_perturbed"]).groupby(["task", "model"])["flip"]
    out = out.join(flips.sum().rename("perturbed_flips"), on=["task", "model"])
    out = out.join(flips.size().rename("perturbed_runs"), on=["task", "model"])
    for name in ("perturbed_flips", "perturbed_runs"):
        out[name] = out[name].astype("Int64")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bptt.pipeline.collect_trainability")
    parser.add_argument("--runs", nargs="+", required=True, help="the study's and the perturbed runs' records")
    parser.add_argument("--budget", nargs="*", default=[], help="the budget check's records")
    parser.add_argument("--table", required=True)
    parser.add_argument("--summary", required=True)
    args = parser.parse_args(argv)
    frames = []
    for path in args.runs + args.budget:
        record = read_record(path)
        if not record or trainability.SKIPPED in record:
            continue
        run = "budget" if path in args.budget else ("perturbed" if float(record["perturbation"]) > 0 else "study")
        frames.append(record_rows(record, run))
    runs = pd.concat(frames, ignore_index=True)
    table = pa.Table.from_pandas(
        runs[list(tables.TRAINABILITY.names)], schema=tables.TRAINABILITY, preserve_index=False
    )
    per_model = summary(runs)
    table_summary = pa.Table.from_pandas(
        per_model[list(tables.TRAINABILITY_SUMMARY.names)], schema=tables.TRAINABILITY_SUMMARY, preserve_index=False
    )
    tables.write(table, args.table)
    tables.write(table_summary, args.summary)
    print(f"{len(runs)} runs, {int(runs['solved'].sum())} solved, {int(runs['diverged'].sum())} diverged")
    return 0


if __name__ == "__main__":
    sys.exit(main())

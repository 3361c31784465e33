"""The budget check of one task and stack: each model's rung above its longest solved length, rerun
at budget_factor times the steps, at its chosen learning rate, every seed.

    python -m bptt.pipeline.budget_check --task adding --group lstm_tanh --models ... (as the study's job)
        --ladder 25 50 100 200 --budget-factor 2 --records results/trainability/adding/T*/lstm_tanh/study.npz \\
        --output results/trainability/adding/budget/lstm_tanh.npz

The study's records give each model's chosen learning rate and longest solved length
(`bptt.pipeline.study`); the models sharing a rung train as one stack (`bptt.pipeline.trainability`),
and the stacks' members are joined into one record, written atomically. A model at the ladder's top
is not rerun: the check cannot move it within the ladder.
"""

import argparse
import dataclasses
import sys

import numpy as np
import pandas as pd

from bptt.pipeline import collect_trainability, study, trainability
from bptt.pipeline.cli import at_least, write


def plan(records: list[dict], ladder: list[int]) -> dict[int, dict[str, float]]:
    """rung -> {model: chosen learning rate} of the models to rerun there."""
    trained = [r for r in records if trainability.SKIPPED not in r]
    runs = pd.concat([collect_trainability.record_rows(r, "study") for r in trained], ignore_index=True)
    per_model = study.longest_solved(runs, ladder)
    rungs: dict[int, dict[str, float]] = {}
    for model, rate, length in per_model[["model", "learning_rate", "longest_solved"]].itertuples(index=False):
        rung = study.next_rung(int(length), ladder)
        if rung is not None:
            rungs.setdefault(rung, {})[model] = float(rate)
    return rungs


def join(records: list[dict]) -> dict[str, np.ndarray]:
    """One record of several stacks' (same steps and evaluations): members side by side, seq_len per member."""
    out = {k: v for k, v in records[0].items() if (np.ndim(v) == 0 and k != "seq_len") or k == "eval_step"}
    out["seq_len"] = np.concatenate([np.full(len(r["seed"]), int(r["seq_len"])) for r in records])
    for key, value in records[0].items():
        if key in out or key == "seq_len":
            continue
        axis = 0 if np.ndim(value) == 1 else 1  # (M,) per member, or (E or N, M)
        out[key] = np.concatenate([r[key] for r in records], axis=axis)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bptt.pipeline.budget_check", add_help=False)
    parser.add_argument("--ladder", type=at_least(1), nargs="+", required=True)
    parser.add_argument("--budget-factor", type=at_least(2), required=True)
    parser.add_argument("--records", nargs="+", required=True, help="the study's records of this task and stack")
    own, rest = parser.parse_known_args(argv)
    args, output, _ = trainability.parse_args(rest + ["--seq-len", str(own.ladder[0])])
    records = [collect_trainability.read_record(p) for p in own.records]
    done = []
    for rung, rates in sorted(plan(records, own.ladder).items()):
        models = [(name, spec) for name, spec in args.models if name in rates]
        sub = dataclasses.replace(
            args,
            seq_len=rung,
            models=tuple(models),
            rates=tuple((m, (r,)) for m, r in rates.items()),
            steps=args.steps * own.budget_factor,
        )
        done.append(trainability.run(sub))
        solved = int((done[-1]["stopped_step"] >= 0).sum())
        print(f"T={rung}: {', '.join(rates)} rerun at {sub.steps} steps; {solved} solved")
    if not done:  # every model at the ladder's top: an empty record says so
        print("no model to rerun: each solved the ladder's longest rung")
        write({}, output)
        return 0
    write(join(done), output)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the trainability study's runs say, per task and model: the chosen learning rate, the longest
length solved, and its interval over seeds. pandas and numpy only; used by the budget check (which
reruns each model's boundary) and by `bptt.pipeline.collect_trainability`.

runs: a DataFrame with a row per run and columns task, model, learning_rate, seed, seq_len, solved,
final_loss (the study's runs only, run == "study").

- Chosen learning rate, per task and model: the one with the most solved runs over the whole ladder
  (a rate that stopped climbing counts as not solving the rungs above), ties broken by the lower mean
  final held-out loss (the score every run is judged by) over the rungs where every rate trained, ties
  of that by the smaller rate. The same sweep for every model; never one model tuned alone.
- A model solves a length when at least half of its seeds at the chosen rate solved it; its longest
  solved length is the longest such rung (0: none).
- Interval: the 2.5 and 97.5 percentiles of the longest solved length over BOOTSTRAP resamples of
  the seeds (the same resampled seeds at every rung, as one seed is one network trained per rung).
"""

import numpy as np
import pandas as pd

BOOTSTRAP = 2000


def chosen_rates(runs: pd.DataFrame) -> pd.Series:
    """(task, model) -> the chosen learning rate."""
    keys = ["task", "model", "learning_rate"]
    rates = runs.groupby(["task", "model"])["learning_rate"].transform("nunique")
    shared = runs[runs.groupby(["task", "model", "seq_len"])["learning_rate"].transform("nunique") == rates]
    score = pd.concat(
        {"solved": runs.groupby(keys)["solved"].sum(), "loss": shared.groupby(keys)["final_loss"].mean()}, axis=1
    )
    score = score.reset_index().sort_values(
        ["task", "model", "solved", "loss", "learning_rate"], ascending=[True, True, False, True, True]
    )
    return score.groupby(["task", "model"])["learning_rate"].first()


def at_chosen(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs at each (task, model)'s chosen learning rate."""
    rates = chosen_rates(runs).rename("chosen").reset_index()
    merged = runs.merge(rates, on=["task", "model"])
    return merged[merged["learning_rate"] == merged["chosen"]].drop(columns="chosen")


def longest(table: np.ndarray, ladder: np.ndarray) -> np.ndarray:
    """Longest rung solved by at least half of the seeds: table (..., S, L) bool -> (...,), 0 if none."""
    solves = table.mean(axis=-2) >= 0.5
    return np.where(solves.any(axis=-1), ladder[np.where(solves, np.arange(len(ladder)), -1).max(axis=-1)], 0)


def solved_table(runs: pd.DataFrame, ladder=None) -> tuple[np.ndarray, np.ndarray]:
    """One (task, model)'s chosen runs as (seeds S, rungs L) bool, and the ladder (L,): the given
    one, or the rungs the runs reach. A rung without runs (the model was not trained there, having
    solved no run of the rung below) counts as not solved."""
    table = runs.pivot_table(index="seed", columns="seq_len", values="solved", aggfunc="first")
    table = table.reindex(columns=sorted(ladder if ladder is not None else table.columns))
    return table.fillna(False).to_numpy(dtype=bool), table.columns.to_numpy()


def longest_solved(runs: pd.DataFrame, ladder=None, rng: np.random.Generator | None = None) -> pd.DataFrame:
    """Per (task, model): learning_rate (chosen), longest_solved, longest_solved_low/high (bootstrap).
    ladder: the rungs of every task (default: each task's rungs that some run reached)."""
    rng = rng or np.random.default_rng(0)
    ladders = runs.groupby("task")["seq_len"].unique()
    rates = chosen_rates(runs)
    rows = []
    for (task, model), group in at_chosen(runs).groupby(["task", "model"]):
        table, rungs = solved_table(group, ladder if ladder is not None else ladders[task])
        picks = rng.integers(0, len(table), (BOOTSTRAP, len(table)))
        boot = longest(table[picks], rungs)
        rows.append(
            {
                "task": task,
                "model": model,
                "learning_rate": rates[(task, model)],
                "longest_solved": int(longest(table, rungs)),
                "longest_solved_low": float(np.percentile(boot, 2.5)),
                "longest_solved_high": float(np.percentile(boot, 97.5)),
            }
        )
    return pd.DataFrame(rows)


def next_rung(longest_length: int, ladder: list[int]) -> int | None:
    """The rung a budget check reruns: the one above the longest solved (the first if none solved);
    None at the top of the ladder. The longest solved rung itself needs no rerun: with the same seed,
    batches and held-out batch, its runs follow the same path and solve at the same step."""
    above = [n for n in ladder if n > longest_length]
    return min(above) if above else None


def wilson(successes: np.ndarray, n: np.ndarray, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score 95 % interval (low, high) of a success rate successes / n."""
    successes, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half

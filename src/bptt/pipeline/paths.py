"""Where the pipeline keeps its results, logs and timings: every path in one place.

Used by the Snakefile's rules (outputs, logs, benchmarks, wildcard constraints), by
`bptt.pipeline.collect` (which reads the runs back) and by the tests. Standard library only.
"""

import re

# One job's record: all points and seeds of one cell, activation and sequence length.
RUN = "results/runs/{cell}/{activation}/T{seq_len}.npz"
RUN_LOG = "logs/experiment/{cell}/{activation}/T{seq_len}.log"
RUN_BENCHMARK = "benchmarks/experiment/{cell}/{activation}/T{seq_len}.tsv"
GRADIENTS = "results/gradients.parquet"
SUMMARY = "results/summary.parquet"
EIGENVALUES = "results/eigenvalues.parquet"
THEORY = "results/theory.parquet"
EVERY_STEP_PAIRS = "results/every_step_pairs.parquet"
EVERY_STEP_LAGS = "results/every_step_lags.parquet"
REPORT = "results/report.html"
FIGURES = "results/figures"
# The log and the timing of each rule that runs once per run.
COLLECT_LOG = "logs/collect.log"
COLLECT_BENCHMARK = "benchmarks/collect.tsv"
SPECTRUM_LOG = "logs/spectrum.log"
SPECTRUM_BENCHMARK = "benchmarks/spectrum.tsv"
THEORY_LOG = "logs/theory.log"
THEORY_BENCHMARK = "benchmarks/theory.tsv"
EVERY_STEP_LOG = "logs/every_step.log"
EVERY_STEP_BENCHMARK = "benchmarks/every_step.tsv"
REPORT_LOG = "logs/report.log"
REPORT_BENCHMARK = "benchmarks/report.tsv"

# Canonical spellings only ("200", not "0200"): Snakemake uses it as a wildcard constraint, so
# a non-canonical path matches no rule instead of silently becoming a second copy of a job.
SEQ_LEN_PATTERN = r"[1-9][0-9]*"


def run_path(cell: str, activation: str, seq_len: int) -> str:
    """Path of one job's record, relative to the working directory."""
    return RUN.format(cell=cell, activation=activation, seq_len=int(seq_len))


def run_benchmark(cell: str, activation: str, seq_len: int) -> str:
    return RUN_BENCHMARK.format(cell=cell, activation=activation, seq_len=int(seq_len))


# Training experiments (bptt.train, rule train): one job per task, model, sequence length and
# clip setting ("off" or the threshold spelled canonically), all seeds in one record.
TRAIN_RUN = "results/training/{task}/{model}/T{seq_len}/clip-{clip}.npz"
TRAIN_LOG = "logs/train/{task}/{model}/T{seq_len}/clip-{clip}.log"
TRAIN_BENCHMARK = "benchmarks/train/{task}/{model}/T{seq_len}/clip-{clip}.tsv"
TRAINING = "results/training.parquet"
TRAINING_SUMMARY = "results/training_summary.parquet"
TRAINING_CLIFF_SURFACE = "results/training_cliff_surface.parquet"
TRAINING_CLIFF_PATHS = "results/training_cliff_paths.parquet"
TRAINING_COLLECT_LOG = "logs/collect_training.log"
TRAINING_COLLECT_BENCHMARK = "benchmarks/collect_training.tsv"
MODEL_PATTERN = r"[a-z][a-z0-9_]*"
# "off", or a threshold as bptt.pipeline.grid.canonical_number spells it (Python's shortest float
# repr without ".0": 1, 0.5, 1e-05, 2.5e+20), so that 1 and 1.0 name one file, as SEQ_LEN_PATTERN does.
CLIP_PATTERN = r"off|[1-9][0-9]*|(0|[1-9][0-9]*)\.[0-9]*[1-9]|[1-9](\.[0-9]*[1-9])?e[+-][0-9]+"


def train_run_path(task: str, model: str, seq_len: int, clip: str) -> str:
    """Path of one training job's record; clip as `bptt.pipeline.training_grid.clip_text` spells it."""
    return TRAIN_RUN.format(task=task, model=model, seq_len=int(seq_len), clip=clip)


def train_run_keys(path: str) -> dict[str, str] | None:
    """{task, model, seq_len, clip} as a training record's path (relative, or ending so) spells them, or
    None for another path."""
    pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(TRAIN_RUN))
    found = re.search(f"(?:^|/){pattern}$", str(path))
    return found.groupdict() if found else None


def train_benchmark(task: str, model: str, seq_len: int, clip: str) -> str:
    return TRAIN_BENCHMARK.format(task=task, model=model, seq_len=int(seq_len), clip=clip)


# The clipping study (bptt.pipeline.clipping, rule clip_run): one job per model and clip setting ("off" or
# the threshold c spelled canonically), every learning rate and seed in one record.
CLIPPING_RUN = "results/clipping/{model}/clip-{clip}.npz"
CLIPPING_LOG = "logs/clipping/{model}/clip-{clip}.log"
CLIPPING_BENCHMARK = "benchmarks/clipping/{model}/clip-{clip}.tsv"
CLIPPING = "results/clipping.parquet"
CLIPPING_TRACES = "results/clipping_traces.parquet"
CLIPPING_COLLECT_LOG = "logs/collect_clipping.log"
CLIPPING_COLLECT_BENCHMARK = "benchmarks/collect_clipping.tsv"


def clipping_run_path(model: str, clip: str) -> str:
    """Path of one clipping job's record; clip as `bptt.pipeline.training_grid.clip_text` spells it."""
    return CLIPPING_RUN.format(model=model, clip=clip)


def clipping_benchmark(model: str, clip: str) -> str:
    return CLIPPING_BENCHMARK.format(model=model, clip=clip)


# The audit of the user's own networks (bptt.audit, rule audit), when config.yaml has an audit: section.
AUDIT = "results/audit.parquet"
AUDIT_LOG = "logs/audit.log"
AUDIT_BENCHMARK = "benchmarks/audit.tsv"


def audit_inputs(settings: dict | None) -> list[str]:
    """Every file the audit section names (weights, inputs, targets, a head's second file): rule audit's inputs."""
    files = []
    for model in (settings or {}).get("models") or []:
        head = model.get("head") or {}
        files += [model["weights"], model["inputs"]] + [head[k] for k in ("weights", "targets") if k in head]
    return sorted(set(files))


# The trainability study (rules in workflow/rules/trainability.smk): one job per task, length and
# stack (cell kind and activation, "lstm_tanh"); run "study", "perturbed" (the robustness test) or
# "budget" (the budget check: one job per task and stack, at each model's boundary, more steps).
STUDY_RUN = "results/trainability/{task}/T{seq_len}/{group}/{run}.npz"
STUDY_LOG = "logs/trainability/{task}/T{seq_len}/{group}/{run}.log"
STUDY_BENCHMARK = "benchmarks/trainability/{task}/T{seq_len}/{group}/{run}.tsv"
BUDGET_RUN = "results/trainability/{task}/budget/{group}.npz"
BUDGET_LOG = "logs/trainability/{task}/budget/{group}.log"
BUDGET_BENCHMARK = "benchmarks/trainability/{task}/budget/{group}.tsv"
TRAINABILITY = "results/trainability.parquet"
TRAINABILITY_SUMMARY = "results/trainability_summary.parquet"
TRAINABILITY_COLLECT_LOG = "logs/collect_trainability.log"
TRAINABILITY_COLLECT_BENCHMARK = "benchmarks/collect_trainability.tsv"
GROUP_PATTERN = r"[a-z]+_[a-z]+"
STUDY_RUNS = ("study", "perturbed")


def study_path(task: str, seq_len: int, group: str, run: str) -> str:
    return STUDY_RUN.format(task=task, seq_len=int(seq_len), group=group, run=run)


def budget_path(task: str, group: str) -> str:
    return BUDGET_RUN.format(task=task, group=group)

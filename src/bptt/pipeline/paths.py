"""Where the pipeline keeps its results, logs and timings: every path in one place.

Used by the Snakefile's rules (outputs, logs, benchmarks, wildcard constraints), by
`bptt.pipeline.collect` (which reads the runs back) and by the tests. Standard library only.
"""

# One job's record: all points and seeds of one cell, activation and sequence length.
RUN = "results/runs/{cell}/{activation}/T{seq_len}.npz"
RUN_LOG = "logs/experiment/{cell}/{activation}/T{seq_len}.log"
RUN_BENCHMARK = "benchmarks/experiment/{cell}/{activation}/T{seq_len}.tsv"
GRADIENTS = "results/gradients.parquet"
SUMMARY = "results/summary.parquet"
EIGENVALUES = "results/eigenvalues.parquet"
THEORY = "results/theory.parquet"
REPORT = "results/report.html"
FIGURES = "results/figures"
BENCHMARKS = "benchmarks"

# Canonical spellings only ("200", not "0200"): Snakemake uses it as a wildcard constraint, so
# a non-canonical path matches no rule instead of silently becoming a second copy of a job.
SEQ_LEN_PATTERN = r"[1-9][0-9]*"


def run_path(cell: str, activation: str, seq_len: int) -> str:
    """Path of one job's record, relative to the working directory."""
    return RUN.format(cell=cell, activation=activation, seq_len=int(seq_len))


def run_benchmark(cell: str, activation: str, seq_len: int) -> str:
    return RUN_BENCHMARK.format(cell=cell, activation=activation, seq_len=int(seq_len))

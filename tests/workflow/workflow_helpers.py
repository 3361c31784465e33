"""Helpers to run the real workflow through Snakemake's command line, in temporary copies.

Each copy holds the Snakefile, workflow/, profiles/, report/ and src/ of this
checkout and a tiny config; PYTHONPATH points at the copy's src/, so editing
code in a copy changes what its jobs run and what its code hashes see. One
baseline run per session is shared: tests copy it (results, logs and
.snakemake metadata, mtimes kept) and change the copy.
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).parents[2]
SNAKEMAKE = pathlib.Path(sys.executable).parent / "snakemake"
COPIED = ("Snakefile", "config.yaml", "workflow", "profiles", "report", "src")

# 2 cells x 1 activation x 2 lengths = 4 jobs of a few ms each; 3 radii, and 2 gate biases for the
# LSTM: 3 + 6 points per length.
TINY = {
    "grid": {
        "cell": ["rnn", "lstm"],
        "activation": ["tanh"],
        "radius": [0.9, 1, 1.1],
        "seq_len": [4, 6],
        "recurrent_init": ["orthogonal"],
        "gate_bias": [0.0, 0.5],
    },
    "seeds": 2,
    "batch_size": 2,
    "hidden_size": 3,
    "input_size": 2,
    "input_scale": 1.0,
    "loss": "cross_entropy",
    "num_classes": 3,
    "jacobian_batch": 1,
    "regime_tolerance": 0.01,
    # Training as small as it goes (2 tasks x 1 length x 2 models x 2 clip settings = 8 jobs of a
    # fraction of a second each), so that the report's training section is drawn in seconds.
    "training": {
        "tasks": {"adding": {"seq_len": [4]}, "recall": {"seq_len": [3], "num_classes": 3}},
        "models": {"tanh": {"cell": "rnn"}, "lstm_b1": {"cell": "lstm", "gate_bias": 1.0}},
        "clip": ["off", 1.0],
        "steps": 4,
        "batch_size": 4,
        "eval_interval": 2,
        "eval_batch_size": 8,
        "seeds": 2,
        "hidden_size": 3,
    },
    # The clipping study as small as it goes (1 model x 2 clip settings = 2 jobs of a fraction of a
    # second); at a learning rate of 1e100 the unclipped runs leave float64 and the clipped ones do not.
    "clipping": {
        "seq_len": 4,
        "models": {"tanh": {"cell": "rnn", "radius": 1.5}},
        "learning_rate": [0.01, 1.0e100],
        "clip": 1.0,
        "steps": 4,
        "batch_size": 2,
        "eval_batch_size": 4,
        "seeds": 2,
        "hidden_size": 3,
        "perturbed_seeds": 1,
    },
    # The trainability study as small as the schema allows (5 seeds, 3 learning rates): 2 tasks x 2
    # lengths x 2 stacks, the perturbed first rung and the budget checks, a second or so each.
    "trainability": {
        "tasks": {"adding": {"seq_len": [3, 4]}, "recall": {"seq_len": [3, 4], "num_classes": 2}},
        "models": {"tanh": {"cell": "rnn"}, "lstm_b1": {"cell": "lstm", "gate_bias": 1.0}},
        "learning_rates": [0.01, 0.03, 0.1],
        "seeds": 5,
        "steps": 4,
        "batch_size": 4,
        "eval_interval": 2,
        "eval_batch_size": 8,
        "hidden_size": 3,
        "perturbation": {"relative": 1.0e-12, "seq_len": [3]},
    },
}
COLLECTED = ("results/gradients.parquet", "results/summary.parquet")
# Issue 22's grid of a user who has outgrown a laptop: 6 jobs of 7-45 s, the Elman RNN's cheap beside a
# SLURM submission, the gated cells' not (the cluster benchmark and the resource tests).
REALISTIC = {
    "grid": {
        "cell": ["rnn", "lstm", "gru"],
        "activation": ["tanh", "relu"],
        "radius": [0.9, 1.0, 1.1],
        "seq_len": [1500],
        "recurrent_init": ["orthogonal"],
        "gate_bias": [0.0],
    },
    "batch_size": 16,
    "hidden_size": 256,
    "jacobian_batch": 0,
}


def local_env(path: pathlib.Path) -> dict[str, str]:
    """Environment for a local Snakemake run of the copy at `path`.

    SLURM_CONF=/dev/null: the SLURM executor plugin, imported by every
    Snakemake start, runs `scontrol show config`; where SLURM's client is
    installed but no controller runs (this machine between cluster tests), that
    waits out MessageTimeout (~9 s) each time. An empty config fails at once.
    """
    return {**os.environ, "PYTHONPATH": str(path / "src"), "SLURM_CONF": os.devnull}


def cluster_is_up() -> bool:
    """Is a SLURM cluster answering here with a node that can take jobs (scripts/slurm-cluster up)?"""
    if shutil.which("sinfo") is None:
        return False
    states = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=20)
    return states.returncode == 0 and bool({"idle", "mix", "alloc"} & set(states.stdout.split()))


def pristine_copy(path: pathlib.Path, config: dict = TINY) -> pathlib.Path:
    """A copy of the workflow at `path` with `config` and nothing run."""
    path.mkdir(parents=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, path / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif source.exists():
            shutil.copy2(source, path / name)
    write_config(path, config)
    return path


def write_config(path: pathlib.Path, config: dict) -> None:
    (path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def snakemake(path: pathlib.Path, *args: str, check: bool = True, **popen) -> subprocess.CompletedProcess:
    """Run Snakemake (with the copy's profile) in `path`; output captured as text."""
    result = subprocess.run(
        [str(SNAKEMAKE), *args], cwd=path, env=local_env(path), capture_output=True, text=True, timeout=300, **popen
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def planned(path: pathlib.Path) -> dict[str, int]:
    """Jobs per rule that `snakemake -n` plans in `path` ({} for "Nothing to be done")."""
    result = snakemake(path, "-n")
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:")[1].split("total")[0]
    return {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)\s*$", table, flags=re.M)}

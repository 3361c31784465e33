"""The trainability study's jobs (config section `trainability:`) and what each job takes. Standard library only.

A stack is every model of one cell kind and activation ("lstm_tanh"); a job trains one stack at one
(task, T), all its models, learning rates and seeds (`bptt.pipeline.trainability`). Runs: "study"
(every rung of the ladder), "perturbed" (the rungs of perturbation.seq_len, initial weights moved by
perturbation.relative) and, one job per task and stack, "budget" (each model's boundary rerun at
budget_factor times the steps, `bptt.pipeline.budget_check`). A study or perturbed job above the first
rung reads the study's record of the rung below (`previous`): only (model, learning rate) pairs with a
solved run there climb, so a perturbed job trains exactly the study job's members.
"""

from bptt.pipeline import paths
from bptt.pipeline.grid import canonical_number, gate_bias_text

MODEL_FIELDS = ("cell", "activation", "recurrent_init", "radius", "gate_bias")


def group_of(spec: dict) -> str:
    """The stack a model joins: its cell kind and activation (a stack shares both)."""
    return f"{spec['cell']}_{spec['activation']}"


def groups(study: dict) -> list[str]:
    """The stacks of a study's models, in config order."""
    return list(dict.fromkeys(group_of(spec) for spec in study["models"].values()))


def jobs(study: dict) -> list[tuple[str, int, str, str]]:
    """(task, T, group, run) of every training job, in config order."""
    main = [(t, int(n), g, "study") for t, s in study["tasks"].items() for n in s["seq_len"] for g in groups(study)]
    rungs = {int(n) for n in study["perturbation"]["seq_len"]}
    perturbed = [(t, n, g, "perturbed") for t, n, g, _ in main if n in rungs]
    return main + perturbed


def previous(study: dict, task: str, seq_len: int, group: str) -> list[str]:
    """The record a study or perturbed job reads: the study's at the rung below, of the same stack (none
    for the first rung)."""
    below = [n for n in study["tasks"][task]["seq_len"] if n < seq_len]
    return [paths.study_path(task, max(below), group, "study")] if below else []


def budget_jobs(study: dict) -> list[tuple[str, str]]:
    """(task, group) of every budget-check job."""
    return [(t, g) for t in study["tasks"] for g in groups(study)]


def model_text(name: str, spec: dict) -> str:
    """name=cell,activation,recurrent_init,radius,gate_bias, as `bptt.pipeline.trainability` reads it."""
    values = [spec["cell"], spec["activation"], spec["recurrent_init"], canonical_number(spec["radius"])]
    return f"{name}={','.join(values + [gate_bias_text(spec['gate_bias'])])}"


def job_settings(study: dict, task: str, group: str, run: str = "study") -> dict:
    """The settings of one job beyond its wildcards (task, seq_len, group), for `cli(...)`."""
    models = [model_text(n, s) for n, s in study["models"].items() if group_of(s) == group]
    extra = {k: v for k, v in study["tasks"][task].items() if k != "seq_len"}  # recall's num_classes
    keys = ("seeds", "steps", "batch_size", "eval_interval", "eval_batch_size", "hidden_size", "solved_fraction")
    return {
        "models": models,
        **extra,
        "learning_rates": [canonical_number(r) for r in study["learning_rates"]],
        **{k: study[k] for k in keys},
        **({} if study["clip"] == "off" else {"clip": canonical_number(study["clip"])}),
        "perturbation": canonical_number(study["perturbation"]["relative"]) if run == "perturbed" else "0",
    }


def budget_settings(study: dict, task: str, group: str) -> dict:
    """A budget-check job's settings: the study's, its ladder, and the factor on the steps."""
    return job_settings(study, task, group) | {
        "ladder": [int(n) for n in study["tasks"][task]["seq_len"]],
        "budget_factor": study["budget_factor"],
    }

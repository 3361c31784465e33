"""The training grid of a config's `training:` section: its jobs, and what each job takes. Standard library only.

A job is one (task, model, seq_len, clip); it trains every seed side by side (`bptt.train.loop`).
Jobs run in config order: tasks, then their lengths, then models, then clip settings. A job's
settings hold only what applies to it (its own model's entry, its task's own settings, the
chosen optimiser's learning rate), so an edit reruns the jobs it concerns and no others.
"""

from bptt.pipeline.grid import canonical_number, gate_bias_text

OFF = "off"


def clip_text(value) -> str:
    """A clip setting as paths and the command line name it: "off", or the threshold canonically ("1")."""
    return OFF if value == OFF else canonical_number(value)


def jobs(training: dict) -> list[tuple[str, str, int, str]]:
    """(task, model, seq_len, clip text) of every job of a training section, in config order."""
    return [
        (task, model, int(seq_len), clip_text(clip))
        for task, settings in training["tasks"].items()
        for seq_len in settings["seq_len"]
        for model in training["models"]
        for clip in training["clip"]
    ]


def model_settings(spec: dict) -> dict:
    """A named network's settings (cell, activation, recurrent_init, radius, gate_bias) as its job's
    command line spells them, for `cli(...)`."""
    return {
        "cell": spec["cell"],
        "activation": spec["activation"],
        "recurrent_init": spec["recurrent_init"],
        "radius": canonical_number(spec["radius"]),
        "gate_bias": gate_bias_text(spec["gate_bias"]),
    }


def job_settings(training: dict, task: str, model: str) -> dict:
    """The settings of one job beyond its wildcards (task, model, seq_len, clip), for `cli(...)`."""
    optimizer = training["optimizer"]
    return {
        **model_settings(training["models"][model]),
        **{k: v for k, v in training["tasks"][task].items() if k != "seq_len"},  # e.g. recall's num_classes
        "optimizer": optimizer,
        "learning_rate": canonical_number(training["learning_rate"][optimizer]),
        **{k: training[k] for k in ("steps", "batch_size", "eval_interval", "eval_batch_size", "seeds", "hidden_size")},
    }

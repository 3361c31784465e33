"""The clipping study's jobs (config section `clipping:`), what each job takes, its problems and its cost.

A job is one (model, clip setting): "off", or the threshold c spelled canonically. It trains every
learning rate of the sweep in turn, each as one stack of the seeds and their perturbed copies
(`bptt.pipeline.clipping`). Jobs run in config order: models, then off before c.
"""

from bptt.pipeline import configcheck
from bptt.pipeline.grid import canonical_number
from bptt.pipeline.training_grid import OFF, clip_text, model_settings

OPTIMIZER = "sgd"  # Pascanu et al.'s setting: plain SGD, no momentum
TASK = "adding"
# Small numpy calls' worth of overhead per time step of one training step (forward, backward, readout,
# clipping, SGD, drawing the batches), calibrated here: one learning rate of the default job (12 members,
# 200 steps, T = 30) took 0.99 to 1.05 s of process time, 238 to 275 calls beside its matrix products.
CALLS_PER_STEP = 250


def jobs(clipping: dict) -> list[tuple[str, str]]:
    """(model, clip text) of every job of a clipping section, in config order."""
    return [(model, clip) for model in clipping["models"] for clip in (OFF, clip_text(clipping["clip"]))]


def job_settings(clipping: dict, model: str) -> dict:
    """The settings of one job beyond its wildcards (model, clip), for `cli(...)`."""
    return {
        **model_settings(clipping["models"][model]),
        "seq_len": clipping["seq_len"],
        "learning_rate": [canonical_number(r) for r in clipping["learning_rate"]],
        **{
            k: clipping[k]
            for k in ("steps", "batch_size", "eval_batch_size", "seeds", "hidden_size", "perturbed_seeds")
        },
        "perturbation": canonical_number(clipping["perturbation"]),
    }


def problems(config: dict) -> list[str]:
    """One line per problem between the keys of a valid config's clipping section (defaults filled in)."""
    section = config["clipping"]
    lines = configcheck.model_problems(section["models"], "clipping.models")
    if section["perturbed_seeds"] > section["seeds"]:
        lines.append(
            f"clipping.perturbed_seeds: {section['perturbed_seeds']} exceeds clipping.seeds {section['seeds']}; "
            "give at most seeds (0 for no perturbation test)."
        )
    return lines


def job_seconds(clipping: dict, model: str, step_costs) -> float:
    """Estimated seconds of one job of `model` (either clip setting): every learning rate's `steps` SGD steps
    of T time steps, each CALLS_PER_STEP numpy calls and the products of the stack's (seeds + perturbed_seeds)
    x batch_size sequences with U. step_costs(hidden_size, samples, n_blocks, state_parts) -> {"call", "gradient"}
    seconds, as `bptt.pipeline.estimate.step_costs` measures them on this machine."""
    blocks = {"rnn": (1, 1), "lstm": (4, 2), "gru": (3, 1)}[clipping["models"][model]["cell"]]
    members = clipping["seeds"] + clipping["perturbed_seeds"]
    cost = step_costs(clipping["hidden_size"], members * clipping["batch_size"], *blocks)
    time_steps = len(clipping["learning_rate"]) * clipping["steps"] * clipping["seq_len"]
    return time_steps * (CALLS_PER_STEP * cost["call"] + cost["gradient"])


def seconds(config: dict, step_costs) -> float:
    """Estimated seconds of every clipping job of `config`, one core (see `job_seconds`)."""
    return sum(job_seconds(config["clipping"], model, step_costs) for model, _ in jobs(config["clipping"]))

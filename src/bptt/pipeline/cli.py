"""What the job entries share: argparse types that refuse a bad value in one line, the frozen
settings a job's computation receives, and the atomic writing of a job's record.

Standard library, numpy and `bptt.pipeline.grid` only: a job's start-up is paid once per job, and
every entry imports this module.
"""

import argparse
import dataclasses
import math

import numpy as np

from bptt.pipeline import atomic, grid


def at_least(minimum: int):
    """An argparse type: an integer >= minimum, else a message that says so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text}")
        return value

    return parse


def _number(text: str, allowed: str, ok) -> float:
    """float(text) if ok(value), else an argparse error saying what is allowed."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {allowed}, got {text}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"must be {allowed}, got {text}")
    return value


def positive(text: str) -> float:
    """An argparse type: a finite number > 0."""
    return _number(text, "a finite number > 0", lambda v: math.isfinite(v) and v > 0)


def fraction(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1."""
    return _number(text, "a number > 0 and < 1", lambda v: 0 < v < 1)


def gate_bias(text: str) -> str:
    """An argparse type: a finite number (spelled as `bptt.pipeline.grid.gate_bias_text` spells it) or chrono."""
    if text == grid.CHRONO:
        return text
    return grid.gate_bias_text(_number(text, f"a finite number or {grid.CHRONO}", math.isfinite))


def settings(cls, args: argparse.Namespace):
    """An instance of `cls`, a frozen dataclass, from the parsed `args`: the values of its fields
    (other arguments, such as output paths, stay with the entry), lists as tuples, so that the
    computation receives values that nothing can change under it."""
    return cls(
        **{
            field.name: tuple(value) if isinstance(value, list) else value
            for field in dataclasses.fields(cls)
            if hasattr(args, field.name)  # a field the command line does not set keeps its default
            for value in [getattr(args, field.name)]
        }
    )


def write(record: dict[str, np.ndarray], path: str) -> None:
    """Save `record` as .npz at `path`, atomically (its folder is created if need be)."""
    with atomic.replacing(path) as tmp, open(tmp, "wb") as file:
        np.savez(file, **record)

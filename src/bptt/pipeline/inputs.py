"""Reading a pipeline input that may be damaged: a clear message, and a rerun that recovers.

A file cut short (a full disk, a copy interrupted, `truncate`) cannot be read, and an intact one
may have been written for another config (copied in, or left by an interrupted edit). Rather than
fail the same way at every run, the reader moves it aside, under `<name>.corrupt`, so that it is
kept for inspection and no longer counts as present: the next `snakemake` run rebuilds it
with the rule that made it, then carries on.
"""

import os
from collections.abc import Callable, Collection
from typing import NoReturn, TypeVar

import numpy as np

T = TypeVar("T")


def _move_aside(path: str, problem: str) -> NoReturn:
    """Move the file at `path` to `<path>.corrupt` and exit with a message naming both and `problem`."""
    aside = f"{path}.corrupt"
    os.replace(path, aside)
    raise SystemExit(
        f"{path} {problem}. It was moved to {aside}; run snakemake again and it will be rebuilt "
        "(delete the .corrupt file once you no longer need it)."
    )


def set_aside(path: str | os.PathLike, error: Exception) -> NoReturn:
    """Move the unreadable file at `path` to `<path>.corrupt` and exit with a message naming both."""
    _move_aside(os.fspath(path), f"could not be read ({type(error).__name__}: {error})")


def not_for_this_config(path: str | os.PathLike, what: str) -> NoReturn:
    """Move the intact file at `path`, written for another config (`what` says how it differs), aside
    and exit with a message naming both."""
    _move_aside(os.fspath(path), f"does not match the config: {what}")


def read(path: str | os.PathLike, reader: Callable[[str], T]) -> T:
    """reader(path), or `set_aside` if the file exists but cannot be read."""
    if not os.path.exists(path):
        raise SystemExit(f"{path} does not exist; run snakemake to produce it")
    try:
        return reader(os.fspath(path))
    except Exception as error:  # any damage: zip, npz, parquet and schema errors differ in type
        set_aside(path, error)


def read_record(path: str | os.PathLike, required: Collection[str] | Callable[[dict], Collection[str]]) -> dict:
    """A job's .npz record as {name: array}, checked to hold the names `required` lists (or returns, given
    the record); a file that cannot be read, or lacks one, is moved aside (`read`)."""

    def load(p):
        with np.load(p) as data:
            record = {k: data[k] for k in data.files}
        missing = set(required(record) if callable(required) else required) - set(record)
        if missing:
            raise ValueError(f"it lacks {', '.join(sorted(missing))}: written by another version of bptt")
        return record

    return read(path, load)

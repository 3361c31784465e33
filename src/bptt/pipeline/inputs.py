"""Reading a pipeline input that may be damaged: a clear message, and a rerun that recovers.

A file cut short (a full disk, a copy interrupted, `truncate`) cannot be read. Rather than fail
the same way at every run, the reader moves it aside, under `<name>.corrupt`, so that it is
kept for inspection and no longer counts as present: the next `snakemake` run rebuilds it
with the rule that made it, then carries on.
"""

import os
from collections.abc import Callable
from typing import NoReturn, TypeVar

T = TypeVar("T")


def set_aside(path: str | os.PathLike, error: Exception) -> NoReturn:
    """Move the unreadable file at `path` to `<path>.corrupt` and exit with a message naming both."""
    path = os.fspath(path)
    aside = f"{path}.corrupt"
    os.replace(path, aside)
    raise SystemExit(
        f"{path} could not be read ({type(error).__name__}: {error}). It was moved to {aside}; "
        "run snakemake again and it will be rebuilt (delete the .corrupt file once you no longer need it)."
    )


def read(path: str | os.PathLike, reader: Callable[[str], T]) -> T:
    """reader(path), or `set_aside` if the file exists but cannot be read."""
    if not os.path.exists(path):
        raise SystemExit(f"{path} does not exist; run snakemake to produce it")
    try:
        return reader(os.fspath(path))
    except Exception as error:  # any damage: zip, npz, parquet and schema errors differ in type
        set_aside(path, error)

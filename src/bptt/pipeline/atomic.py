"""Write a file so that a killed process never leaves a partial one behind."""

import contextlib
import os


@contextlib.contextmanager
def replacing(path: str | os.PathLike):
    """Yield a temporary path beside `path` (its folder created if need be); on success rename it
    over `path`.

    A rename within one directory is atomic on POSIX file systems, so `path` is either absent,
    the old file or the complete new one. On an exception the temporary file is removed; after
    kill -9 it stays as `<path>.<pid>.tmp`, never under the name Snakemake checks.
    """
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)

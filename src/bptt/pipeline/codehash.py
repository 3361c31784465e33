"""The code a pipeline job depends on, as one content hash.

Snakemake reruns a job when one of its params changes. Passing this hash as a
param declares a job's code without listing the source files as inputs, which
would rerun on any mtime change: editing a file and reverting the edit must
leave "Nothing to be done". The files hashed are exactly those the job can
import from this package, found by following its `bptt` imports statically
(module level and inside functions alike), so a new core module is covered as
soon as something imports it. Standard library only; nothing is imported.
"""

import ast
import functools
import hashlib
import importlib.util
import pathlib

PACKAGE = "bptt"


def module_file(name: str) -> pathlib.Path:
    """Source file of module `name` (e.g. "bptt.core.cells"), found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"cannot find the source of module {name!r}")
    return pathlib.Path(spec.origin)


# Snakemake computes one hash per rule in every process it starts (one per job on a cluster), and
# the rules share most modules: each source is parsed and walked once per process. Keyed by the
# text, so an edited file is read afresh.
@functools.cache
def _syntax(text: str, filename: str) -> ast.Module:
    return ast.parse(text, filename=filename)


def _imported_modules(path: pathlib.Path, name: str) -> frozenset[str]:
    """Names of the `bptt` modules the source of module `name` imports."""
    return _imports_in(path.read_text(), str(path), name)


@functools.cache
def _imports_in(text: str, filename: str, name: str) -> frozenset[str]:
    is_package = pathlib.Path(filename).name == "__init__.py"
    parts = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(_syntax(text, filename)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            # Resolve relative imports against the importing module's package.
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            # `from bptt import cells` imports the submodule bptt.core.cells.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return frozenset(m for m in found if m == PACKAGE or m.startswith(PACKAGE + "."))


@functools.cache
def _dump(text: str, filename: str) -> bytes:
    return ast.dump(_syntax(text, filename)).encode()


def dependencies(*entries: str) -> list[pathlib.Path]:
    """Sorted source files of `entries` and every `bptt` module they import, recursively."""
    seen: dict[str, pathlib.Path] = {}
    todo = list(entries)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            path = module_file(name)
        except ModuleNotFoundError:
            if name in entries:
                raise
            continue  # `from bptt.x import a_function`: not a module
        seen[name] = path
        # Importing bptt.a.b runs bptt/__init__.py and bptt/a/__init__.py first.
        todo.extend(".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1))
        todo.extend(_imported_modules(path, name))
    return sorted(set(seen.values()))


def code_hash(*entries: str, files=(), root: str | pathlib.Path | None = None) -> str:
    """SHA-256 (hex) of the code of `entries`, their `bptt` imports and extra `files`.

    A module counts by its syntax tree (`ast.dump`), so editing a comment or the
    layout of a line changes nothing, while any change to what runs (docstrings
    included) does. Extra files count by their bytes. Content only, never mtimes
    or absolute paths: keys are names relative to the package, and extra files are
    named relative to `root` (or as given), so a moved checkout hashes the same.
    """
    package = module_file(PACKAGE).parent
    digest = hashlib.sha256()
    keyed = [(str(p.relative_to(package)), p) for p in dependencies(*entries)]
    keyed += [(str(pathlib.Path(f).relative_to(root) if root else f), pathlib.Path(f)) for f in files]
    for key, path in sorted(keyed):
        content = _dump(path.read_text(), str(path)) if path.suffix == ".py" else path.read_bytes()
        digest.update(key.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()

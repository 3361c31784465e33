"""LaTeX to MathML at build time, so the page shows equations without scripts or network.

Current browsers render MathML Core natively; latex2mathml does the conversion in Python.
"""

from latex2mathml.converter import convert
from markupsafe import Markup


def inline(tex: str) -> Markup:
    """MathML for `tex` set in the running text."""
    return Markup(_convert(tex, "inline"))


def block(tex: str) -> Markup:
    """MathML for `tex` set as a displayed equation."""
    return Markup(_convert(tex, "block"))


def _convert(tex: str, display: str) -> str:
    try:
        return convert(tex, display=display)
    except Exception as error:  # latex2mathml raises several unrelated types
        raise ValueError(
            f"cannot convert the LaTeX {tex!r} to MathML ({error}); fix the formula in the report template"
        ) from error

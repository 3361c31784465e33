"""LaTeX to MathML at build time, so the page shows equations without scripts or network.

Current browsers render MathML Core natively; latex2mathml does the conversion in Python.
"""

import re

from latex2mathml.converter import convert
from markupsafe import Markup, escape


def inline(tex: str) -> Markup:
    """MathML for `tex` set in the running text."""
    return Markup(_convert(tex, "inline"))


def block(tex: str) -> Markup:
    """MathML for `tex` set as a displayed equation."""
    return Markup(_convert(tex, "block"))


def typeset(text: str, plain: dict[str, str]) -> Markup:
    """`text` escaped, with every plain-text notation of `plain` (plain text -> LaTeX) set as inline MathML.

    A notation counts only where it stands alone (no letter or digit touching it), longest first,
    so 'L_t' inside a word is left as it is.
    """
    if not plain:
        return escape(text)
    names = sorted(plain, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, names)) + r")(?!\w)")
    pieces = pattern.split(str(text))  # odd positions are the notations
    return Markup("").join(inline(plain[piece]) if i % 2 else escape(piece) for i, piece in enumerate(pieces))


def _convert(tex: str, display: str) -> str:
    try:
        return convert(tex, display=display)
    except Exception as error:  # latex2mathml raises several unrelated types
        raise ValueError(
            f"cannot convert the LaTeX {tex!r} to MathML ({error}); fix the formula in the report template"
        ) from error

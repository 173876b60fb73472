"""The report writers' one way to draw: matplotlib's pyplot on the Agg backend, and a PNG written
whole or not at all (:func:`getheory._files.replacing`)."""

from __future__ import annotations

from .._files import replacing

__all__ = ["pyplot", "save_png"]


def pyplot():
    """matplotlib's pyplot with the Agg backend (no display needed)."""
    import matplotlib  # heavy (fonts, a GUI backend): loaded only to draw, and switched to Agg first

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after the switch to Agg

    return plt


def save_png(fig, path, *, dpi: int = 120, tight: bool = False):
    """Write the figure to ``path`` as a PNG, whole or not at all, and close it; ``tight`` crops (or widens)
    the canvas to what is drawn (a legend outside the axes included)."""
    with replacing(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    pyplot().close(fig)

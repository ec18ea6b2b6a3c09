"""The HTML layer shared by the run report and the comparison: Jinja2 templates with
autoescaping, figures as inline PNGs, and one number format.

Pages are self-contained (inline CSS and images), so a report folder can be mailed or
archived as is.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from coldbench.record.files import write_text_atomic

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Figure:
    """A rendered plot: a PNG as a data URI, and the caption that says what to look for."""

    src: str
    caption: str


def figure(fig: Any, caption: str) -> Figure:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return Figure("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(), caption)


def fmt(value: Any) -> str:
    """Numbers as tables show them: floats with two decimals, a dash for nothing."""
    if isinstance(value, float):
        return f"{value:,.2f}"
    return "-" if value is None else str(value)


_ENV.filters["fmt"] = fmt


def render_page(template: str, path: Path, **context: Any) -> Path:
    """Render ``template`` with ``context`` to ``path`` (written whole)."""
    return write_text_atomic(path, _ENV.get_template(template).render(**context))

"""HTML for the report: one self-contained page (inline CSS, base64 PNG figures).

Why hand-written HTML and not a template engine: ``analysis`` must not depend on Flask
or Jinja, and the page is a handful of fixed blocks. Every value is escaped; missing
numbers render as an em dash with the reason in a note, never as "NaN".
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CSS = """
:root { --ink: #1d2430; --muted: #5b6575; --line: #d9dee7; --accent: #0072B2; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: #f6f7f9; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 24px 40px 16px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: var(--muted); }
nav { margin-top: 12px; display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 14px; }
nav a { color: var(--accent); text-decoration: none; }
main { max-width: 1180px; margin: 0 auto; padding: 8px 40px 48px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
          padding: 8px 24px 20px; margin: 20px 0; }
h2 { font-size: 19px; margin: 16px 0 8px; }
h3 { font-size: 15px; margin: 18px 0 6px; color: var(--muted); }
p.lead { color: var(--muted); margin: 4px 0 12px; }
.note { background: #fff7e6; border-left: 4px solid #E69F00; padding: 8px 12px;
        margin: 10px 0; font-size: 14px; }
.facts { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0 4px; }
.fact { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 130px; }
.fact b { display: block; font-size: 20px; }
.fact span { color: var(--muted); font-size: 13px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13.5px; margin: 6px 0 10px;
        font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: right;
         white-space: nowrap; }
th { background: #f0f2f5; font-weight: 600; }
td.text, th.text { text-align: left; }
figure { margin: 12px 0; }
figure img { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 13px; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr));
         gap: 8px 24px; }
footer { color: var(--muted); font-size: 12.5px; text-align: center; padding: 16px; }
"""


@dataclass
class Section:
    """One block of the report plus the numbers written beside it (CSV/JSON, PNG)."""

    key: str
    title: str
    lead: str = ""
    blocks: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, bytes] = field(default_factory=dict)
    seconds: float = 0.0

    def note(self, text: str) -> None:
        self.blocks.append(f'<div class="note">{html.escape(text)}</div>')

    def heading(self, text: str) -> None:
        self.blocks.append(f"<h3>{html.escape(text)}</h3>")

    def table(self, name: str, frame: pd.DataFrame, *, shown: pd.DataFrame | None = None) -> None:
        """Keep ``frame`` as ``<name>.csv`` and show ``shown`` (default: frame) on the page."""
        self.tables[name] = frame
        self.blocks.append(table_html(frame if shown is None else shown))

    def figure(self, name: str, png: bytes, caption: str) -> None:
        self.figures[name] = png
        self.blocks.append(figure_html(png, caption))


def _cell(value: object, digits: int) -> tuple[str, bool]:
    """(text, is_text) of one table cell."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "—", False
    if isinstance(value, bool | np.bool_):
        return ("yes" if value else "no"), True
    if isinstance(value, int | np.integer):
        return f"{int(value):,}", False
    if isinstance(value, float | np.floating):
        if abs(value) >= 1e4 or (value != 0 and abs(value) < 10**-digits):
            return f"{value:.{digits}g}", False
        return f"{value:.{digits}f}", False
    return str(value), True


def table_html(frame: pd.DataFrame, digits: int = 3) -> str:
    head = "".join(
        f'<th class="{"text" if frame[c].dtype == object or frame[c].dtype == "str" else ""}">'
        f"{html.escape(str(c))}</th>"
        for c in frame.columns
    )
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for value in record:
            text, is_text = _cell(value, digits)
            cells.append(f'<td class="{"text" if is_text else ""}">{html.escape(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def figure_html(png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    alt = html.escape(caption, quote=True)
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{alt}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def facts_html(facts: dict[str, object]) -> str:
    cells = "".join(
        f'<div class="fact"><b>{html.escape(_cell(v, 2)[0])}</b><span>{html.escape(k)}</span></div>'
        for k, v in facts.items()
    )
    return f'<div class="facts">{cells}</div>'


def page(title: str, subtitle: str, sections: list[Section], footer: str) -> str:
    links = "".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections)
    body = "".join(
        f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>'
        + (f'<p class="lead">{html.escape(s.lead)}</p>' if s.lead else "")
        + "".join(s.blocks)
        + "</section>"
        for s in sections
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p>"
        f"<nav>{links}</nav></header><main>{body}</main>"
        f"<footer>{html.escape(footer)}</footer></body></html>"
    )

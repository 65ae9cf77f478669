"""HTML pieces every report kind's page is made of: escaping, tables, the contract table, the standalone page."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from engram_probe.report.printing import STYLE

MAX_ROWS = 300  # rows shown per table; the JSON report holds them all


def escape(x: Any) -> str:
    """``x`` as text that is safe inside HTML (quotes included)."""
    return html.escape(str(x))


def when(iso: Any) -> str:
    """An ISO 8601 UTC time as people read it: ``2026-12-04 05:30:00 UTC``."""
    text = str(iso)
    return text.replace("T", " ").removesuffix("+00:00") + (" UTC" if text.endswith("+00:00") else "")


def made_by(doc: dict[str, Any]) -> str:
    """The operator a report records (``kernel.attribute``), or words saying an older report records none."""
    op = doc.get("operator")
    return str(op["name"]) if isinstance(op, dict) and op.get("name") else "not recorded (an older report)"


def created_line(doc: dict[str, Any]) -> str:
    """'Created TIME by OPERATOR', escaped: who made a report and when, for every kind's page."""
    return f"Created {escape(when(doc.get('created_at', '?')))} by {escape(made_by(doc))}"


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A table of escaped cells, cut at ``MAX_ROWS`` with a note of how many rows are left to the JSON."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows[:MAX_ROWS])
    more = f"<p class='cap'>{len(rows) - MAX_ROWS} more rows in the JSON report.</p>" if len(rows) > MAX_ROWS else ""
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def contract_table(c: dict[str, Any]) -> str:
    """Name, version, source and digest of a contract (its ``describe()`` form)."""
    return table(
        ["name", "version", "source", "sha256"],
        [[c["contract"]["name"], c["contract"]["version"], c["source"], c["sha256"]]],
    )


def html_page(title: str, parts: list[str], head: str = "") -> str:
    """A standalone HTML document (the reports' shared style) of the given parts; ``head`` goes after the style."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style>{head}</head><body>" + "\n".join(parts) + "</body></html>"
    )


def write_page(text: str, path: str | Path) -> Path:
    """Write a page as UTF-8, creating its folder."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p

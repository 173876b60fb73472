"""The proofs report: report.json and report.md of the numerical claims (:mod:`getheory.proofs`).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time

import mpmath
import numpy
import scipy

from .._claims import Result, load_claim
from .._files import write_text
from .._version import __version__

__all__ = ["format_markdown", "write_proofs_report"]


def _environment(full: bool, seconds: float) -> dict:
    return {
        "getheory": __version__,
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "mpmath": mpmath.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "full": full,
        "seconds": round(seconds, 1),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def _fmt(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        if x != x:
            return "nan"
        return f"{x:.3g}" if (x == 0 or 1e-3 <= abs(x) < 1e4) else f"{x:.2e}"
    return str(x)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_header(results: list[Result], env: dict) -> list[str]:
    """Title, what was checked, the counts by status and the environment, and the meaning of each status."""
    lines = ["# getheory proofs report", ""]
    lines.append(
        "Every step of the Gaussian Equivalence Theorem that getheory relies on, checked numerically "
        "(docs/theory.md §2–§5; issue 3). Identities are checked against mpmath references written "
        "independently of the code under test; rates and limits by statistical tests whose error bars are "
        "derived, not tuned. Regenerate with `getheory proofs --out reports/proofs/"
        + (" --full" if env.get("full") else "") + "`."
    )
    lines.append("")
    counts = {s: sum(r.status == s for r in results) for s in ("pass", "fail", "contradiction", "info")}
    lines.append(
        f"**{len(results)} checks: {counts['pass']} pass, {counts['fail']} fail, "
        f"{counts['contradiction']} contradiction with docs/theory.md, {counts['info']} info.** "
        f"Size: {'full' if env.get('full') else 'default (reduced)'}; {env.get('seconds')} s on "
        f"{env.get('cpu_count')} CPU(s); getheory {env.get('getheory')}, numpy {env.get('numpy')}, "
        f"mpmath {env.get('mpmath')}; {env.get('date')}."
    )
    lines.append("")
    lines.append("Status: `pass` agrees with its reference within the tolerance; `fail` does not; "
                 "`contradiction` is a sound measurement that disagrees with a figure or expectation in "
                 "docs/theory.md (reported, not adjusted); `info` is a measured number without a pass/fail "
                 "meaning.")
    lines.append("")
    return lines


def _md_flagged(results: list[Result]) -> list[str]:
    """The contradictions and failures, one bullet each (nothing where there are none)."""
    flagged = [r for r in results if r.status in ("contradiction", "fail")]
    if not flagged:
        return []
    lines = ["## Contradictions and failures", ""]
    for r in flagged:
        lines.append(f"- **[{r.status}] {r.claim} — {r.name}** ({r.section}). {r.note}")
    return lines + [""]


def _claim_title(claim: str) -> str:
    """The heading suffix ' — TITLE (SECTION)' of a claim such as "1-hermite"; empty where its module does not load."""
    try:
        mod = load_claim(claim.split("-", 1)[1])
        return f" — {mod.TITLE} ({mod.SECTION})"
    except Exception:
        return ""


def _md_claim(claim: str, rs: list[Result]) -> list[str]:
    """One claim's table of checks and the notes of its rows."""
    lines = [f"## {claim}{_claim_title(claim)}", ""]
    lines.append("| check | method | precision reached | tolerance | status | s |")
    lines.append("|---|---|---|---|---|---|")
    for r in rs:
        lines.append(
            f"| {_cell(r.name)} | {_cell(r.method)} | {_fmt(r.precision)} ({_cell(r.precision_kind)}) | "
            f"{_fmt(r.tolerance)} | {r.status} | {r.seconds:.1f} |"
        )
    notes = [r for r in rs if r.note]
    if notes:
        lines.append("")
        for r in notes:
            lines.append(f"- *{_cell(r.name)}*: {r.note}")
    return lines + [""]


def format_markdown(results: list[Result], env: dict) -> str:
    """The markdown report: summary, contradictions with docs/theory.md, then one table per claim."""
    lines = _md_header(results, env) + _md_flagged(results)
    by_claim: dict[str, list[Result]] = {}
    for r in results:
        by_claim.setdefault(r.claim, []).append(r)
    for claim, rs in by_claim.items():
        lines += _md_claim(claim, rs)
    lines.append("The full numbers behind every row are in `report.json` (key `results[i].values`).")
    lines.append("")
    return "\n".join(lines)


def write_proofs_report(results: list[Result], out_dir: str, *, full: bool = False,
                        seconds: float = 0.0) -> tuple[str, str]:
    """Write ``report.json`` and ``report.md`` into ``out_dir``; return their paths."""
    os.makedirs(out_dir, exist_ok=True)
    env = _environment(full, seconds)
    payload = {
        "environment": env,
        "summary": {s: sum(r.status == s for r in results) for s in ("pass", "fail", "contradiction", "info")},
        "results": [r.to_dict() for r in results],
    }
    pj = os.path.join(out_dir, "report.json")
    pm = os.path.join(out_dir, "report.md")
    for path, text in ((pj, json.dumps(payload, indent=2, ensure_ascii=False)), (pm, format_markdown(results, env))):
        write_text(path, text + "\n")
    return pj, pm

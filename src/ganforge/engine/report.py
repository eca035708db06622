"""report.html for a run: loss curves as inline SVG, the sample grids over time, and the config."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from ganforge.engine.atomic import atomic_write_text
from ganforge.engine.stats import read_metrics

_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def svg_line_chart(series: dict[str, list[tuple[float, float]]], title: str, width: int = 640,
                   height: int = 260) -> str:
    """A small dependency-free line chart: x is kimg, one polyline per named series."""
    points = [p for values in series.values() for p in values]
    if not points:
        return ""
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1
    left, right, top, bottom = 56, 12, 28, 34
    pw, ph = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * ph

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" class="chart">',
             f'<text x="{left}" y="18" font-size="14" font-weight="bold">{html.escape(title)}</text>',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#aaa"/>']
    for frac in (0.0, 0.5, 1.0):
        yv = y0 + frac * (y1 - y0)
        parts.append(f'<text x="{left - 4}" y="{sy(yv) + 4:.1f}" font-size="10" text-anchor="end">{yv:.3g}</text>')
        xv = x0 + frac * (x1 - x0)
        parts.append(f'<text x="{sx(xv):.1f}" y="{height - 18}" font-size="10" text-anchor="middle">{xv:.3g}</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{height - 4}" font-size="10" text-anchor="middle">kimg</text>')
    for i, (name, values) in enumerate(series.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in values)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{pts}"/>')
        parts.append(f'<text x="{left + 8 + 150 * i}" y="{top + 14}" font-size="11" fill="{colour}">'
                     f'{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _thinned(values: list[tuple[float, float]], max_points: int) -> list[tuple[float, float]]:
    """Every k-th point so that about `max_points` remain, and the newest one always."""
    step = max(1, -(-len(values) // max_points))
    kept = values[::step]
    return kept if not values or kept[-1] is values[-1] else [*kept, values[-1]]


def metric_series(rows: list[dict[str, Any]], prefix: str,
                  max_points: int | None = None) -> dict[str, list[tuple[float, float]]]:
    """(kimg, value) per logged figure whose name starts with `prefix` (NaN left out), evenly thinned to about
    `max_points` per figure so that a long run's chart stays light."""
    out: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        for key, value in row.items():
            if key.startswith(prefix) and isinstance(value, (int, float)) and value == value:
                out.setdefault(key, []).append((float(row.get("kimg", 0)), float(value)))
    if max_points:
        out = {k: _thinned(v, max_points) for k, v in out.items()}
    return out


def _precision_html(used: dict[str, Any] | None) -> str:
    """What the run computed in, network by network, and why (config.json's precision_used)."""
    if not used:
        return ""
    nets = ", ".join(f"{html.escape(k)}: {html.escape(str(v))}" for k, v in sorted(used.get("networks", {}).items()))
    return (f'<p class="precision">precision <b>{html.escape(str(used.get("autocast", "?")))}</b> '
            f'({html.escape(str(used.get("reason", "")))}); {nets}.</p>')


def sample_grids(run_dir: Path) -> list[Path]:
    """The run's sample grids (samples/fakes-KIMG.png, written atomically by the trainer), oldest first."""
    return sorted((Path(run_dir) / "samples").glob("fakes-*.png"))


def write_report(run_dir: Path) -> Path:
    """(Re)write `run_dir/report.html` from what the run has written so far."""
    run_dir = Path(run_dir)
    rows = read_metrics(run_dir / "metrics.jsonl")
    config_path = run_dir / "config.json"
    config = json.loads(config_path.read_text()) if config_path.exists() else {}
    charts = [svg_line_chart(metric_series(rows, "Loss/"), "Losses"),
              svg_line_chart(metric_series(rows, "D/"), "D outputs"),
              svg_line_chart(metric_series(rows, "Metrics/fid"), "FID (lower is better)"),
              svg_line_chart(metric_series(rows, "images_per_sec"), "Training images/s")]
    grids = sample_grids(run_dir)
    shown = grids if len(grids) <= 12 else [grids[int(i * (len(grids) - 1) / 11)] for i in range(12)]
    figures = "".join(
        f'<figure><img src="samples/{g.name}" alt="{g.stem}"><figcaption>kimg {float(g.stem.split("-")[1]):g}'
        "</figcaption></figure>" for g in shown
    )
    reals = '<figure><img src="samples/reals.png"><figcaption>real images</figcaption></figure>' if (
        run_dir / "samples" / "reals.png").exists() else ""
    last = rows[-1] if rows else {}
    summary = f"{len(rows)} ticks, last kimg {last.get('kimg', 0)}" if rows else "no statistics logged yet"
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>ganforge run {html.escape(run_dir.name)}</title>
<style>body{{font-family:sans-serif;margin:24px;max-width:1100px}} figure{{display:inline-block;margin:6px}}
img{{image-rendering:pixelated;width:256px}} pre{{background:#f4f4f4;padding:8px;overflow:auto}}
.chart{{margin:6px 0;display:block}}</style></head>
<body><h1>Run {html.escape(run_dir.name)}</h1>
<p>task <b>{html.escape(str(config.get("task", "?")))}</b>, model <b>{html.escape(str(config.get("model", "?")))}</b>,
data <b>{html.escape(str(config.get("data", "?")))}</b> at {config.get("resolution", "?")} px; {html.escape(summary)}.</p>
{_precision_html(config.get("precision_used"))}
<h2>Losses</h2>{"".join(charts)}
<h2>Samples over time (fixed latents, EMA generator)</h2>{reals}{figures}
<h2>Configuration</h2><pre>{html.escape(json.dumps(config, indent=2, sort_keys=True))}</pre>
</body></html>
"""
    path = run_dir / "report.html"
    atomic_write_text(path, page)
    return path

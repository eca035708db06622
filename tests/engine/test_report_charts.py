"""report.html's charts (also the studio's live loss chart): series read from metrics rows, thinned for long runs."""

from __future__ import annotations

from ganforge.engine.report import metric_series, svg_line_chart


def test_series_are_thinned_evenly_and_keep_the_newest_point():
    rows = [{"kimg": float(i), "Loss/G/adv": float(i), "Loss/D/adv": float("nan"), "images_per_sec": 9.0}
            for i in range(1000)]
    series = metric_series(rows, "Loss/", max_points=64)
    assert list(series) == ["Loss/G/adv"]  # NaN figures and other prefixes left out
    points = series["Loss/G/adv"]
    assert len(points) <= 65 and points[0] == (0.0, 0.0) and points[-1] == (999.0, 999.0)
    assert len(metric_series(rows, "Loss/")["Loss/G/adv"]) == 1000  # unthinned by default


def test_a_chart_names_its_series_and_is_empty_without_points():
    chart = svg_line_chart({"Loss/G/adv": [(0.0, 1.0), (1.0, 0.5)], "Loss/<D>": [(0.0, 2.0), (1.0, 1.5)]}, "Losses")
    assert chart.startswith("<svg") and chart.count("<polyline") == 2
    assert "Loss/G/adv" in chart and "Loss/&lt;D&gt;" in chart  # names escaped
    assert svg_line_chart({}, "Losses") == ""

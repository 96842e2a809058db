"""The dashboard report's pieces that need no server: panel choice, legends, config, drawing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams import dashboard_report as report
from streams.dashboard_report import MAIN_PANELS, PanelData, PrometheusError, PrometheusServer, Series

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_every_report_panel_is_a_panel_of_the_committed_dashboard():
    dashboard = json.loads(report.DASHBOARD.read_text())

    chosen = report.main_panels(dashboard)

    assert [p["title"] for p in chosen] == list(MAIN_PANELS)
    assert all(p["targets"] for p in chosen)


def test_a_replay_of_past_history_draws_every_main_panel_but_the_event_time_lag():
    # A replayed past year's event-time lag is the time since that year: years, past the
    # histogram's top bucket, a flat line that says nothing about the run.
    dashboard = json.loads(report.DASHBOARD.read_text())

    chosen = [p["title"] for p in report.main_panels(dashboard, report.REPLAY_PANELS)]

    assert chosen == [t for t in MAIN_PANELS if t != "Event-time lag"]


def test_a_report_panel_missing_from_the_dashboard_is_named():
    with pytest.raises(PrometheusError, match="no panel titled 'Throughput'"):
        report.main_panels({"panels": [{"title": "Other"}]}, ("Throughput",))


def test_the_server_config_scrapes_the_targets_as_job_churnwatch_with_the_rules(tmp_path):
    server = PrometheusServer(["127.0.0.1:9108", "127.0.0.1:9109"], tmp_path, rules=[Path("deploy/x.yml")],
                              interval="2s")

    config = json.loads(server.config())

    assert config["scrape_configs"] == [{"job_name": "churnwatch",
                                         "static_configs": [{"targets": ["127.0.0.1:9108", "127.0.0.1:9109"]}]}]
    assert config["global"] == {"scrape_interval": "2s", "evaluation_interval": "2s"}
    assert config["rule_files"] == [str(Path("deploy/x.yml").resolve())]
    assert server.url.startswith("http://127.0.0.1:")


def test_starting_without_the_prometheus_binary_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(report.shutil, "which", lambda name: None)

    with pytest.raises(PrometheusError, match="make prometheus"):
        PrometheusServer(["127.0.0.1:9108"], tmp_path).start()


def test_the_png_has_a_chart_per_panel_and_says_no_data_where_there_is_none(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    close, drawn = plt.close, []
    monkeypatch.setattr(plt, "close", lambda fig=None: drawn.append(fig))   # keep the figure to look at
    panels = [
        PanelData("Events consumed per second", "ops", [Series("logins", [0, 1, 2], [3.0, 4.0, 5.0])]),
        PanelData("Model log loss", "none", []),
        PanelData("Processing time", "s", [Series("p50", [0, 1], [0.001, 0.002]),
                                           Series("p99", [0, 1], [0.004, 0.009])]),
        # Counters a worker starts at 0: only the series that moved are drawn.
        PanelData("Dead letters per second by reason", "ops", [Series("oversize", [0, 1], [0.0, 0.0]),
                                                               Series("late_event", [0, 1], [0.0, 0.5])]),
        PanelData("Warnings per hour by level", "none", [Series("watch", [0, 1], [0.0, 0.0])]),
    ]

    out = report.render_png(panels, tmp_path / "sub" / "report.png")

    assert out.read_bytes().startswith(PNG_SIGNATURE)
    assert out.stat().st_size > 5_000
    (figure,) = drawn
    charts = [ax for ax in figure.axes if ax.get_title()]
    assert [ax.get_title() for ax in charts] == [p.title for p in panels]
    assert [len(ax.lines) for ax in charts] == [1, 0, 2, 1, 0]
    assert [t.get_text() for t in charts[1].texts] == ["no data"]
    assert [line.get_label() for line in charts[3].lines] == ["late_event"]
    assert [t.get_text() for t in charts[4].texts] == ["0 throughout"]
    assert not charts[0].texts and not charts[2].texts
    close(figure)

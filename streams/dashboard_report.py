"""What the Grafana dashboard would show, without Grafana: a Prometheus server and a PNG.

:class:`PrometheusServer` runs Debian's ``prometheus`` binary (``make prometheus`` installs
it) on a free loopback port with a temporary data directory, scraping workers' metrics
endpoints every second. :func:`write_report` runs the main panels' queries of the committed
dashboard (``deploy/grafana/dashboards/churnwatch.json``) as range queries against it and
draws them, one small chart per panel, into a PNG (matplotlib, from the ``plots`` extra).

The integration tests use the server to assert what a real scrape sees; ``churnwatch demo``
can use both to leave a picture of its run.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.errors import ChurnwatchError

#: The committed dashboard (read from a source checkout).
DASHBOARD = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "dashboards" / "churnwatch.json"

#: Panels drawn in the report, in order (titles as in the dashboard).
MAIN_PANELS = (
    "Events consumed per second",
    "Processing time",
    "Event-time lag",
    "Consumer lag per partition",
    "Dead letters per second by reason",
    "Warnings per hour by level",
    "Warning signals per hour by kind",
    "Customers at risk per level and segment",
    "Churn rate per segment over $window",
    "Model ROC AUC and positive rate",
)


#: The panels a replay of past history draws: event-time lag (the wall clock less event time) would
#: only show how long ago the replayed history was, past the top of its histogram.
REPLAY_PANELS = tuple(title for title in MAIN_PANELS if title != "Event-time lag")


class PrometheusError(ChurnwatchError):
    """Prometheus is missing, did not start, or refused a query."""


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrometheusServer:
    """A Prometheus process scraping `targets` (``host:port`` of metrics endpoints) as job ``churnwatch``.

    Parameters:
        targets: metrics endpoints to scrape.
        workdir: directory for its config, data and log (a temporary one in tests).
        rules: alert-rule files to load and evaluate.
        interval: scrape and rule-evaluation interval, e.g. ``"1s"``.
    """

    def __init__(self, targets: list[str], workdir: Path, *, rules: list[Path] = (), interval: str = "1s") -> None:
        self.targets = list(targets)
        self.workdir = Path(workdir)
        self.rules = [Path(r).resolve() for r in rules]
        self.interval = interval
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        """The configuration file's text (JSON is valid YAML)."""
        return json.dumps({
            "global": {"scrape_interval": self.interval, "evaluation_interval": self.interval},
            "rule_files": [str(r) for r in self.rules],
            "scrape_configs": [{"job_name": "churnwatch", "static_configs": [{"targets": self.targets}]}],
        }, indent=2)

    def start(self, timeout: float = 15.0) -> PrometheusServer:
        binary = shutil.which("prometheus")
        if binary is None:
            raise PrometheusError("the prometheus server is not installed: run `make prometheus` "
                                  "(Debian package prometheus)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(self.config())
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={self.workdir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.process.poll() is not None:
                raise PrometheusError(f"prometheus exited with status {self.process.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise PrometheusError(f"prometheus not ready within {timeout:g} s: {self.log_tail()}")
            time.sleep(0.1)
        return self

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def log_tail(self, chars: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> PrometheusServer:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ HTTP API

    def get(self, path: str, **params: Any) -> dict:
        """GET an API path; the decoded JSON answer. Raises PrometheusError on an error answer."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        try:
            with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as error:
            answer = json.load(error)
        if answer.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {answer.get('errorType')}: {answer.get('error')}")
        return answer

    def query(self, promql: str) -> list[dict]:
        """Instant query: ``[{"metric": {...}, "value": [t, "v"]}, ...]``."""
        return self.get("/api/v1/query", query=promql)["data"]["result"]

    def query_range(self, promql: str, start: float, end: float, step: float) -> list[dict]:
        """Range query: ``[{"metric": {...}, "values": [[t, "v"], ...]}, ...]``."""
        return self.get("/api/v1/query_range", query=promql, start=start, end=end, step=step)["data"]["result"]


# ---------------------------------------------------------------------- panels


@dataclass(frozen=True)
class Series:
    label: str
    times: list[float]
    values: list[float]


@dataclass(frozen=True)
class PanelData:
    title: str
    unit: str
    series: list[Series] = field(default_factory=list)

    def moved(self) -> list[Series]:
        """The series with a value other than 0 (a worker starts its labelled counters at 0
        for every known label value, so most series of a by-reason panel stay flat at 0).

        >>> PanelData("t", "", [Series("a", [0, 1], [0.0, 0.0]), Series("b", [0, 1], [0.0, 2.0])]).moved()[0].label
        'b'
        """
        return [s for s in self.series if any(v != 0 and not math.isnan(v) for v in s.values)]


def legend(template: str, labels: dict[str, str]) -> str:
    """Grafana's legend format: ``{{label}}`` replaced by the series' label value.

    Example:
        >>> legend("{{topic}}[{{ partition }}]", {"topic": "orders", "partition": "3"})
        'orders[3]'
    """
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)


def substitute(expr: str, *, rate_interval: str, window: str) -> str:
    """Fill the dashboard variables a query uses.

    Example:
        >>> substitute("rate(x[$__rate_interval]) / y[$window]", rate_interval="15s", window="1h")
        'rate(x[15s]) / y[1h]'
    """
    return expr.replace("$__rate_interval", rate_interval).replace("$window", window)


def main_panels(dashboard: dict, titles: tuple[str, ...] = MAIN_PANELS) -> list[dict]:
    """The dashboard's panels with these titles, in the order given.

    Example:
        >>> main_panels({"panels": [{"title": "b"}, {"title": "a"}]}, ("a", "b"))
        [{'title': 'a'}, {'title': 'b'}]
    """
    by_title = {p.get("title"): p for p in dashboard.get("panels", ())}
    missing = [t for t in titles if t not in by_title]
    if missing:
        raise PrometheusError(f"dashboard has no panel titled {missing[0]!r}")
    return [by_title[t] for t in titles]


def collect(server: PrometheusServer, start: float, end: float, *, step: float = 1.0,
            dashboard_path: Path = DASHBOARD, titles: tuple[str, ...] = MAIN_PANELS) -> list[PanelData]:
    """Run the queries of the panels `titles` (the main ones) over ``[start, end]`` (epoch seconds)."""
    dashboard = json.loads(Path(dashboard_path).read_text())
    # At least four scrapes per rate window, as Grafana's $__rate_interval does.
    rate_interval = f"{max(4, int(4 * step))}s"
    window = f"{max(60, int(end - start))}s"
    panels = []
    for panel in main_panels(dashboard, titles):
        series = []
        for target in panel.get("targets", ()):
            expr = substitute(target["expr"], rate_interval=rate_interval, window=window)
            for result in server.query_range(expr, start, end, step):
                points = [(float(t), float(v)) for t, v in result["values"]]
                series.append(Series(legend(target.get("legendFormat", ""), result["metric"]) or expr,
                                     [t - start for t, _ in points], [v for _, v in points]))
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
        panels.append(PanelData(panel["title"].replace("$window", window), unit, series))
    return panels


#: Grafana's unit ids as an axis label says them.
UNIT_LABELS = {"ops": "per second", "s": "seconds", "short": "", "percentunit": "share (1 = 100 %)"}


def unit_label(unit: str) -> str:
    """The y-axis label of a Grafana unit id.

    Example:
        >>> [unit_label(u) for u in ("ops", "percentunit", "short", "bytes")]
        ['per second', 'share (1 = 100 %)', '', 'bytes']
    """
    return UNIT_LABELS.get(unit, unit)


def render_png(panels: list[PanelData], out: Path, *, title: str = "Churnwatch dashboard") -> Path:
    """Draw the panels in a grid of small line charts; returns `out`."""
    try:
        import matplotlib
    except ImportError:
        raise ChurnwatchError("the dashboard report needs matplotlib: pip install 'churnwatch[plots]'") from None
    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    columns = 2
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(12, 2.6 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        ax.set_title(panel.title, fontsize=9)
        ax.tick_params(labelsize=7)
        if not panel.series:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="grey")
            continue
        # A worker starts its labelled counters at 0 for every known label value: draw the
        # series that moved (a legend of a dozen zero lines hides the one that matters).
        moved = panel.moved()
        if not moved:
            ax.text(0.5, 0.5, "0 throughout", ha="center", va="center", transform=ax.transAxes, color="grey")
            continue
        for s in moved[:12]:  # a legend past a dozen series is unreadable
            ax.plot(s.times, s.values, label=s.label, linewidth=1.2)
        ax.set_xlabel("seconds since start", fontsize=7)
        if unit_label(panel.unit):
            ax.set_ylabel(unit_label(panel.unit), fontsize=7)
        ax.legend(fontsize=6, loc="upper left")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=80)
    plt.close(figure)
    return out


def write_report(server: PrometheusServer, out: Path, start: float, end: float, *, step: float = 1.0,
                 dashboard_path: Path = DASHBOARD, titles: tuple[str, ...] = MAIN_PANELS,
                 title: str = "Churnwatch dashboard") -> list[PanelData]:
    """Query the panels `titles` (the main ones) over ``[start, end]`` and draw them into the PNG `out`."""
    panels = collect(server, start, end, step=step, dashboard_path=dashboard_path, titles=titles)
    render_png(panels, out, title=title)
    return panels

"""`healer detect`: the detector's own code over files, for trying it on your data and for benchmarks.

    healer detect trend --input series.csv --threshold T --output predictions.csv
    healer detect anomalies --input series.csv --output scores.csv
    healer detect log-templates --input app.log --output structured.csv

Input is CSV with a header and `timestamp,value` columns (timestamps as ISO 8601, `YYYY-MM-DD HH:MM:SS` in
UTC, or unix seconds); every output row answers its input row using only that row and the ones before it,
exactly as the service sees samples arrive. Settings (`detector.trend`, ...) are the service's own.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from healer_cli.runtime import ConfigOption, console, settings_or_exit
from services.detector.anomaly import AnomalyScorer, anomaly_params
from services.detector.log_templates import LogTemplates
from services.detector.trend import TrendTracker, trend_params

app = typer.Typer(help="Run the detector's trend, anomaly and log-pattern code over files.", no_args_is_help=True)

InputOption = typer.Option("--input", "-i", exists=True, dir_okay=False, help="CSV with timestamp,value")
OutputOption = typer.Option("--output", "-o", dir_okay=False, help="where to write the CSV")


def parse_time(text: str) -> float:
    """Unix seconds from a CSV timestamp; naive times are UTC."""
    try:
        return float(text)
    except ValueError:
        when = dt.datetime.fromisoformat(text.strip())
        return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


def format_like(seconds: float, example: str) -> str:
    """A time written the way the input writes its timestamps."""
    try:
        float(example)
    except ValueError:
        when = dt.datetime.fromtimestamp(seconds, dt.UTC)
        if dt.datetime.fromisoformat(example.strip()).tzinfo is None:
            return when.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
        return when.isoformat(timespec="seconds")
    return f"{seconds:.0f}"


def read_series(path: Path) -> Iterator[tuple[str, float, float]]:
    """(timestamp as written, unix seconds, value) per row."""
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            yield row["timestamp"], parse_time(row["timestamp"]), float(row["value"])


@app.command("trend")
def trend_command(
    input_path: Annotated[Path, InputOption],
    output: Annotated[Path, OutputOption],
    threshold: Annotated[float, typer.Option(help="the threshold whose crossing is predicted")],
    below: Annotated[bool, typer.Option("--below", help="predict falling below the threshold instead")] = False,
    config: Path | None = ConfigOption,
) -> None:
    """Predict, row by row, when the series crosses THRESHOLD (within the horizon), and how sure that is."""
    cfg = settings_or_exit(config).detector.trend
    tracker = TrendTracker(trend_params(cfg, threshold=threshold, above=not below))
    rows = 0
    with output.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["timestamp", "value", "predicted_crossing", "confidence"])
        crossing, confidence = "", ""
        for written, seconds, value in read_series(input_path):
            analysis = tracker.observe(seconds, value)
            if analysis is not None:
                crossing = format_like(analysis.crossing, written) if analysis.crossing is not None else ""
                confidence = f"{analysis.confidence:.4f}" if analysis.crossing is not None else ""
            out.writerow([written, f"{value:g}", crossing, confidence])
            rows += 1
    console.print(f"wrote {rows} rows to {output}")


@app.command("anomalies")
def anomalies_command(
    input_path: Annotated[Path, InputOption],
    output: Annotated[Path, OutputOption],
    config: Path | None = ConfigOption,
) -> None:
    """Score every row's anomaly in [0, 1] against the series' own baseline, as the service does."""
    scorer = AnomalyScorer(anomaly_params(settings_or_exit(config).detector.anomaly))
    rows = 0
    with output.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["timestamp", "value", "anomaly_score"])
        for written, seconds, value in read_series(input_path):
            out.writerow([written, f"{value:g}", f"{scorer.observe(seconds, value).score:.6f}"])
            rows += 1
    console.print(f"wrote {rows} rows to {output}")


@app.command("log-templates")
def log_templates_command(
    input_path: Annotated[Path, typer.Option("--input", "-i", exists=True, dir_okay=False, help="a log file")],
    output: Annotated[Path, OutputOption],
    config: Path | None = ConfigOption,
) -> None:
    """Mine a template per line, in order and online: LineId,EventId,EventTemplate (LogHub's shape).

    Each line gets the template it joined as it was read; templates joined later (one word that turned out to
    be a value) are written under the joined template's id and text."""
    cfg = settings_or_exit(config).detector.logs
    miner = LogTemplates(cfg.similarity, cfg.depth, cfg.variable_after)
    given: list[int] = []
    texts: dict[int, str] = {}
    with input_path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            template = miner.add(line)
            given.append(template.template_id)
            texts[template.template_id] = template.text
    for template_id in list(texts):
        texts.setdefault(miner.resolve(template_id), texts[template_id])
    with output.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["LineId", "EventId", "EventTemplate"])
        for row, template_id in enumerate(given, start=1):
            final = miner.resolve(template_id)
            out.writerow([row, f"E{final}", texts[final]])
    console.print(f"wrote {len(given)} rows to {output}")

"""The detector's quality on public data nobody here wrote: NAB anomaly score and LogHub template grouping.

    python bench/detector_quality.py [--shared ../shared] [--only nab|loghub] [--keep DIR]

Runs the same commands a user would (`healer detect anomalies` on every file in the shared NAB part,
`healer detect log-templates` on every LogHub 2k system) into a scratch folder, then scores them with the
shared scorers exactly as they ship (`eval/nab_score.py --profile all`, `eval/loghub_score.py`). The data is
read where it lies: LogHub's licence forbids copying it into this repository.

Prints one figure per line, `name value unit`. Caveat worth repeating next to every figure: the anomaly and
template parameters were chosen on this same data, so these are in-sample figures.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HEALER = [sys.executable, "-m", "healer_cli"]


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


def run_all(commands: list[list[str]], workers: int) -> None:
    """Run the per-file commands a few at a time; any failure stops the bench with its stderr."""

    def one(command: list[str]) -> None:
        done = subprocess.run(command, check=False, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, commands))


def nab(shared: Path, out: Path, workers: int) -> None:
    data = shared / "data" / "nab" / "data"
    files = [line.strip() for line in (shared / "data" / "nab" / "files.txt").read_text().splitlines()]
    files = [f for f in files if f]
    commands = []
    for relative in files:
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        commands.append([*HEALER, "detect", "anomalies", "-i", str(data / relative), "-o", str(out / relative)])
    started = time.perf_counter()
    run_all(commands, workers)
    figure("nab_files", len(files), "files")
    figure("nab_detect_time", time.perf_counter() - started, "s")
    scored = subprocess.run(
        [
            sys.executable,
            str(shared / "eval" / "nab_score.py"),
            "--data",
            str(data),
            "--labels",
            str(shared / "data" / "nab" / "labels" / "combined_windows.json"),
            "--results",
            str(out),
            "--profile",
            "all",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    for profile, score in re.findall(r"NAB (\S+) score: (-?[\d.]+)", scored.stdout):
        figure(f"nab_{profile}", float(score), "points")


def loghub(shared: Path, out: Path, workers: int) -> None:
    data = shared / "data" / "loghub"
    systems = sorted(d.name for d in data.iterdir() if (d / f"{d.name}_2k.log").is_file())
    out.mkdir(parents=True, exist_ok=True)
    commands = [
        [*HEALER, "detect", "log-templates", "-i", str(data / s / f"{s}_2k.log"), "-o", str(out / f"{s}.csv")]
        for s in systems
    ]
    run_all(commands, workers)
    scored = subprocess.run(
        [sys.executable, str(shared / "eval" / "loghub_score.py"), "--data-dir", str(data), "--parsed-dir", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    for system, score in re.findall(r"^(\w+)\s+([\d.]+)$", scored.stdout, re.MULTILINE):
        figure(f"loghub_{system}", float(score), "accuracy")
    average = re.search(r"average grouping accuracy: ([\d.]+)", scored.stdout)
    if average is None:
        raise SystemExit(f"loghub_score.py printed no average:\n{scored.stdout}")
    figure("loghub_average", float(average.group(1)), "accuracy")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--only", choices=["nab", "loghub"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="write the outputs here and keep them")
    args = parser.parse_args()
    if not (args.shared / "eval" / "nab_score.py").is_file():
        raise SystemExit(f"{args.shared} holds no eval/nab_score.py: pass --shared PATH (the shared folder)")
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="healer-quality-"))
    try:
        if args.only in (None, "nab"):
            nab(args.shared, scratch / "nab", args.workers)
        if args.only in (None, "loghub"):
            loghub(args.shared, scratch / "loghub", args.workers)
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

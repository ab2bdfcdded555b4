"""`bench/storm.py --profile DIR`: py-spy samples every Healer service during the storm, and the summary of
where each one spent its time (the functions most often on top of the stack, and most often anywhere on it).

py-spy attaches to a running process from outside (ptrace: root, or `kernel.yama.ptrace_scope=0`), so the
services run exactly as measured; its raw output (collapsed stacks, one `frame;frame;... count` per line)
is kept in DIR for flame graphs (`py-spy`'s own, or speedscope).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import psutil

PROFILED = ("collector", "detector", "correlator", "notifier", "remediator", "memory-bridge")


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("--profile needs py-spy: pip install py-spy")
    return found


class Profiler:
    def __init__(self, out: Path, label: str) -> None:
        self._out = out
        self._label = label
        self._running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, processes: dict[str, psutil.Process]) -> None:
        self._out.mkdir(parents=True, exist_ok=True)
        for name, process in processes.items():
            if name not in PROFILED:
                continue
            args = [py_spy(), "record", "--pid", str(process.pid), "--rate", "100", "--format", "raw"]
            args += ["--nonblocking", "--output", str(self._path(name))]
            self._running[name] = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _path(self, name: str) -> Path:
        return self._out / f"{self._label}-{name}.txt"

    def stop(self) -> None:
        for proc in self._running.values():
            proc.send_signal(signal.SIGINT)
        for proc in self._running.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(30)
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def summary(self, top: int = 12) -> None:
        for name in self._running:
            path = self._path(name)
            if path.exists():
                print(f"\n# {self._label} {name}: where the samples were")
                for line in summarise(path.read_text(), top):
                    print(f"#   {line}")


def summarise(raw: str, top: int) -> list[str]:
    """The frames most often on top (self) and anywhere on the stack (total), as shares of all samples."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    if not samples:
        return ["no samples"]
    lines = [f"{samples} samples; self:"]
    lines += [f"{n / samples:6.1%}  {frame}" for frame, n in own.most_common(top)]
    lines.append("total (anywhere on the stack), outside asyncio and the runner:")
    interesting = [(f, n) for f, n in total.most_common() if "asyncio" not in f and "<module>" not in f]
    lines += [f"{n / samples:6.1%}  {frame}" for frame, n in interesting[:top]]
    return lines

"""Run by tests/integration/test_install.py with the Python of a fresh install without extras (the image's
install): asks every `healer` command for its `--help`, loads every console script the install declares, and
imports every module it holds; prints what failed as one JSON object on stdout.

It imports nothing of the test suite, only what that install provides, so a package the code imports but
pyproject.toml does not declare fails here as it would in the image.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import pkgutil
from collections.abc import Iterator
from typing import Any

from typer.main import get_command
from typer.testing import CliRunner

PACKAGES = ("healer_common", "healer_cli", "healer_sandbox", "services")


def command_paths(command: Any, failed: dict[str, str], path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and sub-command of the `healer` tree, the root included (as the empty path). Groups are
    asked for their commands as click asks them (the root imports each command's module only then); a command
    that cannot even be loaded is put in `failed`."""
    yield path
    if hasattr(command, "list_commands"):
        for name in command.list_commands(None):
            try:
                sub = command.get_command(None, name)
            except Exception as exc:  # noqa: BLE001 - each failure is reported, not raised
                failed[" ".join(("healer", *path, name))] = f"cannot load: {type(exc).__name__}: {exc}"
                continue
            yield from command_paths(sub, failed, (*path, name))


def helps() -> tuple[list[str], dict[str, str]]:
    from healer_cli.main import app  # noqa: PLC0415 - a failure here is reported by imports() too

    runner = CliRunner()
    failed: dict[str, str] = {}
    paths = list(command_paths(get_command(app), failed))
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        if result.exit_code != 0 or "Usage:" not in result.output:
            said = f"exit {result.exit_code}: {result.exception!r} {result.output[-300:]}"
            failed[" ".join(("healer", *path))] = said
    return [" ".join(("healer", *p)) for p in paths], failed


def console_scripts() -> tuple[list[str], dict[str, str]]:
    """Load each entry point the install declares (healer and the six healer-<service>), as their scripts do."""
    scripts = importlib.metadata.entry_points(group="console_scripts")
    points = [ep for ep in scripts if ep.dist and ep.dist.name == "healer"]
    failed = {}
    for point in points:
        try:
            if not callable(point.load()):
                failed[point.name] = f"{point.value} is not callable"
        except Exception as exc:  # noqa: BLE001 - each failure is reported, not raised
            failed[point.name] = f"{type(exc).__name__}: {exc}"
    return sorted(p.name for p in points), failed


def imports() -> dict[str, str]:
    """Every module of the installed packages but the `__main__` ones (importing those would run them)."""
    failed: dict[str, str] = {}

    def record(name: str) -> None:
        failed.setdefault(name, "the package's __init__ could not be imported")

    for top in PACKAGES:
        package = importlib.import_module(top)
        for info in pkgutil.walk_packages(package.__path__, f"{top}.", onerror=record):
            if info.name.rsplit(".", 1)[-1] == "__main__":
                continue
            try:
                importlib.import_module(info.name)
            except Exception as exc:  # noqa: BLE001 - each failure is reported, not raised
                failed[info.name] = f"{type(exc).__name__}: {exc}"
    return failed


if __name__ == "__main__":
    commands, help_failed = helps()
    scripts, script_failed = console_scripts()
    report = {
        "commands": commands,
        "help_failed": help_failed,
        "scripts": scripts,
        "script_failed": script_failed,
        "import_failed": imports(),
    }
    print(json.dumps(report))

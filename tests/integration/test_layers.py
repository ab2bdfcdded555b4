"""The layers are checked by default: a module written tomorrow is covered by the import contracts the day it
is written, without anyone adding it to a list. Each case copies the source tree, adds one module, and runs
`lint-imports` over the copy exactly as `make lint` runs it over the real tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_with(tmp_path: Path, module: str, source: str) -> subprocess.CompletedProcess[str]:
    """lint-imports over a copy of the tree that has one more module, `module` (a path like services/x/y.py)."""
    for top in ("libs", "apps", "services"):
        shutil.copytree(ROOT / top, tmp_path / top, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / module).write_text(source)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(tmp_path / p) for p in ("libs", "apps", "."))}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        ("services/detector/shortcut.py", "import redis\n", "services.detector.shortcut -> redis"),
        ("services/correlator/fast_path.py", "import nats\n", "services.correlator.fast_path -> nats"),
        (
            "services/remediator/quick_fix.py",
            "from kubernetes import client\n",
            "services.remediator.quick_fix -> kubernetes",
        ),
        (
            "services/notifier/peek.py",
            "from services.notifier.adapters import journal\n",
            "services.notifier.peek -> services.notifier.adapters.journal",
        ),
        (
            "apps/healer_cli/reach_in.py",
            "from services.remediator import app\n",
            "healer_cli.reach_in -> services.remediator.app",
        ),
    ],
)
def test_a_new_module_that_reaches_past_its_layer_breaks_a_contract(
    tmp_path: Path, module: str, source: str, broken: str
) -> None:
    result = lint_with(tmp_path, module, source)
    assert result.returncode != 0, result.stdout[-2000:]
    assert broken in result.stdout, result.stdout[-3000:]


def test_the_same_import_in_a_service_s_adapters_is_allowed(tmp_path: Path) -> None:
    result = lint_with(tmp_path, "services/detector/adapters/cache_store.py", "import redis\n")
    assert result.returncode == 0, result.stdout[-3000:]

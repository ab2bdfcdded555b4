"""constraints.txt pins every dependency pyproject.toml declares, with a version its specifier accepts, so
`make install` and the image install the same versions; `make lock` rewrites it after a change."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def pins() -> dict[str, Version]:
    found: dict[str, Version] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line):
            found[canonicalize_name(match.group(1))] = Version(match.group(2))
    return found


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    everything = [*project["dependencies"], *(r for reqs in project["optional-dependencies"].values() for r in reqs)]
    return [req for req in map(Requirement, everything) if canonicalize_name(req.name) != "healer"]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    pinned = pins()
    missing = [str(req) for req in declared() if canonicalize_name(req.name) not in pinned]
    assert missing == [], f"not in constraints.txt: {missing}; run `make lock`"
    outside = [
        f"{req} (pinned {pinned[canonicalize_name(req.name)]})"
        for req in declared()
        if not req.specifier.contains(pinned[canonicalize_name(req.name)], prereleases=True)
    ]
    assert outside == [], f"pins outside the declared range: {outside}; run `make lock`"


def test_the_project_itself_is_not_pinned_by_its_path() -> None:
    text = (ROOT / "constraints.txt").read_text()
    assert "healer @" not in text
    assert "file://" not in text

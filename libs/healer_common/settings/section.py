"""The base of every settings section: unknown keys are errors, so a typo in YAML or an environment
variable fails at load with its path instead of being ignored.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def repeated(names: list[str]) -> list[str]:
    """The names that occur more than once, for validators of lists that must name each item once."""
    return sorted({name for name in names if names.count(name) > 1})

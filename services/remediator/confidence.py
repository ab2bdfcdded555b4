"""How much a playbook has earned trust: a Beta posterior over its success rate, from a uniform prior, updated
by every verified outcome (dry runs and refusals prove nothing and do not count).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Confidence:
    successes: int = 0
    failures: int = 0

    @property
    def alpha(self) -> float:
        return 1.0 + self.successes

    @property
    def beta(self) -> float:
        return 1.0 + self.failures

    @property
    def mean(self) -> float:
        """The posterior mean: 0.5 with no evidence, near the observed rate with much of it."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def spread(self) -> float:
        """The posterior's standard deviation: how unsure the mean still is."""
        total = self.alpha + self.beta
        return math.sqrt(self.alpha * self.beta / (total * total * (total + 1.0)))

    def after(self, succeeded: bool) -> Confidence:
        if succeeded:
            return Confidence(self.successes + 1, self.failures)
        return Confidence(self.successes, self.failures + 1)

    def __str__(self) -> str:
        return f"{self.mean:.2f} ± {self.spread:.2f} ({self.successes} ok, {self.failures} failed)"

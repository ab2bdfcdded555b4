"""Label matchers in the syntax Alertmanager users type (`alertname="MemoryPressure"`, `alert_id="H8"`,
`node!=n1`, `pod=~"rex-.*"`, `severity!~info|warning`), and the inhibition rules built from them.

Alerts carried their catalogue id in `alertname` before schema version 2; a matcher written then
(`alertname="H6"`, `alertname=~"A[0-9]+"`: one that can match catalogue ids and no readable alertname) is
read as the same matcher on `alert_id`, so routes, silences and inhibition rules keep matching what they did.

Silences (silences.py), inhibition rules (the correlator's settings), the notifier's routes and the sandbox's
PromQL and LogQL selectors share them, and the CLI parses them from the command line, so they live in the
contract. As in Alertmanager, a label an alert lacks matches as
the empty string, and a regular expression must match the whole value.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from healer_common.contract.alerts import CATALOGUE
from healer_common.contract.messages import Frozen, Labels

MatchOp = Literal["=", "!=", "=~", "!~"]
_MATCHER = re.compile(r"""^\s*([A-Za-z_][A-Za-z0-9_./-]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$""", re.DOTALL)
_UNQUOTED = re.compile(r"""^[^"'\s]*$""")


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _check_regex(pattern: str) -> None:
    try:
        _compiled(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression ({exc})") from None


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if not _UNQUOTED.match(text):
        raise ValueError(f"value {text!r} must be a bare word or in double quotes")
    return text


def _means_alert_id(op: str, value: str) -> bool:
    """Whether an `alertname` matcher was written for catalogue ids (as before schema version 2)."""
    if op in ("=", "!="):
        return value in CATALOGUE and value != "EXT"
    try:
        pattern = _compiled(value)
    except re.error:
        return False  # the model's validator says what is wrong with it
    ids = any(pattern.fullmatch(alert_id) for alert_id in CATALOGUE if alert_id != "EXT")
    return ids and not any(pattern.fullmatch(entry.alertname) for entry in CATALOGUE.values())


class Matcher(Frozen):
    """One label condition; `Matcher.parse('pod=~"rex-.*"')` reads what a user types."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_./-]*$", description="Healer's labels include task-id")
    op: MatchOp
    value: str

    @model_validator(mode="before")
    @classmethod
    def _alertname_of_old(cls, data: Any) -> Any:
        old = isinstance(data, dict) and data.get("name") == "alertname"
        if old and _means_alert_id(str(data.get("op", "")), str(data.get("value", ""))):
            return {**data, "name": "alert_id"}
        return data

    @model_validator(mode="after")
    def _regex_compiles(self) -> Matcher:
        if self.op in ("=~", "!~"):
            _check_regex(self.value)
        return self

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """Read `name<op>value`; raise ValueError naming what is wrong and how a matcher looks."""
        found = _MATCHER.match(text)
        if found is None:
            raise ValueError(
                f"bad matcher {text!r}: write name=value, name!=value, name=~regex or name!~regex "
                '(e.g. alertname="MemoryPressure", alert_id="H8", node=~"worker-.*")'
            )
        name, op, raw = found.groups()
        try:
            value = _unquote(raw)
            if op in ("=~", "!~"):
                _check_regex(value)
        except ValueError as exc:
            raise ValueError(f"bad matcher {text!r}: {exc}") from None
        return cls(name=name, op=op, value=value)

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.name, "")
        match self.op:
            case "=":
                return value == self.value
            case "!=":
                return value != self.value
            case "=~":
                return _compiled(self.value).fullmatch(value) is not None
            case "!~":
                return _compiled(self.value).fullmatch(value) is None

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def _matcher_from_text(value: Any) -> Any:
    return Matcher.parse(value) if isinstance(value, str) else value


MatcherField = Annotated[Matcher, BeforeValidator(_matcher_from_text)]
"""A Matcher that config and stored JSON may also give as its text (`'reason="NotReady"'`)."""


def match_all(matchers: list[Matcher], labels: Labels) -> bool:
    return all(m.matches(labels) for m in matchers)


class InhibitionRule(Frozen):
    """While an alert matching `source_matchers` fires, alerts matching `target_matchers` with the same values
    of the `equal` labels are muted: recorded in their incident, never notified (Alertmanager's inhibit_rules).
    """

    name: str = Field(min_length=1, description="what the rule is for, shown on the alerts it mutes")
    source_matchers: list[MatcherField] = Field(min_length=1)
    target_matchers: list[MatcherField] = Field(min_length=1)
    equal: list[str] = Field(default_factory=list, description="labels whose values source and target share")

    def is_source(self, labels: Labels) -> bool:
        return match_all(self.source_matchers, labels)

    def inhibits(self, source: Labels, target: Labels) -> bool:
        """Whether a firing `source` alert mutes `target` (the caller never offers an alert as its own source)."""
        if not match_all(self.target_matchers, target) or not self.is_source(source):
            return False
        return all(source.get(name, "") == target.get(name, "") for name in self.equal)

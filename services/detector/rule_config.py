"""The rule settings in effect for one cluster and namespace: the defaults with `detector.overrides` applied,
least specific scope first (`<cluster>`, then `*/<namespace>`, then `<cluster>/<namespace>`). Pure; the
result is cached per scope, since every sample and condition asks.
"""

from __future__ import annotations

from typing import Any

from healer_common.settings.detector import DetectorSettings, RuleSettings

MAX_SCOPES = 10_000


class RuleBook:
    def __init__(self, settings: DetectorSettings) -> None:
        self._rules = settings.rules
        self._overrides = settings.overrides
        self._cache: dict[tuple[str, str | None], RuleSettings] = {}

    def scope(self, cluster: str, namespace: str | None) -> RuleSettings:
        key = (cluster, namespace)
        found = self._cache.get(key)
        if found is None:
            found = self._resolve(cluster, namespace)
            if len(self._cache) >= MAX_SCOPES:
                self._cache.clear()
            self._cache[key] = found
        return found

    def _resolve(self, cluster: str, namespace: str | None) -> RuleSettings:
        scopes = [cluster] + ([f"*/{namespace}", f"{cluster}/{namespace}"] if namespace else [])
        merged: dict[str, dict[str, Any]] = {}
        for scope in scopes:
            for section, fields in self._overrides.get(scope, {}).items():
                merged.setdefault(section, {}).update(fields)
        return self._rules.with_overrides(merged) if merged else self._rules

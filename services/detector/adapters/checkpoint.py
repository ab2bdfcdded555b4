"""A partition's learned state (evaluation.Engines: series, lanes, trends, baselines, log templates) as bytes
for its checkpoint, and back.

The engines are numpy arrays and plain objects whose shape the algorithms own and change (issue 16 rewrites
anomaly scoring and log mining), so they are pickled as they are rather than mirrored in a schema that would
fall behind. Two things keep that safe:

- configuration is not in the bytes: the rule book, the metric rules and the settings sections the engines
  point at are written as references (pickle's persistent ids) and bound to this process's own on load;
  a checkpoint written under other detector settings, or by another version, is not resumed (`load` says
  None and the partition starts as a restarted detector would: firing alerts and baselines from Redis);
- loading resolves only the classes and functions listed here (the detector's own state classes, numpy's
  array constructors, drain3's template miner, a few builtins), so bytes planted in Redis cannot make the
  detector run anything else (Python's "restricting globals"); anything else is refused and the partition
  starts cold.
"""

from __future__ import annotations

import io
import pickle
import zlib
from typing import Any

from healer_common.contract.messages import stable_id
from healer_common.settings import DetectorSettings
from healer_common.settings.section import Section
from services.detector.adapters.evaluation import Engines
from services.detector.rule_config import RuleBook
from services.detector.rules.model import MetricRule

FORMAT = 2
"""Raise when the engines' classes change in a way an older pickle cannot be read into."""

_OWN = "services.detector."  # the detector's own state classes (its pure modules; no function is pickled)
_NOT_OWN = "services.detector.adapters."  # which talk to the world: none of theirs but Engines
_ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "slice"),
        ("builtins", "complex"),
        ("builtins", "object"),
        ("collections", "Counter"),
        ("collections", "OrderedDict"),
        ("collections", "deque"),
        ("collections", "defaultdict"),
        ("copyreg", "_reconstructor"),
        ("copyreg", "__newobj__"),
        ("datetime", "datetime"),
        ("datetime", "timezone"),
        ("datetime", "timedelta"),
        ("re", "_compile"),
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("drain3.template_miner", "TemplateMiner"),
        ("drain3.template_miner_config", "TemplateMinerConfig"),
        ("drain3.drain", "Drain"),
        ("drain3.drain", "LogCluster"),
        ("drain3.drain", "Node"),
        ("drain3.masking", "LogMasker"),
        ("drain3.masking", "RegexMaskingInstruction"),
        ("drain3.simple_profiler", "NullProfiler"),
        ("cachetools", "LRUCache"),
        ("cachetools.lru", "LRUCache"),
        ("cachetools", "_DefaultSize"),
        ("healer_common.contract.alerts", "Alert"),
        ("healer_common.contract.alerts", "Evidence"),
        ("healer_common.contract.events", "ResourceRef"),
        ("services.detector.log_templates", "_Drain"),
    }
)


def config_version(cfg: DetectorSettings) -> str:
    """What a checkpoint must have been written under to be resumed: these settings, this state format."""
    return stable_id(FORMAT, cfg.model_dump_json())


def _sections(cfg: Section, path: str = "detector") -> dict[str, Section]:
    """Every settings section under the detector's, by its path (`detector.trend`, `detector.capacity` ...): two
    sections of one type (the forecasts' trend, capacity and degradation) are told apart by where they are."""
    found = {path: cfg}
    for name in type(cfg).model_fields:
        if isinstance(value := getattr(cfg, name), Section):
            found.update(_sections(value, f"{path}.{name}"))
    return found


class _Writer(pickle.Pickler):
    def __init__(self, file: io.BytesIO, cfg: DetectorSettings) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._paths = {id(section): path for path, section in _sections(cfg).items()}

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, RuleBook):
            return ("book",)
        if isinstance(obj, MetricRule):
            return ("rule", obj.alert_id, obj.metric, obj.check)
        if isinstance(obj, Section):
            if id(obj) not in self._paths:
                raise pickle.PicklingError(f"the engines hold a {type(obj).__name__} that is not the detector's")
            return ("settings", self._paths[id(obj)])
        return None


class _Reader(pickle.Unpickler):
    def __init__(self, data: bytes, cfg: DetectorSettings, book: RuleBook, rules: tuple[MetricRule, ...]) -> None:
        super().__init__(io.BytesIO(data))
        self._book = book
        self._rules = {(r.alert_id, r.metric, r.check): r for r in rules}
        self._sections = _sections(cfg)

    def persistent_load(self, pid: Any) -> Any:
        kind, *key = pid
        if kind == "book":
            return self._book
        if kind == "rule" and tuple(key) in self._rules:
            return self._rules[tuple(key)]
        if kind == "settings" and key[0] in self._sections:
            return self._sections[key[0]]
        raise pickle.UnpicklingError(f"checkpoint refers to unknown configuration {pid!r}")

    def find_class(self, module: str, name: str) -> Any:
        own = module.startswith(_OWN) and not module.startswith(_NOT_OWN) and name[:1].isupper()
        if (module, name) in _ALLOWED or own or (module, name) == (Engines.__module__, "Engines"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"checkpoint refers to {module}.{name}, which a checkpoint may not hold")


def dump(engines: Engines, version: str, cfg: DetectorSettings) -> bytes:
    buffer = io.BytesIO()
    _Writer(buffer, cfg).dump((version, engines))
    return zlib.compress(buffer.getvalue(), 1)


def load(
    data: bytes, cfg: DetectorSettings, book: RuleBook, rules: tuple[MetricRule, ...]
) -> tuple[Engines | None, str]:
    """The engines in `data`, or None with the reason when they cannot be resumed here."""
    try:
        version, engines = _Reader(zlib.decompress(data), cfg, book, rules).load()
    except (pickle.UnpicklingError, zlib.error, EOFError, AttributeError, ImportError, TypeError, ValueError) as exc:
        return None, f"unreadable: {exc}"
    if version != config_version(cfg):
        return None, "written under other detector settings or another version"
    if not isinstance(engines, Engines):
        return None, f"holds {type(engines).__name__}, not the detector's engines"
    return engines, "resumed"

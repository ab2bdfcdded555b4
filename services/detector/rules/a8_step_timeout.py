"""A8 workflow step timeout: an agent pod (labels.agent, e.g. `5DLabs-Cleo`) Running longer than its step's
limit: implementation (Rex, Blaze) 45, quality (Cleo) 15, testing (Tess) 30, security (Cipher) 15,
integration (Atlas) 20, any other 60 minutes. Timed from the pod's start (labels.since of PodRunning); the
pod finishing or going away (paused, restarted) resolves it. Pods without an agent label are not agent steps
and are left alone.
"""

from __future__ import annotations

from healer_common.contract.events import ConditionData
from healer_common.settings.detector import RuleSettings, StepTimeout
from services.detector.rules.model import ConditionRule, Hold


def step_of(agent: str, cfg: StepTimeout) -> str | None:
    """The workflow step an agent works on, from its name (`5DLabs-Tess` -> testing)."""
    lowered = agent.lower()
    return next((step for name, step in cfg.agent_steps.items() if name in lowered), None)


def _agent_running(data: ConditionData, cfg: RuleSettings) -> Hold | None:
    agent = data.labels.get("agent")
    if not agent:
        return None
    step = data.labels.get("step") or step_of(agent, cfg.a8)
    minutes = cfg.a8.step_minutes.get(step or "", cfg.a8.default_minutes)
    return Hold(for_s=minutes * 60.0, severity="warning")


RULES = (
    ConditionRule(
        "A8", ("PodRunning",), _agent_running, recoveries=("Succeeded", "Failed", "PodDeleted"), dated_by_since=True
    ),
)

"""The cluster a service acts on or reads (`HEALER_CLUSTER__*`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from healer_common.settings.section import Section


class ClusterSettings(Section):
    name: str = Field("default", description="the cluster's name in every event and alert")
    kubeconfig: Path | None = Field(None, description="kubeconfig file; none and not in-cluster means no cluster")
    context: str | None = Field(None, description="kubeconfig context to use; its current context when unset")
    in_cluster: bool = Field(False, description="use the pod's service account (when Healer runs in the cluster)")
    own_namespace: str = Field("healer", description="where Healer runs; never acted upon")

    @property
    def configured(self) -> bool:
        return self.in_cluster or self.kubeconfig is not None

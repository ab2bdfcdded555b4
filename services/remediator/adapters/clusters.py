"""One Kubernetes client per cluster Healer knows (`collector.clusters`, or the one `cluster`), so that a run
acts on its incident's cluster and nowhere else. A run whose cluster has no client is refused before it
starts (admission.py), never sent to another cluster with an object of the same name. No client at all is
the embedded default's "no cluster": every run is a dry run, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from kubernetes import client

from healer_common.runtime.kube import api_client
from healer_common.settings import ClusterSettings


class ClusterClients:
    def __init__(self, clusters: Sequence[ClusterSettings], home: str) -> None:
        found = {cluster.name: api_client(cluster) for cluster in clusters}
        self._apis = {name: api for name, api in found.items() if api is not None}
        self._home = home if home in self._apis else next(iter(self._apis), None)

    def get(self, cluster: str) -> client.ApiClient | None:
        return self._apis.get(cluster)

    @property
    def names(self) -> list[str]:
        return sorted(self._apis)

    @property
    def any(self) -> bool:
        return bool(self._apis)

    @property
    def home(self) -> client.ApiClient | None:
        """Where Healer runs: its playbooks and RemediationRecords live there."""
        return self._apis.get(self._home) if self._home is not None else None

    def refusal(self, cluster: str) -> str | None:
        """Why a run on `cluster` may not start, or None. With no cluster at all runs are dry runs instead."""
        if not self._apis or cluster in self._apis:
            return None
        return (
            f"no Kubernetes client for cluster {cluster!r} (Healer has {', '.join(self.names)}); it acts on an "
            "incident's own cluster or not at all: add it to collector.clusters"
        )

    def close(self) -> None:
        for api in self._apis.values():
            api.close()  # type: ignore[no-untyped-call]

"""Where a pod or a PVC sits: its node, its controller, its Deployment, its ArgoCD Application, its agent.

The correlator ranks root causes by these labels (signals.py draws the conventions), so every pod signal
carries them, whichever source produced it: the kubernetes source feeds this index from the pods,
ReplicaSets and PVCs it watches, and the prometheus and loki sources enrich their samples and lines with it.
One index per cluster; pure, fed and read from the collector's event loop only.
"""

from __future__ import annotations

from services.collector.observations import Json, ObjectKey

APPLICATION_LABELS = ("argocd.argoproj.io/instance", "app.kubernetes.io/instance")
AGENT_LABELS = ("agent", "task-id")
SELECTED_NODE = "volume.kubernetes.io/selected-node"
GONE_PODS_KEPT = 10_000
"""Deleted pods remembered (oldest forgotten first): far more than are deleted within Prometheus' 5-minute
lookback, in which a deleted pod's last reading is still answered."""


def controller_of(obj: Json) -> tuple[str, str] | None:
    """(kind, name) of the object's controlling owner, if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("kind", "")), str(ref.get("name", ""))
    return None


class Topology:
    def __init__(self) -> None:
        self._replicaset_deployment: dict[ObjectKey, str] = {}
        self._pods: dict[ObjectKey, dict[str, str]] = {}
        self._pod_claims: dict[ObjectKey, tuple[str, ...]] = {}
        self._claim_pods: dict[ObjectKey, set[str]] = {}
        self._pvc_node: dict[ObjectKey, str] = {}
        self._gone_pods: dict[ObjectKey, None] = {}  # insertion-ordered: the oldest is forgotten first

    # fed by the kubernetes source ----------------------------------------------------------------------------
    def observe_replicaset(self, key: ObjectKey, replicaset: Json) -> None:
        owner = controller_of(replicaset)
        if owner is not None and owner[0] == "Deployment":
            self._replicaset_deployment[key] = owner[1]

    def forget_replicaset(self, key: ObjectKey) -> None:
        self._replicaset_deployment.pop(key, None)

    def observe_pod(self, key: ObjectKey, pod: Json) -> None:
        self._gone_pods.pop(key, None)  # a StatefulSet's pod comes back under its old name
        self._pods[key] = self._pod_place(key[0], pod)
        volumes = (pod.get("spec") or {}).get("volumes") or []
        claims = tuple(str(v["persistentVolumeClaim"]["claimName"]) for v in volumes if v.get("persistentVolumeClaim"))
        if claims != self._pod_claims.get(key, ()):
            self._unmount(key)
            self._pod_claims[key] = claims
            for claim in claims:
                self._claim_pods.setdefault((key[0], claim), set()).add(key[1])

    def forget_pod(self, key: ObjectKey) -> None:
        self._pods.pop(key, None)
        self._unmount(key)
        self._gone_pods[key] = None
        if len(self._gone_pods) > GONE_PODS_KEPT:
            del self._gone_pods[next(iter(self._gone_pods))]

    def _unmount(self, key: ObjectKey) -> None:
        for claim in self._pod_claims.pop(key, ()):
            pods = self._claim_pods.get((key[0], claim), set())
            pods.discard(key[1])
            if not pods:
                self._claim_pods.pop((key[0], claim), None)

    def observe_pvc(self, key: ObjectKey, pvc: Json) -> None:
        node = ((pvc.get("metadata") or {}).get("annotations") or {}).get(SELECTED_NODE)
        if node:
            self._pvc_node[key] = str(node)
        else:
            self._pvc_node.pop(key, None)

    def forget_pvc(self, key: ObjectKey) -> None:
        self._pvc_node.pop(key, None)

    def _pod_place(self, namespace: str, pod: Json) -> dict[str, str]:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        place: dict[str, str] = {}
        if node := (pod.get("spec") or {}).get("nodeName"):
            place["node"] = str(node)
        if owner := controller_of(pod):
            kind, name = owner
            place["owner_kind"], place["owner_name"] = kind, name
            if kind == "ReplicaSet" and (deployment := self._replicaset_deployment.get((namespace, name))):
                place["deployment"] = deployment
            elif kind == "StatefulSet":
                place["statefulset"] = name
        if application := next((labels[k] for k in APPLICATION_LABELS if labels.get(k)), None):
            place["application"] = str(application)
        place.update({k: str(labels[k]) for k in AGENT_LABELS if labels.get(k)})
        return place

    # read by every source ------------------------------------------------------------------------------------
    def pod_labels(self, key: ObjectKey) -> dict[str, str]:
        """The topology labels of a pod; the Deployment is resolved now, in case its ReplicaSet came late."""
        place = dict(self._pods.get(key, {}))
        if (
            place.get("owner_kind") == "ReplicaSet"
            and "deployment" not in place
            and (deployment := self._replicaset_deployment.get((key[0], place["owner_name"])))
        ):
            place["deployment"] = deployment
        return place

    def pvc_labels(self, key: ObjectKey) -> dict[str, str]:
        """`mounted_by` names the workloads that mount the claim (a Deployment or StatefulSet, else the pod),
        never a Job's pod: the labels of a PVC's series must not change when a pod restarts or a cleanup Job
        mounts it for a minute, or the series would become a new one and its alert would outlive the fill."""
        mounted_by = sorted({w for pod in self._claim_pods.get(key, ()) if (w := self._workload(key[0], pod))})
        labels = {"mounted_by": ",".join(mounted_by)} if mounted_by else {}
        if node := self._pvc_node.get(key):
            labels["node"] = node
        return labels

    def _workload(self, namespace: str, pod: str) -> str | None:
        place = self.pod_labels((namespace, pod))
        if place.get("owner_kind") == "Job":
            return None
        return place.get("deployment") or place.get("statefulset") or pod

    def names_gone_pod(self, labels: dict[str, str]) -> bool:
        """Whether a sample names a pod the watch saw deleted (and not since recreated). Prometheus answers a
        deleted pod's last reading until its next scrape marks the series stale (and for 5 minutes without
        staleness markers); such a reading, published after the pod's PodDeleted, would start its series again
        and fire H8 a minute later about a pod that is gone."""
        namespace, pod = labels.get("namespace"), labels.get("pod")
        return bool(namespace and pod) and (namespace, pod) in self._gone_pods

    def enrich(self, labels: dict[str, str]) -> dict[str, str]:
        """Labels of a sample or log line with the topology of the pod or PVC they name; theirs win."""
        namespace = labels.get("namespace")
        if not namespace:
            return labels
        if pod := labels.get("pod"):
            return {**self.pod_labels((namespace, pod)), **labels}
        if claim := labels.get("persistentvolumeclaim"):
            return {**self.pvc_labels((namespace, claim)), **labels}
        return labels

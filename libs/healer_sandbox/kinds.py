"""The resources the sandbox serves and writes: the built-ins it simulates, and the custom resources of the
platform (cert-manager Certificates, Argo CD Applications, the agents' CodeRuns, Healer's playbooks), which
it declares for discovery as a cluster with those CRDs installed would.
"""

from __future__ import annotations

import gzip
import importlib.resources
from dataclasses import dataclass

import kmock

PODS = kmock.resource("", "v1", "pods")
NODES = kmock.resource("", "v1", "nodes")
NAMESPACES = kmock.resource("", "v1", "namespaces")
EVENTS = kmock.resource("", "v1", "events")
SECRETS = kmock.resource("", "v1", "secrets")
SERVICES = kmock.resource("", "v1", "services")
ENDPOINTS = kmock.resource("", "v1", "endpoints")
PVCS = kmock.resource("", "v1", "persistentvolumeclaims")
PVS = kmock.resource("", "v1", "persistentvolumes")
DEPLOYMENTS = kmock.resource("apps", "v1", "deployments")
REPLICASETS = kmock.resource("apps", "v1", "replicasets")
JOBS = kmock.resource("batch", "v1", "jobs")
CRDS = kmock.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")


@dataclass(frozen=True)
class CustomResource:
    group: str
    version: str
    plural: str
    kind: str
    short_names: tuple[str, ...] = ()
    status_subresource: bool = True

    @property
    def resource(self) -> kmock.resource:
        return kmock.resource(self.group, self.version, self.plural)

    @property
    def singular(self) -> str:
        return self.kind.lower()


CERTIFICATE = CustomResource("cert-manager.io", "v1", "certificates", "Certificate", ("cert", "certs"))
# Argo CD's Application CRD has no status subresource: its controller writes the whole object.
APPLICATION = CustomResource("argoproj.io", "v1alpha1", "applications", "Application", ("app", "apps"), False)
CODERUN = CustomResource("agents.platform", "v1", "coderuns", "CodeRun", ("cr",))
PLAYBOOK = CustomResource("healer.platform", "v1", "remediationplaybooks", "RemediationPlaybook", ("rpb",))
# A cluster that runs Healer has its CRDs (deploy/k8s/base/crds): the remediator records every run there.
RECORD = CustomResource("healer.platform", "v1", "remediationrecords", "RemediationRecord", ("rrec",))
CUSTOM = (CERTIFICATE, APPLICATION, CODERUN, PLAYBOOK, RECORD)

CERTIFICATES, APPLICATIONS, CODERUNS = CERTIFICATE.resource, APPLICATION.resource, CODERUN.resource
VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


def declare(resources: kmock.ResourcesArray) -> None:
    """Fill the discovery table: kmock's bundled built-ins, plus the custom resources above."""
    # What kmock's load_bundled() reads, read without its deprecated importlib call.
    bundled = importlib.resources.files("kmock._internal").joinpath("resources.json.gz").read_bytes()
    resources.load_data(gzip.decompress(bundled))
    for custom in CUSTOM:
        resources[custom.resource] = kmock.ResourceInfo(
            namespaced=True,
            kind=custom.kind,
            singular=custom.singular,
            verbs=set(VERBS),
            shortnames=set(custom.short_names),
            subresources={"status"} if custom.status_subresource else set(),
        )


def builtin(resource: kmock.resource) -> bool:
    """Built-in kinds take strategic merge patches; custom resources do not."""
    return all(resource != custom.resource for custom in CUSTOM)

"""The sandbox cluster: a scenario-driven stand-in for a real cluster, for `make run`, demos and benchmarks.

It serves, on loopback ports, the Kubernetes API (built on `kmock.KubernetesEmulator`), the Prometheus HTTP
API over simulated series, Loki's `query_range` over simulated logs and GitHub's REST API over the agents'
pull requests, and writes a kubeconfig, so Healer's
collectors and remediator talk to it through exactly the code they use against a real cluster. Scenarios are
YAML files in `scenarios/`; the sandbox reacts to what is done through its API as a cluster would.

    world.py        the simulated cluster stepped by one clock       sandbox.py   the process and its listeners
    listener.py     a loopback HTTP listener that can stop and start again on its port (outages)
    store.py        objects, resource versions, watch fan-out and history
    apiserver.py    the Kubernetes API over HTTP (a KubernetesEmulator subclass)
    selectors.py    label and field selectors          patching.py   merge, strategic-merge and JSON patches
    kinds.py        the resources served (built-ins and the platform's CRDs)
    objects.py      builders of the objects a cluster holds          certs.py   real PEM certificates
    provision.py    the objects the base cluster and the chosen scenarios declare
    cluster.py      cluster state beyond its objects, and what controllers and plays share
    controllers.py  Deployments, ReplicaSets, Jobs, the scheduler    kubelet.py   what a node's kubelet does
    argocd.py, certmanager.py, coderuns.py       Argo CD, cert-manager and the agents' CodeRun controller
    node_outage.py  a node that goes down (kubelet silent, or NotReady) and comes back
    scenario.py     the YAML scenario format, loaded and validated   plays.py     a runner per kind of play
    series.py, scrape.py, promql.py, prometheus_api.py   simulated exporters, their series, PromQL, the HTTP API
    logs.py, loki_api.py                         the simulated logs and Loki's HTTP API
    github.py, github_api.py, stories.py         GitHub (pull requests, checks, issues, quota, webhooks), its
                                                 REST API, and the pull request stories scenarios play on it
    units.py        quantities (512Mi), durations (5m), timestamps
"""

ENDPOINTS_FILE = "sandbox.json"  # written in the sandbox's folder once it serves: its kubeconfig and URLs

"""The sandbox cluster: a scenario-driven stand-in for a real cluster, for `make run`, demos and benchmarks.

It serves, on loopback ports, the Kubernetes API (built on `kmock.KubernetesEmulator`), the Prometheus HTTP
API over simulated series, Loki's `query_range` over simulated logs and GitHub's REST API over the agents'
pull requests, and writes a kubeconfig, so Healer's
collectors and remediator talk to it through exactly the code they use against a real cluster. Scenarios are
YAML files in `scenarios/`; the sandbox reacts to what is done through its API as a cluster would.

    units.py        quantities (512Mi), durations (5m), timestamps
    selectors.py    label and field selectors          patching.py   merge, strategic-merge and JSON patches
    store.py        objects, resource versions, watch fan-out and history
    apiserver.py    the Kubernetes API over HTTP (a KubernetesEmulator subclass)
    objects.py      builders of the objects a cluster holds     certs.py   real PEM certificates
    workloads.py    deployment, replicaset, job controllers, scheduler and kubelet
    operators.py    ArgoCD, cert-manager and CodeRun controllers, endpoints
    scenario.py     the YAML scenario format, loaded and validated
    behaviours.py   what scenarios play (a leak, a filling PVC, drift, ...) as functions of scenario time
    series.py, promql.py, prometheus_api.py      the simulated metrics and their HTTP API
    logs.py, loki_api.py                         the simulated logs and their HTTP API
    github.py, github_api.py, stories.py         GitHub (pull requests, checks, issues, quota, webhooks), its
                                                 REST API, and the pull request stories scenarios play on it
    world.py        everything above stepped by one clock     sandbox.py   the process: listeners, control
"""

ENDPOINTS_FILE = "sandbox.json"  # written in the sandbox's folder once it serves: its kubeconfig and URLs

"""The Kubernetes API client, built once from settings for every service that reads or acts on a cluster.

The official `kubernetes` client is synchronous; callers run its calls in a thread (`asyncio.to_thread`).
No cluster configured (no kubeconfig, not in-cluster) is a normal state: the embedded default and dry runs.
"""

from __future__ import annotations

from pathlib import Path

from kubernetes import client, config

from healer_common.errors import ConfigError
from healer_common.settings import ClusterSettings

SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def api_client(
    cluster: ClusterSettings, *, connections: int | None = None, retries: int | None = None
) -> client.ApiClient | None:
    """An ApiClient for the configured cluster, or None when no cluster is configured.

    In a pod with a mounted service-account token and no kubeconfig set, the pod's own cluster is used, as
    every in-cluster Kubernetes client does. `connections` sizes the connection pool for callers that hold
    many requests open at once (the collector's watches); `retries` replaces urllib3's own quiet retries for
    callers that retry with their own backoff. The client's defaults suit everyone else.
    """
    configuration = client.Configuration()
    if cluster.in_cluster or (cluster.kubeconfig is None and SERVICE_ACCOUNT_TOKEN.is_file()):
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    elif cluster.kubeconfig is None:
        return None
    elif not cluster.kubeconfig.is_file():
        raise ConfigError(f"kubeconfig {cluster.kubeconfig} does not exist", field="cluster.kubeconfig")
    else:
        try:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(cluster.kubeconfig), context=cluster.context, client_configuration=configuration
            )
        except config.ConfigException as exc:
            raise ConfigError(
                f"kubeconfig {cluster.kubeconfig} cannot be used: {exc}", field="cluster.kubeconfig"
            ) from None
    if connections is not None:
        configuration.connection_pool_maxsize = connections
    if retries is not None:
        configuration.retries = retries
    return client.ApiClient(configuration)

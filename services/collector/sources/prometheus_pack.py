"""The default PromQL query pack: the metric names of kube-state-metrics, cAdvisor, the kubelet and
node-exporter (and two common exporters: postgres_exporter, RabbitMQ) turned into signals.py's metrics.

Each query begins with a `# healer:<metric>` comment line naming the signal it produces: a real Prometheus
ignores the comment, and the sandbox cluster answers by that name without a PromQL engine. node-exporter
labels its series by scrape `instance`; joining `node_uname_info` turns that into the `node` every node
signal carries. Slow queries have no exporter-independent name: add your own query with
`emit_as: db_query_duration_p99_seconds`.
"""

from __future__ import annotations

from healer_common.settings.collector import PrometheusQuery

_ON_NODE = """* on (instance) group_left (nodename) node_uname_info,
  "node", "$1", "nodename", "(.+)"))"""
_REAL_FS = 'fstype!~"tmpfs|overlay|squashfs|nsfs|ramfs"'
_CONTAINERS = 'container!="", container!="POD"'

DEFAULT_QUERIES = (
    f"""# healer:node_memory_usage_ratio
max by (node) (label_replace(
  (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)
  {_ON_NODE}""",
    f"""# healer:node_filesystem_usage_ratio
max by (node, mountpoint) (label_replace(
  (1 - node_filesystem_avail_bytes{{{_REAL_FS}}} / node_filesystem_size_bytes{{{_REAL_FS}}})
  {_ON_NODE}""",
    f"""# healer:node_cpu_usage_ratio
max by (node) (label_replace(
  (1 - avg by (instance) (rate(node_cpu_seconds_total{{mode="idle"}}[5m])))
  {_ON_NODE}""",
    """# healer:node_memory_request_ratio
sum by (node) (kube_pod_container_resource_requests{resource="memory"})
  / sum by (node) (kube_node_status_allocatable{resource="memory"} > 0)""",
    """# healer:node_cpu_request_ratio
sum by (node) (kube_pod_container_resource_requests{resource="cpu"})
  / sum by (node) (kube_node_status_allocatable{resource="cpu"} > 0)""",
    """# healer:pvc_usage_ratio
max by (namespace, persistentvolumeclaim) (
  kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes > 0)""",
    f"""# healer:container_memory_usage_ratio
max by (namespace, pod, container) (container_memory_working_set_bytes{{{_CONTAINERS}}})
  / on (namespace, pod, container)
max by (namespace, pod, container) (kube_pod_container_resource_limits{{resource="memory"}} > 0)""",
    """# healer:container_restarts
max by (namespace, pod, container) (kube_pod_container_status_restarts_total)""",
    f"""# healer:namespace_memory_request_ratio
sum by (namespace) (container_memory_working_set_bytes{{{_CONTAINERS}}})
  / sum by (namespace) (kube_pod_container_resource_requests{{resource="memory"}} > 0)""",
    f"""# healer:namespace_cpu_request_ratio
sum by (namespace) (rate(container_cpu_usage_seconds_total{{{_CONTAINERS}}}[5m]))
  / sum by (namespace) (kube_pod_container_resource_requests{{resource="cpu"}} > 0)""",
    """# healer:namespace_memory_quota_ratio
max by (namespace) (
  kube_resourcequota{type="used", resource=~"memory|requests.memory"}
    / on (namespace, resourcequota, resource) kube_resourcequota{type="hard"} > 0)""",
    """# healer:namespace_cpu_quota_ratio
max by (namespace) (
  kube_resourcequota{type="used", resource=~"cpu|requests.cpu"}
    / on (namespace, resourcequota, resource) kube_resourcequota{type="hard"} > 0)""",
    """# healer:network_errors_per_second
sum by (namespace, pod) (
  rate(container_network_receive_errors_total[5m]) + rate(container_network_transmit_errors_total[5m]))""",
    """# healer:apiserver_request_p99_seconds
histogram_quantile(0.99,
  sum by (verb, le) (rate(apiserver_request_duration_seconds_bucket{verb!~"WATCH|CONNECT"}[5m])))""",
    """# healer:db_connection_pool_usage_ratio
max by (namespace, database) (label_replace(
  sum by (namespace, instance, datname) (pg_stat_activity_count)
    / on (namespace, instance) group_left () max by (namespace, instance) (pg_settings_max_connections > 0),
  "database", "$1", "datname", "(.+)"))""",
    """# healer:queue_depth
sum by (namespace, queue) (rabbitmq_queue_messages_ready)""",
)


def default_pack() -> list[PrometheusQuery]:
    return [PrometheusQuery(query=query) for query in DEFAULT_QUERIES]

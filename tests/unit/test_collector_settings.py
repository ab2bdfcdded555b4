"""The collector's settings as an operator meets them: clusters default to the one `cluster`, queries name the
metric they publish, and mistakes are refused at start with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from healer_common.contract.signals import METRICS
from healer_common.errors import ConfigError
from healer_common.settings import load_settings
from services.collector.sources.prometheus_pack import DEFAULT_QUERIES, default_pack


def test_with_no_clusters_listed_the_collector_reads_the_one_cluster_every_service_shares() -> None:
    settings = load_settings(cluster={"name": "prod-eu-1", "in_cluster": True})

    [cluster] = settings.collector.clusters_or(settings.cluster)

    assert (cluster.name, cluster.in_cluster) == ("prod-eu-1", True)


def test_listed_clusters_each_have_their_context_and_their_own_prometheus(tmp_path: Path) -> None:
    config = tmp_path / "healer.yaml"
    config.write_text(
        "collector:\n"
        "  prometheus_url: http://prometheus.shared:9090\n"
        "  clusters:\n"
        "    - {name: prod, kubeconfig: /etc/kube/config, context: prod, prometheus_url: http://prom.prod:9090}\n"
        "    - {name: staging, kubeconfig: /etc/kube/config, context: staging}\n"
    )

    clusters = load_settings(config).collector.clusters_or(load_settings(config).cluster)

    assert [(c.name, c.context, c.prometheus_url) for c in clusters] == [
        ("prod", "prod", "http://prom.prod:9090"),
        ("staging", "staging", None),
    ]


def test_two_clusters_of_one_name_are_refused() -> None:
    with pytest.raises(ConfigError, match="cluster names must be unique; repeated: prod"):
        load_settings(collector={"clusters": [{"name": "prod"}, {"name": "prod"}]})


def test_a_query_names_its_metric_in_a_healer_comment_or_in_emit_as() -> None:
    settings = load_settings(
        collector={
            "prometheus": {
                "queries": [
                    {"query": "# healer:queue_depth\nsum by (queue) (celery_queue_length)"},
                    {"query": "max(pg_slow_queries_p99)", "emit_as": "db_query_duration_p99_seconds"},
                ]
            }
        }
    )

    assert [q.metric for q in settings.collector.prometheus.queries] == ["queue_depth", "db_query_duration_p99_seconds"]


def test_a_query_that_names_no_metric_is_refused_with_what_to_do() -> None:
    with pytest.raises(ConfigError, match="names no metric: set emit_as, or begin it with '# healer:<metric name>'"):
        load_settings(collector={"prometheus": {"queries": [{"query": "up"}]}})


def test_an_unknown_kind_to_watch_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="cannot watch pod; choose from pods"):
        load_settings(collector={"kubernetes": {"resources": ["pod"]}})


def test_every_default_query_publishes_a_metric_of_the_signal_vocabulary() -> None:
    names = [q.metric for q in default_pack()]

    assert len(names) == len(DEFAULT_QUERIES) == len(set(names))
    assert set(names) <= set(METRICS), sorted(set(names) - set(METRICS))
    assert all(q.query.startswith(f"# healer:{q.metric}\n") for q in default_pack())

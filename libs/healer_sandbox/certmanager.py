"""cert-manager, as far as Healer sees it: each Certificate's TLS Secret holds a real certificate whose
`notAfter` is what the Certificate's status reports. Automatic renewal fails in the sandbox (the issuer
is down: the Certificate says so in its `Issuing` condition once its renewal time has passed), but a manual
renewal (`cmctl renew` sets `Issuing` True) or a deleted Secret issues a fresh 90-day certificate.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from healer_sandbox import certs, kinds, objects
from healer_sandbox.cluster import Cluster
from healer_sandbox.scenario import CertificateSpec
from healer_sandbox.store import meta
from healer_sandbox.units import rfc3339

FRESH_VALIDITY = dt.timedelta(days=90)
RENEW_BEFORE = dt.timedelta(days=30)


def _go_duration(delta: dt.timedelta) -> str:
    return f"{int(delta.total_seconds() // 3600)}h0m0s"


def _tls(
    namespace: str, secret: str, certificate: str, dns_names: list[str], *, valid: tuple[dt.datetime, dt.datetime]
) -> dict[str, Any]:
    not_before, not_after = valid
    cert_pem, key_pem = certs.issue(dns_names[0], dns_names, not_before, not_after)
    return objects.tls_secret(namespace, secret, certs.b64(cert_pem), certs.b64(key_pem), certificate)


def _ready(
    not_before: dt.datetime, not_after: dt.datetime, renew_before: dt.timedelta, revision: int, now: dt.datetime
) -> dict[str, Any]:
    return {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Ready",
                "message": "Certificate is up to date and has not expired",
                "lastTransitionTime": rfc3339(now),
                "observedGeneration": 1,
            }
        ],
        "notBefore": rfc3339(not_before),
        "notAfter": rfc3339(not_after),
        "renewalTime": rfc3339(not_after - renew_before),
        "revision": revision,
    }


def certificate(spec: CertificateSpec, now: dt.datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """A Certificate and its Secret, expiring `expires_in` from now."""
    not_after = now + dt.timedelta(seconds=spec.expires_in)
    not_before = not_after - dt.timedelta(seconds=spec.valid_for)
    renew_before = dt.timedelta(seconds=spec.renew_before)
    cert = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": spec.name, "namespace": spec.namespace},
        "spec": {
            "secretName": spec.secret_name,
            "dnsNames": spec.dns_names,
            "issuerRef": {"name": spec.issuer, "kind": "ClusterIssuer", "group": "cert-manager.io"},
            "duration": _go_duration(dt.timedelta(seconds=spec.valid_for)),
            "renewBefore": _go_duration(renew_before),
        },
        "status": _ready(not_before, not_after, renew_before, 1, now),
    }
    return cert, _tls(spec.namespace, spec.secret_name, spec.name, spec.dns_names, valid=(not_before, not_after))


def _issuing(cert: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in cert.get("status", {}).get("conditions") or [] if c.get("type") == "Issuing"]


def _reissue(cluster: Cluster, cert: dict[str, Any], secret: dict[str, Any] | None, now: dt.datetime) -> None:
    namespace, spec = meta(cert)["namespace"], cert["spec"]
    fresh = _tls(namespace, spec["secretName"], meta(cert)["name"], spec["dnsNames"], valid=(now, now + FRESH_VALIDITY))
    if secret is None:
        cluster.store.create(kinds.SECRETS, fresh)
    else:
        cluster.store.write(kinds.SECRETS, {**secret, "data": fresh["data"]})
    revision = int(cert.get("status", {}).get("revision", 0)) + 1
    cluster.put_status(kinds.CERTIFICATES, cert, _ready(now, now + FRESH_VALIDITY, RENEW_BEFORE, revision, now))
    cluster.record(
        cert, "Issuing", "The certificate has been successfully issued", component="cert-manager-certificates-issuing"
    )


def _renewal_failed(cluster: Cluster, cert: dict[str, Any], now: dt.datetime) -> None:
    status = dict(cert["status"])
    failure = {
        "type": "Issuing",
        "status": "False",
        "reason": "Failed",
        "message": "The certificate request has failed to complete and will be retried: the ACME order failed: "
        f"issuer {cert['spec']['issuerRef']['name']} is not ready",
        "lastTransitionTime": rfc3339(now),
    }
    status.update(
        conditions=[*status.get("conditions", []), failure],
        lastFailureTime=rfc3339(now),
        failedIssuanceAttempts=int(status.get("failedIssuanceAttempts", 0)) + 1,
    )
    cluster.put_status(kinds.CERTIFICATES, cert, status)
    cluster.record(cert, "Failed", failure["message"], warning=True, component="cert-manager-certificates-issuing")


def certmanager(cluster: Cluster, now: dt.datetime) -> None:
    for cert in list(cluster.store.items(kinds.CERTIFICATES)):
        secret = cluster.store.get(kinds.SECRETS, meta(cert)["namespace"], cert["spec"]["secretName"])
        issuing = _issuing(cert)
        if secret is None or any(c.get("status") == "True" for c in issuing):
            _reissue(cluster, cert, secret, now)
        elif not issuing and cert.get("status", {}).get("renewalTime", "9") <= rfc3339(now):
            _renewal_failed(cluster, cert, now)


def expiry(cert: dict[str, Any], now: dt.datetime) -> float | None:
    """Seconds until the Certificate's notAfter, as its status reports it."""
    not_after = cert.get("status", {}).get("notAfter")
    if not not_after:
        return None
    return (dt.datetime.fromisoformat(not_after.replace("Z", "+00:00")) - now).total_seconds()

"""TLS certificates and when they expire: `certificate_expiry_seconds`, for H3.

Two places hold them: cert-manager `Certificate`s (status.notAfter) and Secrets of type kubernetes.io/tls
(the first certificate of tls.crt). A Secret that cert-manager manages is left to its Certificate, so one
certificate is one series. The remaining seconds shrink with time alone, so every certificate is sampled at
each resync. Only the expiry is kept of a Secret, never its data.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable

from cryptography import x509

from healer_common.contract.events import MetricSample
from services.collector.observations import Emission, Json, ObjectKey, object_key, parse_time

METRIC = "certificate_expiry_seconds"
MANAGED_BY_CERT_MANAGER = "cert-manager.io/certificate-name"


def tls_secret_expiry(secret: Json) -> dt.datetime | None:
    """notAfter of a TLS Secret's leaf certificate; None for other Secrets and for unreadable data."""
    annotations = (secret.get("metadata") or {}).get("annotations") or {}
    if secret.get("type") != "kubernetes.io/tls" or MANAGED_BY_CERT_MANAGER in annotations:
        return None
    encoded = (secret.get("data") or {}).get("tls.crt")
    if not encoded:
        return None
    try:
        leaf = x509.load_pem_x509_certificates(base64.b64decode(encoded))[0]
    except (ValueError, binascii.Error, IndexError):
        return None
    return leaf.not_valid_after_utc


def certificate_expiry(certificate: Json) -> dt.datetime | None:
    return parse_time((certificate.get("status") or {}).get("notAfter"))


def secret_labels(secret: Json) -> dict[str, str]:
    namespace, name = object_key(secret)
    return {"namespace": namespace, "secret": name}


def certificate_labels(certificate: Json) -> dict[str, str]:
    namespace, name = object_key(certificate)
    labels = {"namespace": namespace, "certificate": name}
    if secret := (certificate.get("spec") or {}).get("secretName"):
        labels["secret"] = str(secret)
    return labels


class ExpiryTracker:
    """Certificates of one kind: their expiry, sampled when seen and at every resync."""

    def __init__(self, expiry: Callable[[Json], dt.datetime | None], labels: Callable[[Json], dict[str, str]]) -> None:
        self._expiry = expiry
        self._labels = labels
        self._known: dict[ObjectKey, tuple[dt.datetime, dict[str, str]]] = {}

    @classmethod
    def for_secrets(cls) -> ExpiryTracker:
        return cls(tls_secret_expiry, secret_labels)

    @classmethod
    def for_certificates(cls) -> ExpiryTracker:
        return cls(certificate_expiry, certificate_labels)

    def observe(self, obj: Json, now: dt.datetime) -> Emission:
        key, expires = object_key(obj), self._expiry(obj)
        if expires is None:
            self._known.pop(key, None)
            return Emission()
        self._known[key] = (expires, self._labels(obj))
        return Emission(samples=[self._sample(key, now)])

    def _sample(self, key: ObjectKey, now: dt.datetime) -> MetricSample:
        expires, labels = self._known[key]
        return MetricSample(name=METRIC, value=(expires - now).total_seconds(), labels=labels, time=now)

    def remove(self, key: ObjectKey, now: dt.datetime) -> Emission:
        del now
        self._known.pop(key, None)
        return Emission()

    def keys(self) -> list[ObjectKey]:
        return list(self._known)

    def resync(self, now: dt.datetime) -> Emission:
        return Emission(samples=[self._sample(key, now) for key in self._known])

"""Real X.509 certificates for the sandbox's TLS Secrets, so that whoever reads a Secret finds its expiry in
the PEM (`notAfter`) exactly as in a real cluster, not in a made-up annotation.
"""

from __future__ import annotations

import base64
import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def issue(common_name: str, dns_names: list[str], not_before: dt.datetime, not_after: dt.datetime) -> tuple[str, str]:
    """A self-signed certificate and its key, as PEM text (tls.crt, tls.key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names or [common_name]]), False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert_pem, key_pem


def not_after(cert_pem: str) -> dt.datetime:
    """When a PEM certificate expires (tz-aware UTC)."""
    return x509.load_pem_x509_certificate(cert_pem.encode()).not_valid_after_utc


def b64(text: str) -> str:
    """Secret data is base64 in the API."""
    return base64.b64encode(text.encode()).decode()


def from_secret_data(data: dict[str, str], key: str = "tls.crt") -> str:
    return base64.b64decode(data[key]).decode()

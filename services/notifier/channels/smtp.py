"""E-mail through SMTP (aiosmtplib): the daily digest, as plain text with an HTML alternative. Which server
and how to secure the connection are settings (smtp_*); a refused recipient or login is given up, a server
that is down or busy is tried again at the next digest tick.
"""

from __future__ import annotations

import email.message
import email.utils
from dataclasses import dataclass

import aiosmtplib

from healer_common.errors import Permanent, Retryable
from healer_common.settings import NotifierSettings
from services.notifier.digest import Mail


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str
    username: str | None
    password: str | None
    timeout_s: float

    @classmethod
    def from_settings(cls, cfg: NotifierSettings) -> SmtpServer | None:
        if cfg.smtp_host is None:
            return None
        password = cfg.smtp_password.get_secret_value() if cfg.smtp_password else None
        return cls(cfg.smtp_host, cfg.smtp_port, cfg.smtp_security, cfg.smtp_username, password, cfg.timeout_s)


def message(mail: Mail, sender: str, recipients: list[str]) -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["Subject"] = mail.subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = email.utils.formatdate(usegmt=True)
    msg["Message-ID"] = email.utils.make_msgid(domain="healer")
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg


async def send_mail(server: SmtpServer, mail: Mail, sender: str, recipients: list[str]) -> None:
    try:
        await aiosmtplib.send(
            message(mail, sender, recipients),
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.security == "tls",
            start_tls=server.security == "starttls",
            timeout=server.timeout_s,
        )
    except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPAuthenticationError, aiosmtplib.SMTPSenderRefused) as exc:
        raise Permanent(f"the SMTP server refused the digest: {type(exc).__name__}: {exc}") from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise Retryable(f"SMTP server {server.host}:{server.port} unavailable: {type(exc).__name__}") from None

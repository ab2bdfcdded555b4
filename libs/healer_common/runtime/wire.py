"""What a Healer message looks like on the bus: its body and headers as the service runner (bus.py) and the
short-lived client (busclient.py) publish it. An alert gets its links (`alerts.runbook_url`,
`alerts.generator_url`) and goes out in the configured schema version (`alerts.schema_version`; 1 for
subscribers not migrated yet, see contract/alerts.py). Kept apart from bus.py so the client loads no faststream.
"""

from __future__ import annotations

import json

from healer_common.contract.alerts import Alert, linked
from healer_common.contract.codec import encode
from healer_common.contract.headers import headers_for
from healer_common.contract.messages import Message
from healer_common.settings import AlertsSettings


def on_the_wire(message: Message, alerts: AlertsSettings) -> tuple[bytes, dict[str, str]]:
    """The body and headers `message` is published with."""
    if isinstance(message, Alert):
        message = linked(message, runbook_url=alerts.runbook_url, generator_url=alerts.generator_url)
        if alerts.schema_version == 1:
            return json.dumps(message.as_v1()).encode(), {**headers_for(message), "Healer-Schema": "Alert.v1"}
    return encode(message), headers_for(message)

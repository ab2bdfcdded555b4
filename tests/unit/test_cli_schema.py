"""`healer schema`: the published JSON Schema comes from the models, and a stale copy is noticed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from healer_cli.schema import SCHEMAS, schema_text, stale, write
from healer_common.contract.events import EVENT_TYPES

PUBLISHED = Path(__file__).resolve().parents[2] / "schemas"


def test_the_event_schema_offers_exactly_the_five_event_types() -> None:
    schema = json.loads(schema_text("event.schema.json"))

    assert schema["discriminator"]["propertyName"] == "type"
    assert set(schema["discriminator"]["mapping"]) == set(EVENT_TYPES)
    assert len(EVENT_TYPES) == 5
    assert len(schema["oneOf"]) == 5


def test_the_event_schema_is_a_draft_2020_12_document_with_an_id_and_title() -> None:
    schema = json.loads(schema_text("event.schema.json"))

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://healer.platform/schemas/event.schema.json"
    assert "CloudEvents" in schema["title"]


def test_the_change_event_schema_uses_the_json_name_from() -> None:
    schema = json.loads(schema_text("event.schema.json"))

    assert "from" in schema["$defs"]["ChangeData"]["properties"]


def test_the_alertmanager_schema_uses_alertmanagers_field_names() -> None:
    schema = json.loads(schema_text("alertmanager-webhook.schema.json"))

    assert "startsAt" in schema["$defs"]["AlertmanagerAlert"]["properties"]


def test_every_schema_is_valid_json_and_generated_the_same_way_twice() -> None:
    for name in SCHEMAS:
        assert json.loads(schema_text(name))["$id"].endswith(name)
        assert schema_text(name) == schema_text(name)


def test_freshly_written_schemas_are_not_stale(tmp_path: Path) -> None:
    written = write(tmp_path / "schemas")

    assert sorted(p.name for p in written) == sorted(SCHEMAS)
    assert stale(tmp_path / "schemas") == []


def test_a_schema_file_edited_by_hand_is_stale(tmp_path: Path) -> None:
    write(tmp_path)
    edited = tmp_path / "alert.schema.json"
    edited.write_text(edited.read_text().replace('"critical"', '"fatal"'))

    assert stale(tmp_path) == ["alert.schema.json"]


def test_a_missing_schema_file_is_stale(tmp_path: Path) -> None:
    write(tmp_path)
    (tmp_path / "incident.schema.json").unlink()

    assert stale(tmp_path) == ["incident.schema.json"]


def test_an_empty_directory_is_entirely_stale(tmp_path: Path) -> None:
    assert stale(tmp_path) == list(SCHEMAS)


@pytest.mark.skipif(not PUBLISHED.is_dir(), reason="this checkout publishes no schemas/ folder")
def test_the_published_schemas_match_the_models() -> None:
    assert stale(PUBLISHED) == [], "the models changed: run `healer schema --write schemas`"

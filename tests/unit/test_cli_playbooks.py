"""`healer playbooks validate | show | edit`, as an operator meets them: an error names the field and the
reason, and an edit is saved only when it validates, to where the playbook lives."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from healer_cli.main import app
from tests.support.remediation_helpers import playbook_doc

RESTART = playbook_doc("restart-it", {"type": "restart_pod", "timeout": "3m"})


@pytest.fixture
def workspace(tmp_path: Path, unused_tcp_port: int) -> Path:
    """A config whose playbook folder holds one playbook; Redis points at a closed port (no confidences)."""
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "restart.yaml").write_text(yaml.safe_dump(RESTART, sort_keys=False))
    settings = {
        "redis": {"url": f"redis://127.0.0.1:{unused_tcp_port}/0"},
        "remediator": {"playbook_paths": [str(folder)]},
    }
    (tmp_path / "healer.yaml").write_text(yaml.safe_dump(settings))
    return tmp_path


def healer(workspace: Path, *args: str, editor: str | None = None) -> Any:
    env = {"EDITOR": editor} if editor else {}
    return CliRunner().invoke(app, [*args, "--config", str(workspace / "healer.yaml")], env=env)


def editor(replace: str, by: str) -> str:
    """An $EDITOR that replaces text in the file it is given."""
    script = (
        f"import sys, pathlib; p = pathlib.Path(sys.argv[1]); p.write_text(p.read_text().replace({replace!r}, {by!r}))"
    )
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}"


def test_validate_accepts_a_good_file_and_names_its_playbooks(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(RESTART))

    result = CliRunner().invoke(app, ["playbooks", "validate", str(path)])

    assert result.exit_code == 0, result.output
    assert "valid: 1 playbook(s): restart-it" in result.output


def test_validate_refuses_a_bad_file_naming_the_field_and_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(playbook_doc("bad", {"type": "scale_up", "params": {"maxReplicas": 0}})))

    result = CliRunner().invoke(app, ["playbooks", "validate", str(path)])

    assert result.exit_code == 1
    assert "spec.actions[0].params.maxReplicas" in result.output
    assert "greater than or equal to 1" in result.output


def test_validate_reports_every_problem_of_every_document_at_once(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    first = playbook_doc("first", {"type": "reboot_cluster"}, {"type": "scale_up", "params": {"by": 0}})
    second = playbook_doc("second", {"type": "restart_pod", "condition": "maybe"})
    path.write_text(yaml.safe_dump_all([first, second]))

    result = CliRunner().invoke(app, ["playbooks", "validate", str(path)])

    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith(f"invalid: {path}")]
    assert len(problems) == 3, result.output
    assert f"{path}, document 1: spec.actions[0].type: unknown action type 'reboot_cluster'" in problems[0]
    assert "document 1: spec.actions[1].params.by" in problems[1]
    assert "document 2: spec.actions[0].condition" in problems[2]


def test_validate_refuses_an_alert_id_the_catalogue_does_not_have(tmp_path: Path) -> None:
    path = tmp_path / "unknown.yaml"
    path.write_text(yaml.safe_dump(playbook_doc("ghost", {"type": "notify"}, alerts=("H8", "H99"))))

    result = CliRunner().invoke(app, ["playbooks", "validate", str(path)])

    assert result.exit_code == 1
    assert "spec.trigger.alerts[1]: unknown alert id 'H99'" in result.output


@pytest.mark.parametrize(
    ("action", "kinds", "misfit"),
    [("restart_pod", ["Node"], "Node"), ("drain_node", ["Pod"], "Pod"), ("scale_up", ["Pod", "Node"], "Node")],
)
def test_validate_refuses_an_action_that_cannot_act_on_the_kinds_the_trigger_lets_in(
    tmp_path: Path, action: str, kinds: list[str], misfit: str
) -> None:
    path = tmp_path / "misfit.yaml"
    document = playbook_doc("misfit", {"type": action})
    document["spec"]["trigger"]["targetKinds"] = kinds
    path.write_text(yaml.safe_dump(document))

    result = CliRunner().invoke(app, ["playbooks", "validate", str(path)])

    assert result.exit_code == 1
    assert f"spec.actions[0].type: {action} acts on" in result.output
    assert f"targetKinds also let in {misfit}" in result.output


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n---\n"], ids=["empty", "comment", "separators"])
def test_validate_refuses_a_file_with_no_playbook_in_it(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text)

    result = CliRunner().invoke(app, ["playbooks", "validate", str(path)])

    assert result.exit_code == 1
    assert "no playbook" in result.output
    assert "valid: 0" not in result.output


def test_show_prints_the_playbook_as_written_and_where_it_comes_from(workspace: Path) -> None:
    result = healer(workspace, "playbooks", "show", "restart-it")

    assert result.exit_code == 0, result.output
    assert f"source: {workspace / 'playbooks' / 'restart.yaml'}" in result.output
    assert yaml.safe_load(result.output.split("\n", 1)[1])["spec"]["actions"] == [
        {"type": "restart_pod", "timeout": "3m"}
    ]


def test_an_edit_that_validates_is_saved_back_to_its_file(workspace: Path) -> None:
    result = healer(workspace, "playbooks", "edit", "restart-it", editor=editor("timeout: 3m", "timeout: 4m"))

    assert result.exit_code == 0, result.output
    saved = yaml.safe_load((workspace / "playbooks" / "restart.yaml").read_text())
    assert saved["spec"]["actions"][0]["timeout"] == "4m"


def test_an_edit_that_does_not_validate_is_not_saved(workspace: Path) -> None:
    before = (workspace / "playbooks" / "restart.yaml").read_text()

    result = healer(workspace, "playbooks", "edit", "restart-it", editor=editor("restart_pod", "reboot_node"))

    assert result.exit_code == 1
    assert "not saved" in result.output
    assert "unknown action type 'reboot_node'" in result.output
    assert (workspace / "playbooks" / "restart.yaml").read_text() == before


def test_editing_a_builtin_writes_an_override_into_the_playbook_folder(workspace: Path) -> None:
    result = healer(
        workspace, "playbooks", "edit", "pvc-cleanup", editor=editor("olderThanMinutes: 60", "olderThanMinutes: 240")
    )

    assert result.exit_code == 0, result.output
    override = yaml.safe_load((workspace / "playbooks" / "pvc-cleanup.yaml").read_text())
    assert override["spec"]["actions"][0]["params"]["olderThanMinutes"] == 240
    shown = healer(workspace, "playbooks", "show", "pvc-cleanup")
    assert f"source: {workspace / 'playbooks' / 'pvc-cleanup.yaml'}" in shown.output


def test_list_shows_every_playbook_and_says_when_confidences_are_unavailable(workspace: Path) -> None:
    result = healer(workspace, "playbooks", "list")

    assert result.exit_code == 0, result.output
    assert "restart-it" in result.output
    assert "oom-restart-then-scale" in result.output
    assert "warning: confidences are not shown: cannot reach Redis at redis://127.0.0.1:" in result.output

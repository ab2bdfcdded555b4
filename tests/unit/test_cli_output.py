"""What the CLI prints, as a person reads it: tables that never cut a name or an id (wrapping details on a
terminal, plain lines when piped or too narrow), text from outside printed as it is (a `[...]` is not rich
markup), `--version`, `--json` on `playbooks list`, and shell completion of every command."""

from __future__ import annotations

import io
import json
from pathlib import Path

import yaml
from rich.console import Console
from typer.testing import CliRunner

from healer_cli.main import app
from healer_cli.tables import Column, show

NAMES = ["collector", "remediator", "memory-bridge", "a-service-with-a-rather-long-name"]
DETAIL = "consumer lag is growing since the last deploy of the correlator; see the dashboard for details " * 2


def rendered(console: Console) -> str:
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def print_services(width: int, *, terminal: bool) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=terminal, color_system=None)
    rows = [[name, "up", DETAIL] for name in NAMES]
    show(console, [Column("service", key=True), Column("state"), Column("detail")], rows, title="Services")
    return rendered(console)


def test_a_narrow_terminal_wraps_the_details_and_keeps_every_name_whole() -> None:
    text = print_services(70, terminal=True)

    assert "│" in text, "a table on a terminal"
    for name in NAMES:
        assert name in text
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 70


def test_a_terminal_too_narrow_for_the_names_gets_plain_lines() -> None:
    text = print_services(30, terminal=True)

    assert "│" not in text
    assert [line.split()[0] for line in text.splitlines()[2:6]] == NAMES


def test_piped_output_is_one_plain_line_per_row_with_every_cell_whole() -> None:
    text = print_services(40, terminal=False)

    lines = text.splitlines()
    assert lines[0] == "Services"
    assert lines[1].split() == ["service", "state", "detail"]
    remediator = next(line for line in lines if line.startswith("remediator"))
    assert remediator.endswith(DETAIL.rstrip())


def test_text_from_outside_prints_as_it_is_not_as_markup() -> None:
    result = CliRunner().invoke(app, ["history", "--since", "[bold]soon[/bold]"])

    assert result.exit_code == 2
    assert "--since: '[bold]soon[/bold]' is not a duration" in result.output


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.output.strip().startswith("healer 0.")


def test_playbooks_list_json_without_redis_lists_every_playbook_with_unknown_confidence(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    config = tmp_path / "healer.yaml"
    config.write_text(yaml.safe_dump({"redis": {"url": f"redis://127.0.0.1:{unused_tcp_port}/0"}}))

    result = CliRunner().invoke(app, ["playbooks", "list", "--json", "--config", str(config)])

    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    restart = next(r for r in records if r["name"] == "failing-pod-restart")
    assert restart["alerts"] == ["A7", "A2"]
    assert restart["actions"][0] == "restart_pod"
    assert restart["confidence"] is None


def complete(words: str) -> list[str]:
    """What bash completion offers for `words` (the last one being typed), asked as bash asks the script."""
    env = {"_HEALER_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)}
    result = CliRunner().invoke(app, [], env=env, prog_name="healer")
    assert result.exit_code == 0, result.output
    return result.output.split()


def test_bash_completion_offers_commands_and_sub_commands() -> None:
    assert complete("healer sta") == ["status"]
    assert complete("healer playbooks v") == ["validate"]
    assert "--json" in complete("healer silence list --")

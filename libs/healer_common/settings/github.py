"""GitHub (`HEALER_GITHUB__*`): the repositories whose pull requests the agents work through.

The collector's github source reads them (pull requests, comments, reviews, commits, check runs and workflow
runs, with conditional requests and the rate limit respected) and accepts GitHub's signed webhooks; the
remediator reads the pull request a remediation CodeRun opened, to learn whether it merged and passed its
checks. The notifier's GitHub issues have their own settings (`notifier.github_*`).
"""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from healer_common.settings.section import Section, repeated

REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class GitHubSettings(Section):
    repositories: list[str] = Field(
        default_factory=list, description="owner/repo whose pull requests the collector reads; [] reads none"
    )
    api_url: str = Field("https://api.github.com", description="GitHub REST API base URL")
    token: SecretStr | None = Field(None, description="GitHub token; read-only access to the repositories is enough")
    interval_s: float = Field(30.0, gt=0, description="how often each repository's open pull requests are read")
    timeout_s: float = Field(10.0, gt=0, description="HTTP timeout of one GitHub request")
    max_pull_requests: int = Field(50, ge=1, le=100, description="open pull requests read per repository")
    max_pages: int = Field(
        3, ge=1, le=20, description="pages of 100 comments, reviews or commits read per pull request"
    )
    rate_reserve: int = Field(
        50, ge=0, description="requests of the hourly quota left untouched: below it, reading waits for the reset"
    )
    webhook_secret: SecretStr | None = Field(
        None,
        description="secret of the repository webhook (X-Hub-Signature-256) that POST /github/webhook on the "
        "collector accepts; unset: the endpoint refuses everything",
    )
    task_pattern: str = Field(
        r"(?i)\btask[-_/ ]?(\d+)\b",
        description="finds a PR's task id in its labels, then its branch, then its title (the first group)",
    )

    @field_validator("repositories")
    @classmethod
    def _owner_slash_repo(cls, value: list[str]) -> list[str]:
        if bad := [r for r in value if not REPOSITORY.match(r)]:
            raise ValueError(f"repositories are owner/repo; not: {', '.join(bad)}")
        if twice := repeated(value):
            raise ValueError(f"repositories must be listed once; repeated: {', '.join(twice)}")
        return value

    @field_validator("task_pattern")
    @classmethod
    def _one_group(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"task_pattern is not a regular expression: {exc}") from None
        if compiled.groups < 1:
            raise ValueError("task_pattern needs a group that captures the task id, e.g. task-(\\d+)")
        return value

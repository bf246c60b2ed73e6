"""The GitHub workflows must run what .ci/run runs, and deploy only what passed it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"

#: `make` followed by its first target, as written in a shell line.
MAKE_TARGET = re.compile(r"(?:^|[;&|]\s*|\s)make\s+(?:-\S+\s+)*([a-z][a-z0-9-]*)")
#: A pinned remote action: owner/repo[/path]@<40 hex digits> # <version>.
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def workflow(name: str) -> dict[str, Any]:
    # PyYAML reads the key `on` as the boolean True.
    return yaml.safe_load((WORKFLOWS / name).read_text())


def make_targets(shell: str) -> set[str]:
    targets = set()
    for line in shell.splitlines():
        code = line.split("#", 1)[0]
        targets.update(MAKE_TARGET.findall(code))
    return targets


def run_steps(document: dict[str, Any]) -> list[str]:
    return [
        step["run"]
        for job in document["jobs"].values()
        for step in job.get("steps", [])
        if "run" in step
    ]


def test_make_targets_finds_each_form() -> None:
    shell = "make test\nmake -s lint  # make ignored\nfoo && make docker-smoke\n# make nothing\n"

    assert make_targets(shell) == {"test", "lint", "docker-smoke"}


def test_ci_matches_ci_run_targets() -> None:
    ci_run = make_targets((ROOT / ".ci" / "run").read_text())
    ci_workflow = set().union(*(make_targets(run) for run in run_steps(workflow("ci.yml"))))

    assert ci_workflow == ci_run
    assert {"test", "docker-smoke", "ship-check"} <= ci_run


def test_ci_tests_every_database() -> None:
    test_job = workflow("ci.yml")["jobs"]["test"]

    assert test_job["env"]["REQUIRE_ALL_DATABASES"] == "1"
    assert test_job["env"]["TEST_MARIADB_URL"].startswith("mysql+pymysql://root:test@127.0.0.1:3306/")
    assert test_job["env"]["TEST_POSTGRESQL_URL"].startswith("postgresql+psycopg://postgres:test@127.0.0.1:5432/")
    assert set(test_job["services"]) == {"mysql", "postgres"}
    assert test_job["services"]["mysql"]["image"].startswith("mysql:8")


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml"])
def test_actions_are_pinned_by_commit_sha(name: str) -> None:
    document = workflow(name)
    uses = [
        step["uses"]
        for job in document["jobs"].values()
        for step in job.get("steps", [])
        if "uses" in step
    ]
    text = (WORKFLOWS / name).read_text()

    assert uses
    for action in uses:
        assert PINNED.match(action), f"{action} is not pinned to a full commit SHA"
        assert re.search(re.escape(action) + r" # v\d", text), f"{action} has no version comment"


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml"])
def test_permissions_start_empty(name: str) -> None:
    document = workflow(name)

    assert document["permissions"] == {}
    for job_name, job in document["jobs"].items():
        granted = job.get("permissions", {})
        if job_name == "deploy":
            assert granted == {"contents": "read", "id-token": "write"}
        else:
            assert granted == {"contents": "read"}


def test_deploy_runs_after_ci_passes_on_main() -> None:
    document = workflow("deploy.yml")
    jobs = document["jobs"]

    assert document[True]["push"] == {"branches": ["main"]}
    assert jobs["ci"]["uses"] == "$/.github/workflows/ci.yml"
    assert jobs["deploy"]["needs"] == "ci"
    assert document["concurrency"] == {"group": "deploy-production", "cancel-in-progress": False}
    # CI on main runs through deploy.yml, so a push to main runs it once.
    assert workflow("ci.yml")[True]["push"] == {"branches-ignore": ["main"]}


def test_deploy_migrates_before_the_rollout() -> None:
    steps = workflow("deploy.yml")["jobs"]["deploy"]["steps"]
    names = [step.get("name", step.get("uses", "")) for step in steps]

    order = [
        "Build and push the image",
        "Render the task definition",
        "Migrate the database (one-off task)",
        "Deploy the service and wait for it to be stable",
        "Smoke-test the public URL",
    ]
    assert [name for name in names if name in order] == order
    migrate = steps[names.index("Migrate the database (one-off task)")]["run"]
    assert '["activity-recommender", "db", "upgrade"]' in migrate
    deploy = steps[names.index("Deploy the service and wait for it to be stable")]["run"]
    assert "aws ecs wait services-stable" in deploy


def test_deploy_builds_arm64_once_per_commit() -> None:
    steps = workflow("deploy.yml")["jobs"]["deploy"]["steps"]
    build = next(step for step in steps if step.get("name") == "Build and push the image")

    assert build["with"]["platforms"] == "linux/arm64"
    assert build["with"]["tags"].endswith(":${{ github.sha }}")
    assert build["if"] == "steps.existing.outputs.found == 'false'"

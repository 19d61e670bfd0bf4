"""What a reviewer checks in the GitHub Actions workflows (.github/workflows/).

Both files are validated against GitHub's workflow schema as check-jsonschema vendors it and
audited by zizmor, offline, as subprocesses from this virtualenv; then their structure is
checked: CI runs what the README says, delivery deploys prod only from the `prod`
environment, OIDC only where a role is assumed, every action pinned to a commit, no AWS keys.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
DELIVERY = WORKFLOWS / "delivery.yml"
BIN = Path(sys.executable).parent
TOOL_TIMEOUT = 60  # seconds; each tool takes about a second

# What the bootstrap stack's outputs become, as each GitHub environment's variables.
VARIABLES = {"AWS_REGION", "DEPLOY_ROLE_ARN", "CFN_EXECUTION_ROLE_ARN", "ARTIFACTS_BUCKET"}
CONFIGURE_AWS = "aws-actions/configure-aws-credentials"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
# The inputs and variables that carry stored keys, and the shape of a key id itself.
AWS_KEYS = re.compile(
    r"aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY"
    r"|AWS_SESSION_TOKEN|\bA[KS]IA[0-9A-Z]{16}\b"
)


def load(path: Path) -> dict[str, Any]:
    workflow: dict[Any, Any] = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def runs(job: dict[str, Any]) -> list[str]:
    return [" ".join(step["run"].split()) for step in steps(job) if "run" in step]


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in steps(job) if step.get("uses", "").split("@")[0] == action]


def every_job() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path in (CI, DELIVERY):
        for name, job in load(path)["jobs"].items():
            yield path.name, name, job


def needed_by(jobs: dict[str, Any], name: str) -> set[str]:
    """Every job that must succeed before `name` starts."""
    needs = jobs[name].get("needs", [])
    direct = {needs} if isinstance(needs, str) else set(needs)
    return direct.union(*(needed_by(jobs, other) for other in direct))


def run_tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    executable = BIN / name
    if not executable.exists():
        pytest.fail(f"{name} is not installed next to {sys.executable} (pip install -e '.[test]')")
    return subprocess.run(
        [str(executable), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        env={**os.environ, "ZIZMOR_OFFLINE": "true"},
        check=False,
    )


def zizmor(*paths: Path) -> list[dict[str, Any]]:
    """zizmor's findings of medium severity or higher; offline, so no audit calls GitHub."""
    result = run_tool(
        "zizmor", "--offline", "--min-severity", "medium", "--format", "json",
        *map(str, paths),
    )  # fmt: skip
    # zizmor exits 0 with no findings, 1x with findings; 1 and 2 are its own failures.
    assert result.returncode in (0, *range(10, 15)), result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout)
    return findings


def schema_errors(*paths: Path) -> str:
    """check-jsonschema's report against GitHub's workflow schema it ships (no download)."""
    result = run_tool(
        "check-jsonschema", "--builtin-schema", "vendor.github-workflows",
        "--output-format", "text", *map(str, paths),
    )  # fmt: skip
    return "" if result.returncode == 0 else result.stdout + result.stderr


# ---------------------------------------------------------------- linters


def test_the_workflows_match_githubs_workflow_schema() -> None:
    assert schema_errors(CI, DELIVERY) == ""


def test_every_job_that_runs_has_a_timeout() -> None:
    # check-jsonschema's own schema for it; GitHub's default is 6 hours.
    result = run_tool(
        "check-jsonschema", "--builtin-schema", "custom.github-workflows-require-timeout",
        str(CI), str(DELIVERY),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_of_medium_severity_or_higher() -> None:
    findings = zizmor(CI, DELIVERY)

    assert [(f["ident"], f["desc"]) for f in findings] == []


def test_the_linters_catch_an_injectable_unpinned_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request_target\n"
        "jobs:\n"
        "  greet:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: someone/greeter@v1\n"
        "      - run: echo '${{ github.event.pull_request.title }}'\n"
    )
    schema_broken = tmp_path / "schema.yml"
    schema_broken.write_text("on: push\njobs:\n  greet:\n    steps:\n      - run: echo hi\n")

    found = {finding["ident"] for finding in zizmor(bad)}

    assert {"template-injection", "unpinned-uses", "dangerous-triggers"} <= found
    assert "runs-on" in schema_errors(schema_broken)


# ---------------------------------------------------------------- CI


def test_ci_runs_exactly_the_readme_test_command_on_pull_requests_and_pushes() -> None:
    workflow = load(CI)
    (job,) = workflow["jobs"].values()

    assert {"pull_request", "push", "workflow_call"} <= set(workflow["on"])
    assert runs(job) == ["bash .ci/run"]
    assert str(job["env"]["CI"]) == "true"
    assert ".ci/run" in CI.read_text()
    # .ci/run ends in the README's command.
    script = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert script[-1] == "make test"
    assert "make test" in (ROOT / "README.md").read_text()


def test_ci_has_both_pythons_the_tests_need_and_caches_pip_on_pyproject() -> None:
    (job,) = load(CI)["jobs"].values()
    (setup,) = uses(job, "actions/setup-python")

    versions = str(setup["with"]["python-version"]).split()
    # 3.11, the oldest the tool supports, last, so it is python3; 3.13 for `sam build`.
    assert versions == ["3.13", "3.11"]
    assert setup["with"]["cache"] == "pip"
    assert setup["with"]["cache-dependency-path"] == "pyproject.toml"
    assert load(CI)["permissions"] == {"contents": "read"}


# ---------------------------------------------------------------- delivery


def test_delivery_runs_on_main_one_at_a_time_never_cancelled() -> None:
    workflow = load(DELIVERY)

    assert workflow["on"]["push"] == {"branches": ["main"]}
    assert "workflow_dispatch" in workflow["on"]
    assert workflow["concurrency"] == {"group": "delivery", "cancel-in-progress": False}


def test_delivery_tests_builds_deploys_dev_checks_it_then_prod() -> None:
    jobs = load(DELIVERY)["jobs"]

    assert jobs["test"]["uses"] == "./.github/workflows/ci.yml"
    assert needed_by(jobs, "build") == {"test"}
    assert needed_by(jobs, "deploy-dev") == {"test", "build"}
    assert needed_by(jobs, "integration-dev") == {"test", "build", "deploy-dev"}
    assert needed_by(jobs, "deploy-prod") == {"test", "build", "deploy-dev", "integration-dev"}
    assert runs(jobs["build"]) == ["make .venv/.installed-test", ".venv/bin/sam build"]
    (upload,) = uses(jobs["build"], "actions/upload-artifact")
    for name in ("deploy-dev", "deploy-prod"):
        (download,) = uses(jobs[name], "actions/download-artifact")
        assert download["with"]["name"] == upload["with"]["name"]
        assert download["with"]["path"] == upload["with"]["path"] == ".aws-sam/build"


def test_each_environment_deploys_its_own_stack_from_its_own_environment() -> None:
    jobs = load(DELIVERY)["jobs"]
    deploys = {
        name: command
        for name, job in jobs.items()
        for command in runs(job)
        if "sam deploy" in command
    }

    assert set(deploys) == {"deploy-dev", "deploy-prod"}
    for name, command in deploys.items():
        environment = jobs[name]["environment"]
        assert name == f"deploy-{environment}"
        assert f"--config-env {environment} " in command
        # samconfig.toml resolves its own bucket; the bootstrap's replaces it.
        for option in ("--no-fail-on-empty-changeset", "--no-confirm-changeset",
                       '--role-arn "$CFN_EXECUTION_ROLE_ARN"',
                       '--s3-bucket "$ARTIFACTS_BUCKET"', "--no-resolve-s3"):  # fmt: skip
            assert option in command, (name, option)
    prod = [name for name, job in jobs.items() if "prod" in json.dumps(job)]
    assert prod == ["deploy-prod"]
    assert jobs["deploy-prod"]["environment"] == "prod"


def test_the_integration_suite_checks_dev_and_a_smoke_run_checks_prod() -> None:
    jobs = load(DELIVERY)["jobs"]
    samconfig = tomllib.loads((ROOT / "samconfig.toml").read_text())
    stack = {env: samconfig[env]["global"]["parameters"]["stack_name"] for env in ("dev", "prod")}

    assert runs(jobs["integration-dev"]) == [
        f'make integration STACK={stack["dev"]} REGION="$AWS_REGION"'
    ]
    prod = runs(jobs["deploy-prod"])
    assert prod[-1] == f'make integration STACK={stack["prod"]} REGION="$AWS_REGION" SMOKE=1'
    assert "sam deploy" in prod[-2]


# ---------------------------------------------------------------- security


def test_oidc_only_in_jobs_that_assume_a_role_from_their_environment() -> None:
    assert load(DELIVERY)["permissions"] == {}
    for workflow, name, job in every_job():
        permissions = job.get("permissions", {})
        assumes = uses(job, CONFIGURE_AWS)
        assert (permissions.get("id-token") == "write") == bool(assumes), (workflow, name)
        # Nothing else is written: no contents, packages, deployments...
        writes = {scope for scope, level in permissions.items() if level == "write"}
        assert writes <= {"id-token"}, (workflow, name)
        for step in assumes:
            # Each environment's role trusts only jobs in that environment.
            assert job["environment"] in ("dev", "prod"), (workflow, name)
            assert step["with"] == {
                "role-to-assume": "${{ vars.DEPLOY_ROLE_ARN }}",
                "aws-region": "${{ vars.AWS_REGION }}",
            }
        if workflow == DELIVERY.name:
            assert "permissions" in job, f"{name} must say which permissions it needs"


def test_the_workflows_read_the_four_variables_and_no_secret() -> None:
    text = CI.read_text() + DELIVERY.read_text()

    assert set(re.findall(r"\bvars\.(\w+)", text)) == VARIABLES
    assert "secrets." not in text
    assert not AWS_KEYS.search(text)


def test_no_run_script_holds_an_expression() -> None:
    # Values reach scripts through env:, so nothing is pasted into the shell.
    for workflow, name, job in every_job():
        for step in steps(job):
            assert "${{" not in step.get("run", ""), (workflow, name, step)


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    for path in (CI, DELIVERY):
        for line in path.read_text().splitlines():
            match = re.match(r"\s*(?:- )?uses: (.+)$", line)
            if match is None or match[1].startswith("./"):
                continue
            assert PINNED.match(match[1]), f"{path.name}: {line.strip()}"


def test_checkout_never_leaves_the_token_behind() -> None:
    for workflow, name, job in every_job():
        for step in uses(job, "actions/checkout"):
            assert step["with"]["persist-credentials"] is False, (workflow, name)


def test_the_readme_names_every_variable_the_workflows_read() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Continuous delivery", 1)[1].split("\n## ", 1)[0]

    for variable in VARIABLES:
        assert f"`{variable}`" in section

"""Function sandboxes (mediaflow/localcloud/sandbox.py) run a function as Lambda does: one process
per warm instance, its bundle alone importable, its limits enforced, Lambda's answers when it
fails. Each test writes a small function of its own."""

from __future__ import annotations

import io
import json
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mediaflow.localcloud.sandbox import FunctionLog, Invocation, SandboxPool
from mediaflow.localcloud.template import FunctionSpec


def function(
    tmp_path: Path,
    code: str,
    *,
    requirements: str = "",
    timeout: int = 30,
    memory_mb: int = 256,
    environment: dict[str, str] | None = None,
) -> FunctionSpec:
    """A function whose handler is `app.lambda_handler` in a CodeUri of its own."""
    code_dir = tmp_path / "function"
    code_dir.mkdir()
    (code_dir / "app.py").write_text(textwrap.dedent(code))
    (code_dir / "requirements.txt").write_text(requirements)
    return FunctionSpec(
        logical_id="ProbeFunction",
        name="mediaflow-probe-local",
        code_dir=code_dir,
        handler="app.lambda_handler",
        runtime="python3.13",
        environment=environment or {},
        timeout_seconds=timeout,
        memory_mb=memory_mb,
        python_path=(code_dir,),
    )


@pytest.fixture
def log() -> io.StringIO:
    return io.StringIO()


def pool_of(spec: FunctionSpec, log: io.StringIO) -> SandboxPool:
    return SandboxPool(spec, "http://127.0.0.1:1", FunctionLog(log))


def invoke(pool: SandboxPool, event: Any = None) -> Invocation:
    return pool.invoke(json.dumps(event or {}).encode())


COUNTER = """
    import os
    calls = 0

    def lambda_handler(event, context):
        global calls
        calls += 1
        return {"calls": calls, "pid": os.getpid(), "request": context.aws_request_id}
"""


def test_a_cold_start_then_warm_invocations_keep_module_state(
    tmp_path: Path, log: io.StringIO
) -> None:
    pool = pool_of(function(tmp_path, COUNTER), log)
    try:
        answers = [invoke(pool).payload for _ in range(3)]
    finally:
        pool.close()

    assert [answer["calls"] for answer in answers] == [1, 2, 3]
    assert len({answer["pid"] for answer in answers}) == 1
    assert pool.cold_starts == 1
    # Lambda's own log lines, with the init duration on the first invocation only
    reports = [line for line in log.getvalue().splitlines() if "REPORT RequestId" in line]
    assert len(reports) == 3 and "Init Duration" in reports[0] and "Init Duration" not in reports[1]


def test_concurrent_invocations_get_instances_of_their_own(
    tmp_path: Path, log: io.StringIO
) -> None:
    spec = function(
        tmp_path,
        """
        import os, time
        calls = 0

        def lambda_handler(event, context):
            global calls
            calls += 1
            time.sleep(0.5)
            return {"calls": calls, "pid": os.getpid()}
        """,
    )
    pool = pool_of(spec, log)
    try:
        with ThreadPoolExecutor(max_workers=2) as invocations:
            answers = [answer.payload for answer in invocations.map(invoke, [pool, pool])]
    finally:
        pool.close()

    assert answers[0]["pid"] != answers[1]["pid"]
    assert [answer["calls"] for answer in answers] == [1, 1]
    assert pool.cold_starts == 2


def test_the_function_sees_the_lambda_environment_and_nothing_of_the_developers(
    tmp_path: Path, log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIAFLOW_DEVELOPER_SECRET", "do not leak")
    spec = function(
        tmp_path,
        """
        import os, sys

        def lambda_handler(event, context):
            return {
                "secret": os.environ.get("MEDIAFLOW_DEVELOPER_SECRET"),
                "setting": os.environ.get("THUMBNAIL_SIZE"),
                "name": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
                "memory": context.memory_limit_in_mb,
                "endpoint": os.environ["AWS_ENDPOINT_URL"],
                "remaining": context.get_remaining_time_in_millis(),
                "path0": sys.path[0],
            }
        """,
        environment={"THUMBNAIL_SIZE": "512"},
        timeout=7,
    )
    pool = pool_of(spec, log)
    try:
        answer = invoke(pool).payload
    finally:
        pool.close()

    assert answer["secret"] is None
    assert (answer["setting"], answer["name"], answer["memory"]) == (
        "512",
        "mediaflow-probe-local",
        "256",
    )
    assert answer["endpoint"] == "http://127.0.0.1:1"
    assert 6000 < answer["remaining"] <= 7000
    assert answer["path0"] == str(spec.code_dir)


@pytest.mark.parametrize(
    ("module", "requirements", "importable"),
    [
        ("yaml", "", False),  # in the tool's environment, not in the function's requirements
        ("yaml", "PyYAML>=6\n", True),
        ("mediaflow", "", False),  # the developer tool itself
        ("boto3", "", True),  # comes with Lambda's Python runtime
        ("json", "", True),
    ],
)
def test_only_what_the_deployment_package_holds_can_be_imported(
    tmp_path: Path, log: io.StringIO, module: str, requirements: str, importable: bool
) -> None:
    spec = function(
        tmp_path,
        f"""
        import {module}

        def lambda_handler(event, context):
            return "imported"
        """,
        requirements=requirements,
    )
    pool = pool_of(spec, log)
    try:
        invocation = invoke(pool)
    finally:
        pool.close()

    if importable:
        assert (invocation.function_error, invocation.payload) == (None, "imported")
    else:
        assert invocation.function_error == "Unhandled"
        assert invocation.payload["errorType"] == "Runtime.ImportModuleError"
        assert invocation.payload["errorMessage"] == (
            f"Unable to import module 'app': No module named '{module}'"
        )


def test_a_handler_exception_is_answered_as_lambda_does_and_the_instance_stays_warm(
    tmp_path: Path, log: io.StringIO
) -> None:
    spec = function(
        tmp_path,
        """
        class CorruptMedia(Exception):
            pass

        def lambda_handler(event, context):
            if event.get("bad"):
                raise CorruptMedia("the PNG ends inside its IDAT chunk")
            return "ok"
        """,
    )
    pool = pool_of(spec, log)
    try:
        failed = invoke(pool, {"bad": True})
        after = invoke(pool)
    finally:
        pool.close()

    assert failed.function_error == "Unhandled"
    payload = failed.payload
    assert payload["errorType"] == "CorruptMedia"
    assert payload["errorMessage"] == "the PNG ends inside its IDAT chunk"
    assert payload["requestId"] and any("app.py" in frame for frame in payload["stackTrace"])
    assert (after.function_error, after.payload) == (None, "ok")
    assert pool.cold_starts == 1


def test_an_init_error_fails_the_invocation_and_the_next_one_starts_cold_again(
    tmp_path: Path, log: io.StringIO
) -> None:
    spec = function(
        tmp_path,
        """
        import os
        size = int(os.environ["THUMBNAIL_SIZE"])

        def lambda_handler(event, context):
            return size
        """,
        environment={"THUMBNAIL_SIZE": "abc"},
    )
    pool = pool_of(spec, log)
    try:
        answers = [invoke(pool) for _ in range(2)]
    finally:
        pool.close()

    for invocation in answers:
        assert invocation.function_error == "Unhandled"
        assert invocation.payload["errorType"] == "ValueError"
        assert "invalid literal for int()" in invocation.payload["errorMessage"]
    assert pool.cold_starts == 2


def test_a_function_past_its_timeout_is_stopped_and_answers_sandbox_timedout(
    tmp_path: Path, log: io.StringIO
) -> None:
    spec = function(
        tmp_path,
        """
        import time

        def lambda_handler(event, context):
            time.sleep(event["seconds"])
            return "done"
        """,
        timeout=1,
    )
    pool = pool_of(spec, log)
    try:
        invoke(pool, {"seconds": 0})  # cold start outside the measured call
        started = time.monotonic()
        timed_out = invoke(pool, {"seconds": 30})
        elapsed = time.monotonic() - started
        after = invoke(pool, {"seconds": 0})
    finally:
        pool.close()

    assert timed_out.function_error == "Unhandled"
    assert timed_out.payload["errorType"] == "Sandbox.Timedout"
    assert timed_out.payload["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert elapsed < 10  # stopped at its timeout, not after the handler's 30 s
    # The timed-out instance is gone: the next invocation starts a new one.
    assert after.payload == "done" and pool.cold_starts == 2
    assert "Task timed out after 1.00 seconds" in log.getvalue()


def test_a_function_that_needs_more_than_its_memory_size_is_ended_as_lambda_ends_it(
    tmp_path: Path, log: io.StringIO
) -> None:
    spec = function(
        tmp_path,
        """
        def lambda_handler(event, context):
            block = bytearray(event["mib"] * 1024 * 1024)
            for offset in range(0, len(block), 4096):  # touch every page: resident memory
                block[offset] = 1
            return len(block)
        """,
        memory_mb=128,
    )
    pool = pool_of(spec, log)
    try:
        fits = invoke(pool, {"mib": 16})
        too_big = invoke(pool, {"mib": 256})
    finally:
        pool.close()

    assert fits.function_error is None
    assert too_big.function_error == "Unhandled"
    assert too_big.payload["errorType"] == "Runtime.OutOfMemory"
    assert "Runtime exited with error: signal: killed" in too_big.payload["errorMessage"]


def test_a_result_json_cannot_hold_is_a_marshal_error(tmp_path: Path, log: io.StringIO) -> None:
    spec = function(
        tmp_path,
        """
        def lambda_handler(event, context):
            return {"labels": {"Sky", "Tree"}}
        """,
    )
    pool = pool_of(spec, log)
    try:
        invocation = invoke(pool)
    finally:
        pool.close()

    assert invocation.payload["errorType"] == "Runtime.MarshalError"
    assert invocation.payload["errorMessage"].startswith("Unable to marshal response:")


def test_log_lines_name_their_function_and_instance_whole(tmp_path: Path, log: io.StringIO) -> None:
    spec = function(
        tmp_path,
        """
        def lambda_handler(event, context):
            for n in range(200):
                print(f"line {n} of {event['key']}")
            return "ok"
        """,
    )
    pool = pool_of(spec, log)
    try:
        with ThreadPoolExecutor(max_workers=2) as invocations:
            list(invocations.map(lambda key: invoke(pool, {"key": key}), ["a.jpg", "b.jpg"]))
    finally:
        pool.close()

    printed = [line for line in log.getvalue().splitlines() if " line " in line]
    assert len(printed) == 400
    assert all(line.startswith("ProbeFunction ") for line in printed)
    for key in ("a.jpg", "b.jpg"):
        instances = {line.split()[1] for line in printed if line.endswith(f"of {key}")}
        assert len(instances) == 1  # each invocation's lines come from its one instance

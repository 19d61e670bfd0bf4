"""Which function, and which version of it, a Lambda Invoke names: the engines' local Lambda.

Invoke's FunctionName is a name (`my-function`), a partial ARN (`123456789012:function:
my-function`) or a full ARN, each optionally followed by `:<version or alias>`; a Qualifier
given as well must agree with it.
https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html

The local cloud has one version of each function: it is `$LATEST` and also version 1, the
version the function's alias (AutoPublishAlias) points to, as an alias on AWS points to a
published version. Whichever of these names it, the same code runs.
"""

from __future__ import annotations

from mediaflow.localcloud.template import ACCOUNT_ID, PARTITION, REGION, FunctionSpec

LATEST = "$LATEST"
PUBLISHED_VERSION = "1"
"""The one published version, which the alias points to (Invoke's ExecutedVersion)."""

# The message Lambda answers to a Qualifier that differs from the one in FunctionName, as
# EventBridge Scheduler's troubleshooting page quotes it.
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/troubleshooting.html
QUALIFIER_MISMATCH = (
    "The derived qualifier from the function name does not match the specified qualifier."
)


class InvokeTargetError(Exception):
    """What Lambda answers before running anything: an error code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def split_function_name(function_name: str) -> tuple[str, str, str | None]:
    """(ARN prefix up to `function:` or "", the name, the qualifier in FunctionName or None)."""
    parts = function_name.split(":")
    if parts[0] == "arn" and len(parts) >= 7:  # arn:aws:lambda:region:account:function:name
        prefix, rest = ":".join(parts[:6]) + ":", parts[6:]
    elif len(parts) >= 3 and parts[1] == "function":  # account:function:name
        prefix, rest = "", parts[2:]
    else:
        prefix, rest = "", parts
    return prefix, rest[0], (rest[1] if len(rest) > 1 else None)


def invoke_target(
    functions: dict[str, FunctionSpec], function_name: str, qualifier: str | None
) -> tuple[FunctionSpec, str]:
    """The function an Invoke names and the version it runs (Invoke's ExecutedVersion);
    InvokeTargetError as Lambda answers for a function, version or alias that does not exist."""
    prefix, name, derived = split_function_name(function_name)
    if derived is not None and qualifier and derived != qualifier:
        raise InvokeTargetError("InvalidParameterValueException", QUALIFIER_MISMATCH, 400)
    qualifier = derived or qualifier or None
    spec = functions.get(name)
    versions = {LATEST: LATEST, PUBLISHED_VERSION: PUBLISHED_VERSION}
    if spec is not None and spec.alias:
        versions[spec.alias] = PUBLISHED_VERSION
    if (
        spec is None
        or (prefix and not spec.arn.startswith(prefix))
        or (qualifier is not None and qualifier not in versions)
    ):
        local_prefix = f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT_ID}:function:"
        arn = f"{prefix or local_prefix}{name}"
        shown = f"{arn}:{qualifier}" if qualifier else arn
        raise InvokeTargetError("ResourceNotFoundException", f"Function not found: {shown}", 404)
    return spec, versions[qualifier] if qualifier else LATEST

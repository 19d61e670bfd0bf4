"""Where devices sign in and send their media: a running `mediaflow serve` (`Target.local`, from
the `serve.json` it writes) or a deployed stack (`Target.deployed`, from its CloudFormation
Outputs). Both give the same Outputs (DeviceApiUrl, DeviceUserPoolId, DeviceUserPoolClientId,
MediaBucketName; locally also S3EndpointUrl), the user pool for adding and removing principals,
and a sign-in that needs no AWS credentials, as a device has none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediaflow.devices.state import read_serve_state
from mediaflow.localcloud.template import REGION
from mediaflow.localcloud.user_pool import Tokens, UserPool

LOCAL = "local"
NOT_SERVING = "no `mediaflow serve` is running (start it in another terminal, or give --stack-name)"
# The local emulator takes any credentials; these keep a user's own AWS credentials (from the
# environment or a profile) from ever being sent to it.
_LOCAL_KEY = "local"


class TargetError(LookupError):
    """No target to act on: no serve running, no such stack, or a stack without devices."""


@dataclass
class Target:
    """A stack that devices use: `name` ("local" or the stack's name), `region`, `outputs`."""

    name: str
    region: str
    outputs: dict[str, str]
    endpoint_url: str | None = None
    """The local emulator's URL (Cognito and the other services); None on AWS."""
    _admin_client: Callable[[str], Any] = field(repr=False, default=lambda service: None)

    @classmethod
    def local(cls, project: Path) -> Target:
        """The `mediaflow serve` running for `project`; TargetError when none is."""
        state = read_serve_state(project)
        if state is None:
            raise TargetError(NOT_SERVING)
        endpoint_url = str(state["emulatorUrl"])
        region = str(state.get("region", REGION))
        outputs = {str(key): str(value) for key, value in state["outputs"].items()}

        def admin(service: str) -> Any:
            import boto3

            # Untyped: the stubs type a client per literal service name, not for any name.
            new_client: Any = boto3.client
            return new_client(
                service,
                region_name=region,
                endpoint_url=endpoint_url,
                aws_access_key_id=_LOCAL_KEY,
                aws_secret_access_key=_LOCAL_KEY,
            )

        return cls(LOCAL, region, outputs, endpoint_url, admin)

    @classmethod
    def deployed(cls, stack_name: str, region: str | None, profile: str | None = None) -> Target:
        """A deployed stack, from its Outputs; reading them and administering its user pool
        use the caller's AWS credentials (profile, environment)."""
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        session = boto3.Session(profile_name=profile, region_name=region)
        if not session.region_name:
            raise TargetError(f"no AWS Region for stack {stack_name}: give --region")
        try:
            stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)
        except ClientError as error:
            raise TargetError(f"stack {stack_name} in {session.region_name}: {error}") from None
        except BotoCoreError as error:
            raise TargetError(f"cannot read stack {stack_name}: {error}") from None
        outputs = {
            output["OutputKey"]: output["OutputValue"]
            for output in stacks["Stacks"][0].get("Outputs", [])
            if "OutputKey" in output and "OutputValue" in output
        }
        missing = [
            name
            for name in ("DeviceApiUrl", "DeviceUserPoolId", "DeviceUserPoolClientId")
            if name not in outputs
        ]
        if missing:
            raise TargetError(
                f"stack {stack_name} has no output {', '.join(missing)}: is it a Mediaflow "
                "stack with the device API, and fully deployed?"
            )
        return cls(
            stack_name,
            session.region_name,
            outputs,
            None,
            lambda service: session.client(service),  # type: ignore[call-overload]
        )

    @property
    def api_url(self) -> str:
        return self.outputs["DeviceApiUrl"].rstrip("/")

    def user_pool(self) -> UserPool:
        """The stack's user pool, for admin operations (add, list, remove)."""
        return UserPool.from_outputs(self._admin_client("cognito-idp"), self.outputs)

    def client(self, service: str) -> Any:
        """A client of one of the stack's services (`stepfunctions`, `sqs`, `dynamodb`...) for
        an operator: the emulator with the fixed local keys, or the caller's AWS credentials."""
        return self._admin_client(service)

    def sign_in(self, username: str, password: str) -> Tokens:
        """InitiateAuth USER_PASSWORD_AUTH as a device does it: without AWS credentials.
        Cognito does not authorize this operation with IAM, so the request goes unsigned
        (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html)."""
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        client = boto3.client(
            "cognito-idp",
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            config=Config(signature_version=UNSIGNED),
        )
        return UserPool.from_outputs(client, self.outputs).sign_in(username, password)

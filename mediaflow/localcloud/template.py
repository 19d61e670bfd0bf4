"""Read the SAM template and resolve it to the names and ARNs of the embedded local cloud.

Nothing about the application is described twice: the local cloud learns its resources, each
function's handler and environment, the state machine's definition and substitutions and the
EventBridge rule's pattern from `template.yaml`, as `sam deploy` would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mediaflow.localcloud.parameters import InvalidParameter, parameter_values

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
STACK_NAME = "mediaflow"

# Suffixes that name a resource's kind; the local physical name keeps what the resource is for.
_KIND_SUFFIXES = ("StateMachine", "Function", "Bucket", "Table", "Queue", "Topic")
# Resources whose id the service chooses when it creates them (Stack.physical_ids).
_ASSIGNED_ID_TYPES = ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient")


_NO_VALUE = object()
"""What `Ref: AWS::NoValue` resolves to, until the property or list item holding it is dropped."""


class TemplateError(Exception):
    """The template lacks something the local cloud needs, or uses what it cannot resolve."""


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short tags into their long form."""


def _construct_tag(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        document = yaml.load(handle, Loader=_CfnLoader)
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return document


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def local_name(logical_id: str) -> str:
    """`MediaBucket` -> `mediaflow-media-local`: a stable, readable physical name."""
    stem = logical_id
    for suffix in _KIND_SUFFIXES:
        if stem.endswith(suffix) and stem != suffix:
            stem = stem[: -len(suffix)]
            break
    return f"{STACK_NAME}-{_kebab(stem)}-local"


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    runtime: str
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    python_path: tuple[Path, ...] = ()
    """What Lambda puts at the head of `sys.path`, as local folders: the code (`/var/task`),
    then each layer's `/opt/python/lib/<runtime>/site-packages` and `/opt/python`."""
    alias: str = ""
    """AutoPublishAlias. The local cloud has one version of each function, which it runs
    whichever qualifier names it (lambda_names.py)."""

    @property
    def arn(self) -> str:
        return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT_ID}:function:{self.name}"


@dataclass(frozen=True)
class RuleSpec:
    """The EventBridge rule SAM creates from the state machine's EventBridgeRule event."""

    logical_id: str
    pattern: dict[str, Any]
    dead_letter_queue: str | None  # logical ID
    retry_policy: dict[str, Any]  # the target's RetryPolicy, as EventBridge's PutTargets takes it


@dataclass(frozen=True)
class StateMachineSpec:
    logical_id: str
    name: str
    definition: str
    rule: RuleSpec | None


class Stack:
    """The template's resources, resolved to local names."""

    def __init__(self, root: Path, parameter_overrides: dict[str, str] | None = None) -> None:
        self.root = root
        self.template = load_template(root / "template.yaml")
        self.resources: dict[str, Any] = self.template["Resources"]
        globals_ = self.template.get("Globals", {}).get("Function", {})
        self._global_env: dict[str, Any] = globals_.get("Environment", {}).get("Variables", {})
        self._global_timeout = globals_.get("Timeout", 3)
        self._global_memory = globals_.get("MemorySize", 128)
        self._global_runtime = globals_.get("Runtime", "")
        self._global_alias = globals_.get("AutoPublishAlias", "")
        self.parameters = self._parameters(parameter_overrides or {})
        self.physical_ids: dict[str, str] = {}
        """Ids the emulator chose when it created a resource (a user pool's, an app client's), by
        logical ID: what `Ref` and `GetAtt` give for resources whose id nobody can name before."""

    # -- names -----------------------------------------------------------------------------

    def _parameters(self, overrides: dict[str, str]) -> dict[str, str]:
        """Each parameter's value, checked by CloudFormation's rules before anything is built."""
        try:
            return parameter_values(self.template.get("Parameters", {}), overrides)
        except InvalidParameter as error:
            raise TemplateError(str(error)) from error

    def of_type(self, resource_type: str) -> list[str]:
        return [lid for lid, res in self.resources.items() if res.get("Type") == resource_type]

    def only_resource_of_type(self, resource_type: str) -> str:
        """The logical ID of the one resource of this type; TemplateError if there is not one."""
        found = self.of_type(resource_type)
        if len(found) != 1:
            raise TemplateError(f"expected one {resource_type}, the template has {len(found)}")
        return found[0]

    def physical_name(self, logical_id: str) -> str:
        if logical_id not in self.resources:
            raise TemplateError(f"the template has no resource {logical_id}")
        return local_name(logical_id)

    def queue_url(self, logical_id: str) -> str:
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{self.physical_name(logical_id)}"

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        arns = {
            "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{name}",
            "AWS::DynamoDB::Table": f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}",
            "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT_ID}:{name}",
            "AWS::Serverless::Function": (
                f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
            ),
            "AWS::Serverless::StateMachine": (
                f"arn:{PARTITION}:states:{REGION}:{ACCOUNT_ID}:stateMachine:{name}"
            ),
            "AWS::SNS::Topic": f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT_ID}:{name}",
        }
        if kind not in arns:
            raise TemplateError(f"the local cloud cannot give an ARN for {logical_id} ({kind})")
        return arns[kind]

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": PARTITION,
            "AWS::StackName": STACK_NAME,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical_ids:
            return self.physical_ids[name]
        if name.endswith(".Alias"):  # SAM's reference to the alias AutoPublishAlias makes
            spec = self.function(name.removesuffix(".Alias"))
            if not spec.alias:
                raise TemplateError(f"{spec.logical_id} has no AutoPublishAlias, so no {name}")
            return f"{spec.arn}:{spec.alias}"  # Ref of an AWS::Lambda::Alias: its ARN
        kind = self.resources.get(name, {}).get("Type")
        if kind in _ASSIGNED_ID_TYPES:
            raise TemplateError(f"{name} ({kind}) has no id until the local user pool is created")
        if kind == "AWS::Cognito::UserPoolGroup":
            return str(self.resolve(self.resources[name]["Properties"]["GroupName"]))
        if kind == "AWS::SQS::Queue":
            return self.queue_url(name)
        if kind in ("AWS::SNS::Topic", "AWS::Serverless::StateMachine"):
            return self.arn(name)
        return self.physical_name(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if self.resources.get(logical_id, {}).get("Type") == "AWS::Cognito::UserPool":
            # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cognito-userpool.html#aws-resource-cognito-userpool-return-values
            pool_id = self.ref(logical_id)
            provider = f"cognito-idp.{REGION}.amazonaws.com/{pool_id}"
            attributes = {
                "Arn": f"arn:{PARTITION}:cognito-idp:{REGION}:{ACCOUNT_ID}:userpool/{pool_id}",
                "ProviderName": provider,
                "ProviderURL": f"https://{provider}",
            }
            if attribute in attributes:
                return attributes[attribute]
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute in ("Name", "QueueName"):
            return self.physical_name(logical_id)
        if attribute == "QueueUrl":
            return self.queue_url(logical_id)
        raise TemplateError(f"the local cloud cannot resolve !GetAtt {logical_id}.{attribute}")

    def resolve(self, value: Any) -> Any:
        """Resolve intrinsic functions (Ref, GetAtt, Sub, Join, Select, and If on the
        template's Conditions); a `Ref: AWS::NoValue` removes the property or item it stands
        for, as CloudFormation does."""
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and arg == "AWS::NoValue":
                return _NO_VALUE
            if key == "Ref" and self._is_list_parameter(arg):
                # A CommaDelimitedList or List<Number> parameter refers to its members.
                return [member.strip() for member in self.parameters[arg].split(",")]
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::If":
                condition, if_true, if_false = arg
                return self.resolve(if_true if self.condition(condition) else if_false)
            if key == "Fn::GetAtt":
                parts = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(parts[0], parts[1])
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                return arg[0].join(str(self.resolve(item)) for item in arg[1])
            if key == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _is_list_parameter(self, name: str) -> bool:
        declared = self.template.get("Parameters", {}).get(name, {})
        return str(declared.get("Type", "")).startswith(("List<", "CommaDelimitedList"))

    def condition(self, name: str) -> bool:
        """The value of one of the template's Conditions."""
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise TemplateError(f"the template has no condition {name}")
        return self._truth(conditions[name])

    def _truth(self, value: Any) -> bool:
        """A condition function (Equals, Not, And, Or, Condition) evaluated."""
        if not isinstance(value, dict) or len(value) != 1:
            raise TemplateError(f"the local cloud cannot evaluate the condition {value!r}")
        ((key, arg),) = value.items()
        if key == "Fn::Equals":
            left, right = (self.resolve(item) for item in arg)
            return bool(left == right)
        if key == "Fn::Not":
            return not self._truth(arg[0])
        if key == "Fn::And":
            return all(self._truth(item) for item in arg)
        if key == "Fn::Or":
            return any(self._truth(item) for item in arg)
        if key == "Condition":
            return self.condition(arg)
        raise TemplateError(f"the local cloud cannot evaluate the condition {value!r}")

    def output(self, name: str) -> Any:
        """The value of one of the template's Outputs, resolved."""
        outputs = self.template.get("Outputs", {})
        if name not in outputs:
            raise TemplateError(f"the template has no output {name}")
        return self.resolve(outputs[name]["Value"])

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return self.ref(name)

        return re.sub(r"\$\{([^!}][^}]*)\}", replace, text)

    # -- resources ---------------------------------------------------------------------------

    def function(self, logical_id: str) -> FunctionSpec:
        resource = self.resources.get(logical_id)
        if not resource or resource.get("Type") != "AWS::Serverless::Function":
            known = ", ".join(self.of_type("AWS::Serverless::Function"))
            raise TemplateError(f"no function {logical_id!r} in template.yaml (functions: {known})")
        props = resource["Properties"]
        variables = {**self._global_env, **props.get("Environment", {}).get("Variables", {})}
        code_dir = (self.root / props["CodeUri"]).resolve()
        runtime = props.get("Runtime", self._global_runtime)
        # Lambda extracts layers into /opt in order, a later one overwriting an earlier one's
        # files; on a search path the first folder wins, so the last layer comes first.
        layer_paths = [
            folder
            for layer in reversed(props.get("Layers", []))
            for folder in self._layer_python_path(layer, runtime)
        ]
        return FunctionSpec(
            logical_id=logical_id,
            name=self.physical_name(logical_id),
            code_dir=code_dir,
            handler=props["Handler"],
            runtime=runtime,
            environment={key: str(self.resolve(val)) for key, val in variables.items()},
            timeout_seconds=int(self.resolve(props.get("Timeout", self._global_timeout))),
            memory_mb=int(self.resolve(props.get("MemorySize", self._global_memory))),
            python_path=(code_dir, *layer_paths),
            alias=str(self.resolve(props.get("AutoPublishAlias", self._global_alias))),
        )

    def _layer_python_path(self, layer: Any, runtime: str) -> list[Path]:
        """The local folders that stand for a layer's /opt/python/lib/<runtime>/site-packages
        and /opt/python, laid out as `sam build` lays them out."""
        logical_id = layer.get("Ref") if isinstance(layer, dict) else None
        resource = self.resources.get(logical_id or "", {})
        if resource.get("Type") != "AWS::Serverless::LayerVersion":
            raise TemplateError(
                f"the local cloud runs only this template's own layers, not {layer!r}"
            )
        content = (self.root / resource["Properties"]["ContentUri"]).resolve()
        if str(resource.get("Metadata", {}).get("BuildMethod", "")).startswith("python"):
            # `sam build` copies ContentUri into python/ and installs its requirements.txt there.
            return [content]
        # Without a build method the layer is zipped as it is: ContentUri is /opt.
        opt_python = content / "python"
        return [opt_python / "lib" / runtime / "site-packages", opt_python]

    def functions(self) -> list[FunctionSpec]:
        return [self.function(lid) for lid in self.of_type("AWS::Serverless::Function")]

    def state_machine(self, logical_id: str) -> StateMachineSpec:
        props = self.resources[logical_id]["Properties"]
        definition = (self.root / props["DefinitionUri"]).read_text()
        for key, raw in props.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + key + "}", str(self.resolve(raw)))
        leftover = re.findall(r"\$\{(\w+)\}", definition)
        if leftover:
            raise TemplateError(
                f"{props['DefinitionUri']} uses ${{{leftover[0]}}}, "
                f"which DefinitionSubstitutions of {logical_id} does not define"
            )
        rule = None
        for event_id, event in props.get("Events", {}).items():
            if event.get("Type") != "EventBridgeRule":
                continue
            event_props = event["Properties"]
            dlq = event_props.get("DeadLetterConfig", {}).get("Arn")
            rule = RuleSpec(
                logical_id=f"{logical_id}{event_id}",
                pattern=self.resolve(event_props["Pattern"]),
                dead_letter_queue=dlq["Fn::GetAtt"][0] if isinstance(dlq, dict) else None,
                retry_policy=self.resolve(event_props.get("RetryPolicy", {})),
            )
        return StateMachineSpec(
            logical_id=logical_id,
            name=self.physical_name(logical_id),
            definition=definition,
            rule=rule,
        )

"""The Pulumi program rendered offline, under Pulumi's mocks: every resource it declares, with its inputs.

``render_stack`` runs ``__main__.py`` exactly as ``pulumi up`` would (same config, same code), but
against ``BlocklistMocks`` instead of the engine and AWS. The mocks name every resource the way
pulumi-aws does (``inputs["name"]`` if set, else Pulumi's auto-name: the logical name, ``-`` and 7
lowercase hex characters, here derived from the URN so that renders repeat) and give it a
moto-compatible ARN for account 123456789012 and the stack's region, so the ARNs the program wires
into definitions, environments and targets point at the sandbox's resources.

Each render runs in its own thread with an empty ``contextvars`` context and a fresh event loop:
Pulumi keeps its runtime settings, config and root stack in context variables, so nothing leaks from
one render to the next and ``render_stack`` can be called any number of times in one process.
"""

import asyncio
import contextvars
import faulthandler
import gc
import hashlib
import json
import runpy
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml  # type: ignore[import-untyped]
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import SETTINGS, configure
from pulumi.runtime.stack import run_in_stack

from components.aws_limits import AUTONAME_RANDOM_CHARS, NAME_RULES
from nfw_blocklist.project_config import (
    ProjectConfigError,
    StoredValue,
    apply_project_config,
    full_key,
    load_stack_file,
)

from .rendered import PROJECT_DIR, SECRET_MARK, Rendered, RenderedResource

__all__ = [
    "PROJECT_DIR",
    "SECRET_MARK",
    "RenderError",
    "Rendered",
    "RenderedResource",
    "render_function",
    "render_stack",
]

ACCOUNT_ID: Final = "123456789012"
DEFAULT_REGION: Final = "us-east-1"
STACK_TYPE: Final = "pulumi:pulumi:Stack"


class RenderError(ValueError):
    """The stack cannot be rendered as configured (unknown key, bad value, missing file)."""


RENDER_TIMEOUT_SECONDS: Final = 300.0
"""A render takes well under a second; one that has not finished after minutes is hung in the mocks'
runtime, and fails with every thread's stack on stderr rather than stalling a test run for good."""


def _stateful_kind(arn: str | None, type_: str, inputs: Mapping[str, Any]) -> str | None:
    """A stateful rule group's ARN says so (``stateful-rulegroup/``), as Network Firewall's does."""
    if (
        arn
        and type_ == "aws:networkfirewall/ruleGroup:RuleGroup"
        and _plain(inputs.get("type")) == "STATEFUL"
    ):
        return arn.replace(":stateless-rulegroup/", ":stateful-rulegroup/")
    return arn


RESOLVER_RESOURCES: Final = {
    "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList": (
        "firewall-domain-list",
        "rslvr-fdl",
    ),
    "aws:route53/resolverFirewallRuleGroup:ResolverFirewallRuleGroup": ("firewall-rule-group", "rslvr-frg"),
    "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation": (
        "firewall-rule-group-association",
        "rslvr-frgassoc",
    ),
}
"""DNS Firewall types whose id AWS generates: (ARN resource kind, id prefix). The mocks derive the id from
the name, and the sandbox creates the resource under that id, so environments and ARNs resolve."""


def arn_for(type_: str, name: str, physical_id: str, region: str, account: str = ACCOUNT_ID) -> str | None:
    """The ARN the real provider (and moto) would report for a resource of this type."""
    prefix = f"arn:aws:{{}}:{region}:{account}:"
    arns: dict[str, str] = {
        "aws:lambda/function:Function": prefix.format("lambda") + f"function:{name}",
        "aws:sfn/stateMachine:StateMachine": prefix.format("states") + f"stateMachine:{name}",
        "aws:dynamodb/table:Table": prefix.format("dynamodb") + f"table/{name}",
        "aws:sns/topic:Topic": prefix.format("sns") + name,
        "aws:sns/topicSubscription:TopicSubscription": prefix.format("sns") + f"{name}:{physical_id}",
        "aws:sqs/queue:Queue": prefix.format("sqs") + name,
        "aws:networkfirewall/ruleGroup:RuleGroup": prefix.format("network-firewall")
        + f"stateless-rulegroup/{name}",
        "aws:networkfirewall/firewallPolicy:FirewallPolicy": prefix.format("network-firewall")
        + f"firewall-policy/{name}",
        "aws:iam/role:Role": f"arn:aws:iam::{account}:role/{name}",
        "aws:kms/key:Key": prefix.format("kms") + f"key/{physical_id}",
        "aws:cloudwatch/logGroup:LogGroup": prefix.format("logs") + f"log-group:{name}",
        "aws:cloudwatch/eventRule:EventRule": prefix.format("events") + f"rule/{name}",
        "aws:cloudwatch/eventBus:EventBus": prefix.format("events") + f"event-bus/{name}",
        "aws:scheduler/schedule:Schedule": prefix.format("scheduler") + f"schedule/default/{name}",
        "aws:cloudwatch/metricAlarm:MetricAlarm": prefix.format("cloudwatch") + f"alarm:{name}",
        # Dashboards are global to the account: no region in their ARN.
        "aws:cloudwatch/dashboard:Dashboard": f"arn:aws:cloudwatch::{account}:dashboard/{name}",
        **{
            type_: prefix.format("route53resolver") + f"{kind}/{physical_id}"
            for type_, (kind, _) in RESOLVER_RESOURCES.items()
        },
    }
    return arns.get(type_)


NAME_INPUTS: Final = {"aws:cloudwatch/dashboard:Dashboard": "dashboardName"}
"""Types whose physical name is an input other than ``name`` (and that the provider does not auto-name)."""


def auto_name(type_: str, logical_name: str, urn: str) -> str:
    """Pulumi's auto-name for a resource without an explicit ``name``: ``<logical>-<7 lowercase hex>``.

    The provider draws the suffix at random; here it is derived from the URN (which holds the stack,
    the project, the parent's type and the logical name), so a render repeats and two stacks or two
    component instances differ exactly where Pulumi's names would. Types without a name rule have
    no name AWS checks; they keep the logical name.
    """
    rule = NAME_RULES.get(type_)
    if rule is None:
        return logical_name
    limit = rule.max_length - AUTONAME_RANDOM_CHARS - 1
    if len(logical_name) > limit:
        raise RenderError(
            f"{urn}: auto-name of {logical_name!r} would exceed the {rule.what} name's "
            f"{rule.max_length} characters; shorten the name (at most {limit}) or set one"
        )
    suffix = hashlib.sha256(urn.encode()).hexdigest()[:AUTONAME_RANDOM_CHARS]
    return f"{logical_name}-{suffix}"


DYNAMIC_TYPE: Final = "pulumi-python:dynamic:Resource"
"""A Pulumi dynamic resource (``components.firewall_engine``): its ``kind`` input says what it is."""
DYNAMIC_KINDS: Final = {
    "firewall-rule-group": ("aws:networkfirewall/ruleGroup:RuleGroup", "firewall-rulegroup"),
    "firewall-policy-v2": ("aws:networkfirewall/firewallPolicy:FirewallPolicy", "firewall-policy-v2"),
}
"""Per dynamic kind: the pulumi-aws type whose name rule its auto-name follows, and its ARN's resource
type (the emulator's, docs/LIMITS.md: undocumented)."""


def _dynamic_state(
    inputs: Mapping[str, Any], logical_name: str, urn: str, region: str, account: str
) -> dict[str, Any]:
    """What the dynamic provider's create returns: an auto-name (seeded by URN, like the rest) and its ARN."""
    kind = _plain(inputs.get("kind"))
    if kind not in DYNAMIC_KINDS:
        raise RenderError(f"{urn}: a dynamic resource of unknown kind {kind!r}")
    name_type, arn_type = DYNAMIC_KINDS[str(kind)]
    name = auto_name(name_type, str(_plain(inputs.get("namePrefix")) or logical_name), urn)
    arn = f"arn:aws:network-firewall:{region}:{account}:{arn_type}/{name}"
    return {**inputs, "name": name, "arn": arn}


_registering = threading.local()
"""The URN being registered on this thread (the monitor knows it, ``MockResourceArgs`` does not)."""


class BlocklistMocks(pulumi_mocks.Mocks):
    """Deterministic provider stand-in: Pulumi's auto-names (seeded by URN), moto's ARNs, no invokes."""

    def __init__(self, region: str = DEFAULT_REGION, account: str = ACCOUNT_ID) -> None:
        self.region = region
        self.account = account

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if not args.custom:
            return "", {}
        inputs = dict(args.inputs)
        urn = getattr(_registering, "urn", None) or f"urn:pulumi:::::{args.typ}::{args.name}"
        if args.typ == DYNAMIC_TYPE:
            dynamic = _dynamic_state(inputs, args.name, urn, self.region, self.account)
            return dynamic["arn"], dynamic
        explicit = _plain(inputs.get(NAME_INPUTS.get(args.typ, "name")))
        name = str(explicit) if explicit else auto_name(args.typ, args.name, urn)
        physical_id = self._physical_id(args.typ, name, inputs)
        state: dict[str, Any] = {**inputs, "name": inputs.get("name", name)}
        arn = _stateful_kind(
            arn_for(args.typ, name, physical_id, self.region, self.account), args.typ, inputs
        )
        if arn is not None:
            state["arn"] = arn
        if args.typ == "aws:sqs/queue:Queue":
            state["url"] = physical_id
        elif args.typ == "aws:kms/key:Key":
            state["keyId"] = physical_id
        elif args.typ == "aws:lambda/function:Function":
            state["invokeArn"] = (
                f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
            )
            state["qualifiedArn"] = f"{arn}:$LATEST"
        elif args.typ == "aws:networkfirewall/ruleGroup:RuleGroup":
            state["updateToken"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{arn}/token"))
        elif args.typ == "aws:cloudwatch/eventRule:EventRule" and _plain(inputs.get("eventBusName")) not in (
            None,
            "",
            "default",
        ):
            # A rule on a custom bus: EventBridge puts the bus's name in the rule's ARN.
            state["arn"] = (
                f"arn:aws:events:{self.region}:{self.account}:rule/{_plain(inputs['eventBusName'])}/{name}"
            )
        elif args.typ == "aws:securityhub/actionTarget:ActionTarget":
            # Security Hub names a custom action by its identifier, not its display name.
            state["arn"] = (
                f"arn:aws:securityhub:{self.region}:{self.account}:action/custom/{_plain(inputs.get('identifier'))}"
            )
        elif args.typ == "aws:iam/role:Role":
            state["uniqueId"] = "AROA" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:17].upper()
        return physical_id, state

    def _physical_id(self, type_: str, name: str, inputs: Mapping[str, Any]) -> str:
        """What the provider uses as the resource id: a name, an ARN, a URL or a generated id."""
        if type_ == "aws:sqs/queue:Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{name}"
        if type_ == "aws:kms/key:Key":
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kms/{self.region}/{name}"))
        if type_ == "aws:sns/topicSubscription:TopicSubscription":
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sns-subscription/{name}"))
        if type_ == "aws:iam/rolePolicy:RolePolicy":
            return f"{_plain(inputs.get('role'))}:{name}"
        if type_ == "aws:cloudwatch/eventTarget:EventTarget":
            return f"{_plain(inputs.get('rule'))}-{_plain(inputs.get('targetId')) or name}"
        if type_ in RESOLVER_RESOURCES:
            digest = hashlib.sha256(f"{self.region}/{type_}/{name}".encode()).hexdigest()
            return f"{RESOLVER_RESOURCES[type_][1]}-{digest[:17]}"
        if type_ == "aws:sqs/queuePolicy:QueuePolicy":
            return str(_plain(inputs.get("queueUrl")))
        arn = _stateful_kind(arn_for(type_, name, name, self.region, self.account), type_, inputs)
        if (
            type_
            in {
                "aws:sfn/stateMachine:StateMachine",
                "aws:sns/topic:Topic",
                "aws:networkfirewall/ruleGroup:RuleGroup",
                "aws:networkfirewall/firewallPolicy:FirewallPolicy",
            }
            and arn
        ):
            return arn
        return name

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        """The identity invokes (the topic key's policy names the account, partition and region)."""
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account,
                "arn": f"arn:aws:iam::{self.account}:user/render",
                "userId": "AIDARENDER",
                "id": self.account,
            }
        if args.token == "aws:index/getRegion:getRegion":
            # A bare dict: the mock monitor iterates a tuple's second element (the failures).
            return {"name": self.region, "region": self.region, "id": self.region}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        raise NotImplementedError(f"the render mocks do not answer invoke {args.token}")


@dataclass
class _Registration:
    type: str
    name: str
    urn: str
    parent: str | None
    id: str
    inputs: dict[str, Any]
    state: dict[str, Any]
    secret_paths: frozenset[tuple[str | int, ...]]
    ignore_changes: tuple[str, ...]
    dependencies: tuple[str, ...] = ()


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """MockMonitor that also keeps each registration's parent and inputs, and the stack's outputs.

    It does not take resource references: the SDK then sends a resource passed as a value (an input, a
    registered output) as its id, or a component's URN, as it does to an engine without them. With
    references, Pulumi's monitor rebuilds the resource while answering, on the executor thread the RPC
    runs on: the rebuilt resource's Outputs and RPC are tasks of that thread's own event loop, which runs
    only while the monitor serializes an answer, yet the program waits for them (``wait_for_rpcs`` awaits
    every tracked Output). The render then waited forever, or was handed their completion by a
    ``call_soon`` from the wrong thread, which does not wake a loop asleep in ``select()``.
    """

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.lock = threading.Lock()
        self.registrations: list[_Registration] = []
        self.stack_outputs: dict[str, Any] = {}
        self.registered_outputs: dict[str, dict[str, Any]] = {}
        self.thread_loops: set[asyncio.AbstractEventLoop] = set()

    def _thread_loop(self) -> None:
        """The mock monitor runs on the SDK's executor threads and gives each an event loop it never
        closes. Left to the garbage collector, a loop and its self-pipe sockets die in one cycle in any
        order: a socket finalized first leaves the loop's ``close()`` an fd of -1, "ValueError: Invalid
        file descriptor: -1" raised in ``__del__``. Kept here, they are closed when the render ends."""
        loop = pulumi_mocks._ensure_event_loop()
        with self.lock:
            self.thread_loops.add(loop)

    def close_thread_loops(self) -> None:
        """Close the executor threads' loops (after the executor has shut down: none of them runs)."""
        with self.lock:
            loops, self.thread_loops = self.thread_loops, set()
        for loop in loops:
            loop.close()

    def Invoke(self, request: Any) -> Any:
        self._thread_loop()
        return super().Invoke(request)

    def ReadResource(self, request: Any) -> Any:
        self._thread_loop()
        return super().ReadResource(request)

    def RegisterResource(self, request: Any) -> Any:
        self._thread_loop()
        _registering.urn = self.make_urn(request.parent, request.type, request.name)
        try:
            response = super().RegisterResource(request)
        finally:
            _registering.urn = None
        if request.type != STACK_TYPE:
            raw_inputs = rpc.deserialize_properties(request.object)
            inputs, secrets = _unwrap(raw_inputs, ())
            registered = self.resources[response.urn]
            state, _ = _unwrap(registered.state, ())
            parent = request.parent if request.parent and _urn_type(request.parent) != STACK_TYPE else None
            with self.lock:
                self.registrations.append(
                    _Registration(
                        type=request.type,
                        name=request.name,
                        urn=response.urn,
                        parent=parent,
                        id=registered.id or "",
                        inputs=inputs,
                        state=state,
                        secret_paths=frozenset(secrets),
                        ignore_changes=tuple(request.ignoreChanges),
                        # The SDK gathers the dependencies in a set: its order varies from render to render.
                        dependencies=tuple(sorted(set(request.dependencies))),
                    )
                )
        return response

    def GetDeploymentInfo(self, request: Any) -> Any:
        features = super().GetDeploymentInfo(request).supportedFeatures
        return resource_pb2.DeploymentInfo(
            supportedFeatures=[f for f in features if f != _RESOURCE_REFERENCES]
        )

    def SupportsFeature(self, request: Any) -> Any:
        if request.id == "resourceReferences":
            return type("SupportsFeatureResponse", (), {"hasSupport": False})
        return super().SupportsFeature(request)

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self._thread_loop()
        outputs = dict(rpc.deserialize_properties(request.outputs))
        with self.lock:
            if _urn_type(request.urn) == STACK_TYPE:
                self.stack_outputs = outputs
            else:
                self.registered_outputs[request.urn] = _unwrap(outputs, ())[0]
        return super().RegisterResourceOutputs(request)


_RESOURCE_REFERENCES: Final = resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES


class _RenderOutputs(set[Any]):
    """The Outputs a render waits for before it ends (``SETTINGS.outputs``): only tasks of its own loop.

    An Output made on another thread is a task of that thread's loop; waiting on it would hang the render
    (nothing runs that loop) or lose the wake-up that delivers its completion. It is not tracked, and the
    render fails naming the thread once the program is done.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.stray: str | None = None

    def add(self, task: Any) -> None:
        if task.get_loop() is self.loop:
            super().add(task)
        elif self.stray is None:
            self.stray = threading.current_thread().name


def _urn_type(urn: str) -> str:
    """The resource's own type in a URN (``urn:pulumi:stack::project::parent$type::name``)."""
    return urn.split("::")[2].split("$")[-1]


def _plain(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value)


def _unwrap(value: Any, path: tuple[str | int, ...]) -> tuple[Any, list[tuple[str | int, ...]]]:
    """Plain JSON-like values and the paths of the secrets found; assets become dicts naming their source."""
    from pulumi import AssetArchive, FileArchive, FileAsset, RemoteArchive, RemoteAsset, StringAsset

    if rpc.is_rpc_secret(value):
        inner, nested = _unwrap(rpc.unwrap_rpc_secret(value), path)
        return inner, [path, *nested]
    if isinstance(value, FileAsset | FileArchive):
        return {"path": str(value.path)}, []
    if isinstance(value, StringAsset):
        return {"text": value.text}, []
    if isinstance(value, RemoteAsset | RemoteArchive):
        return {"uri": value.uri}, []
    if isinstance(value, AssetArchive):
        assets, asset_secrets = _unwrap(dict(value.assets), (*path, "assets"))
        return {"assets": assets}, asset_secrets
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        secrets: list[tuple[str | int, ...]] = []
        for key, item in value.items():
            result[key], found = _unwrap(item, (*path, key))
            secrets.extend(found)
        return result, secrets
    if isinstance(value, list):
        items: list[Any] = []
        found_secrets: list[tuple[str | int, ...]] = []
        for index, item in enumerate(value):
            plain, found = _unwrap(item, (*path, index))
            items.append(plain)
            found_secrets.extend(found)
        return items, found_secrets
    if isinstance(value, float) and value.is_integer():
        # Protobuf carries every number as a double; the provider schema's integers are whole.
        return int(value), []
    return value, []


def stack_config(
    stack: str,
    overrides: Mapping[str, "str | StoredValue"] | None,
    project_dir: Path,
    stack_file: Path | None = None,
) -> tuple[str, dict[str, str], set[str]]:
    """The project name, the full config (``ns:key`` -> text) and the keys that are secret.

    The stack is checked as the Pulumi CLI checks it before the program runs (``project_config``): a
    declared key with no default and no value is missing, a value not of its declared type is refused.
    ``stack_file`` defaults to ``Pulumi.<stack>.yaml`` in ``project_dir``. An override replaces the
    stack file's value: a ``StoredValue`` as a command stored it (the CLI's ``-c``), or text as the
    program reads it (a list as JSON), the tests' shorthand.
    """
    project_file = project_dir / "Pulumi.yaml"
    if not project_file.is_file():
        raise RenderError(f"no Pulumi.yaml in {project_dir}")
    project_doc = yaml.safe_load(project_file.read_text()) or {}
    project = str(project_doc["name"])
    declared: dict[str, Any] = project_doc.get("config") or {}
    stack_file = stack_file or project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        raise RenderError(f"no stack file {stack_file.name} in {project_dir}")
    values = load_stack_file(stack_file.read_text())
    specs = {full_key(project, key): spec for key, spec in declared.items()}
    known = set(values) | set(specs)
    for key, value in (overrides or {}).items():
        full = full_key(project, key)
        if full not in known and not full.startswith("aws:"):
            raise RenderError(f"unknown config key {key!r}; known: {', '.join(sorted(known))}")
        values[full] = value if isinstance(value, StoredValue) else _program_text(value, specs.get(full))
    try:
        merged = apply_project_config(stack, project_doc, values)
    except ProjectConfigError as error:
        raise RenderError(str(error)) from None
    config = {key: value.text for key, value in merged.items()}
    return project, config, {key for key, value in merged.items() if value.secure}


def _program_text(text: str, spec: Any) -> StoredValue:
    """Text as the program reads it, stored as the CLI would store that value: a declared list or map
    given as JSON is a JSON object, anything else text."""
    if isinstance(spec, dict) and spec.get("type") in ("array", "object"):
        try:
            parsed = json.loads(text)
        except ValueError:
            return StoredValue(text)
        if isinstance(parsed, list | dict):
            return StoredValue.of(parsed)
    return StoredValue(text)


def render_stack(
    stack: str = "dev",
    overrides: Mapping[str, "str | StoredValue"] | None = None,
    project_dir: Path | None = None,
    stack_file: Path | None = None,
    account: str = ACCOUNT_ID,
) -> Rendered:
    """Run the program of ``project_dir`` (default this repository) for ``stack`` under the mocks.

    ``stack_file`` is the stack's config file, default ``Pulumi.<stack>.yaml`` in ``project_dir``
    (tests render stacks the repository does not ship). ``account`` is the AWS account the stack is
    deployed into: it is in every ARN the mocks report (the sandbox deploys the render there).
    """
    root = (project_dir or PROJECT_DIR).resolve()
    project, config, secret_keys = stack_config(stack, overrides, root, stack_file)
    program = root / "__main__.py"
    return _render(lambda: _run_main(program), root, project, stack, config, secret_keys, account)


def render_function(
    program: Callable[[], None], stack: str = "test", project: str = "test", region: str = DEFAULT_REGION
) -> Rendered:
    """Run ``program``, a function that declares resources, under the same mocks as ``render_stack``:
    what a test needs to construct components itself (as another program or the component provider
    would), without a project directory or stack file."""
    config = {"aws:region": region}
    return _render(program, PROJECT_DIR, project, stack, config, set(), ACCOUNT_ID)


def _render(
    main: Callable[[], None],
    root: Path,
    project: str,
    stack: str,
    config: dict[str, str],
    secret_keys: set[str],
    account: str,
) -> Rendered:
    region = config.get("aws:region", DEFAULT_REGION)
    monitor = _RecordingMonitor(BlocklistMocks(region, account))
    _run_isolated(lambda: _run_program(main, root, project, stack, config, secret_keys, monitor))

    resources = [
        RenderedResource(
            r.type,
            r.name,
            r.urn,
            r.parent,
            r.id,
            r.inputs,
            r.state,
            r.secret_paths,
            r.ignore_changes,
            monitor.registered_outputs.get(r.urn, {}),
            r.dependencies,
        )
        for r in monitor.registrations
    ]
    outputs, secret_outputs = _unwrap(monitor.stack_outputs, ())
    return Rendered(
        stack=stack,
        project=project,
        config=dict(config),
        resources=resources,
        outputs=outputs,
        secret_outputs=frozenset(str(path[0]) for path in secret_outputs if path),
    )


def _run_program(
    main: Callable[[], None],
    root: Path,
    project: str,
    stack: str,
    config: dict[str, str],
    secret_keys: set[str],
    monitor: _RecordingMonitor,
) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        set_all_config(config, list(secret_keys))
        # What pulumi.runtime.set_mocks does, minus creating a root stack: run_in_stack makes the one
        # the program's exports attach to.
        configure(
            pulumi_mocks.MockSettings(
                monitor=monitor,
                monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
                engine=pulumi_mocks.MockEngine(None),
                project=project,
                stack=stack,
                dry_run=False,
                organization="organization",
                callbacks=None,
                root_directory=str(root),
            )
        )
        # The Outputs awaited before the program ends: a set of this render's own. The settings bag's
        # default is one set for every context, so a render that failed inside an apply would leave its
        # pending tasks, bound to its closed loop, for the next render to wait on.
        outputs = _RenderOutputs(loop)
        SETTINGS.outputs = outputs
        added_path = str(root) not in sys.path
        if added_path:
            sys.path.insert(0, str(root))
        try:
            loop.run_until_complete(run_in_stack(main))
        finally:
            if added_path:
                sys.path.remove(str(root))
        if outputs.stray is not None:
            raise RenderError(
                f"an Output was created on thread {outputs.stray!r}, not the render's: its loop is not the "
                "one the program runs on, and the render would wait on it forever; create Outputs and "
                "resources on the program's own thread"
            )
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        monitor.close_thread_loops()
        loop.close()


def _run_main(program: Path) -> None:
    runpy.run_path(str(program), run_name="__main__")


def _run_isolated(work: Callable[[], None]) -> None:
    """Run ``work`` in a new thread with empty context variables, re-raising what it raises."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(
        target=contextvars.Context().run, args=(target,), name="pulumi-render", daemon=True
    )
    thread.start()
    thread.join(RENDER_TIMEOUT_SECONDS)
    if thread.is_alive():
        faulthandler.dump_traceback(all_threads=True)
        raise RenderError(
            f"the program did not finish under Pulumi's mocks within {RENDER_TIMEOUT_SECONDS:g} s "
            "(every thread's stack is on stderr)"
        )
    # What the program left behind (Outputs, tasks of its closed loop): collected now, in the render,
    # rather than in whichever test happens to run when the collector next does.
    gc.collect()
    if errors:
        raise errors[0]


def _table(rendered: Rendered) -> str:
    rows = [(r.type, r.name, r.id) for r in rendered.resources]
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(("TYPE", "NAME", "ID"))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(("TYPE", "NAME", "ID"), widths, strict=True))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.append("")
    lines.append(f"{len(rows)} resources in stack {rendered.stack}; outputs:")
    shown = rendered.to_json()["outputs"]
    lines += [f"  {key}: {value}" for key, value in shown.items()]
    return "\n".join(lines)


def main_render(argv_stack: str, as_json: bool) -> int:
    """The ``nfw-blocklist render`` command: 0 on success, 2 when the stack's config is invalid."""
    from components.config import InvalidConfig

    try:
        rendered = render_stack(argv_stack)
    except (RenderError, InvalidConfig) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(rendered.to_json(), indent=2, sort_keys=False) if as_json else _table(rendered))
    return 0

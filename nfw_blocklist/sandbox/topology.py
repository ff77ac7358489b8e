"""Several deployments of the two programs, in several accounts and regions, in one sandbox.

A topology file (YAML or JSON) lists the deployments::

    deployments:
      - name: network-use1            # [A-Za-z][A-Za-z0-9_-]*, unique
        kind: blocklist               # blocklist (this repository) | forwarder (forwarder/)
        account: "222222222222"       # 12 digits
        region: us-east-1
        config: {adminEmail: ..., acceptFindingsFrom: ["111111111111"]}
      - name: security
        kind: forwarder
        account: "111111111111"
        region: us-east-1
        config: {targetBusArns: ["${network-use1.findingBusArn}"]}
    organization:                     # optional: which accounts aws:PrincipalOrgID sees in an org
      id: o-exampleorg1
      accounts: ["111111111111", "222222222222"]

Each deployment is rendered as its own stack (named after the deployment) with exactly its
``config`` (keys without a namespace belong to the deployment's project) and its region, for its
account, and deployed into that account and region. A config value may name another deployment's
stack output as ``${NAME.OUTPUT}`` (a forwarder's ``targetBusArns`` needs the receiving buses'
ARNs, known only once those are deployed): deployments are deployed in dependency order, and a
cycle is refused. Without ``organization``, no account belongs to an organization.

Every problem with the file is a ``TopologyError`` with one line naming the deployment and field.
The file is read as JSON would be, whatever its syntax: strings, numbers, true/false, null, lists and
objects with string keys, each key once. YAML's other types (dates, binary, sets, ordered maps) are
refused, and so is a file larger than ``MAX_FILE_BYTES`` or one whose aliases expand to more than
``MAX_VALUES`` values (an alias is read as a copy of what it names).
"""

import json
import math
import re
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import yaml  # type: ignore[import-untyped]

from .buses import Organization

KINDS = ("blocklist", "forwarder")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")
_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_ORGANIZATION = re.compile(r"o-[a-z0-9]{10,32}")
_REFERENCE = re.compile(r"\$\{([^}.]*)\.([^}]*)\}")
_KEYS = {"name", "kind", "account", "region", "config"}

MAX_FILE_BYTES: Final = 1 << 20
"""A topology lists a handful of deployments; a larger file is refused before it is parsed."""
MAX_VALUES: Final = 1_000_000
"""Values (strings, numbers, lists, objects...) a document may hold, each alias counted as a copy of what
it names: a few hundred bytes of nested YAML aliases name billions of values. A file within
``MAX_FILE_BYTES`` holds fewer (a value takes two bytes at least) unless aliases multiply them."""


class TopologyError(ValueError):
    """A topology file the sandbox cannot deploy: one line naming the deployment and the field."""


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    kind: str
    account: str
    region: str
    config: Mapping[str, Any] = field(default_factory=dict)
    """As written: values may hold ``${NAME.OUTPUT}`` references."""

    def references(self) -> set[str]:
        """The deployments whose outputs this one's config names."""
        return {match[0] for value in self.config.values() for match in _REFERENCE.findall(_text(value))}


@dataclass(frozen=True)
class Topology:
    deployments: tuple[DeploymentSpec, ...]
    organization: Organization | None = None

    def deployment(self, name: str) -> DeploymentSpec:
        return self._by_name[name]

    @cached_property
    def _by_name(self) -> dict[str, DeploymentSpec]:
        return {spec.name: spec for spec in self.deployments}


def load_topology(path: str) -> Topology:
    """Read and check a topology file (``.json`` as JSON, anything else as YAML)."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise TopologyError(
                f"{path}: larger than {MAX_FILE_BYTES} bytes, the most a topology file may hold"
            )
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise TopologyError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise TopologyError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    try:
        document = _load_json(text) if path.endswith(".json") else _load_yaml(text)
    except json.JSONDecodeError as e:
        raise TopologyError(f"{path}: invalid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except _NotJson as e:
        raise TopologyError(f"{path}: invalid JSON: {e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise TopologyError(f"{path}: invalid YAML{where}: {problem}") from None
    except (RecursionError, ValueError) as e:
        raise TopologyError(f"{path}: cannot parse: {str(e).splitlines()[0]}") from None
    return parse_topology(document, path)


# --- reading a file as JSON values ------------------------------------------------------------------

_NOT_JSON: Final = (
    "is not a JSON value; a topology holds strings, numbers, true/false, null, lists and objects "
    "(quote it to make it a string)"
)


class _NotJson(ValueError):
    """A JSON document that Python's parser accepts but JSON does not (NaN, a key given twice)."""


def _load_json(text: str) -> Any:
    def constant(name: str) -> Any:
        raise _NotJson(f"{name} {_NOT_JSON}")

    return json.loads(text, object_pairs_hook=_json_object, parse_constant=constant)


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise _NotJson(f"key {key!r} appears twice in one object")
        mapping[key] = value
    return mapping


_YAML_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML has it (it also bounds nesting depth); the constructor is Python's."""


class _JsonValuesLoader(_YAML_BASE):
    """YAML's safe loader, constructing only what JSON can say; ``_load_yaml`` bounds the aliases."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[str, Any]:
        if not isinstance(node, yaml.MappingNode):
            return dict(super().construct_mapping(node, deep))
        written = {id(key_node) for key_node, _ in node.value}  # not the ones a merge key (<<) brings
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        seen: set[str] = set()  # written keys: one may override a merged key, not another written one
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                shown = repr(key) if isinstance(key, int | float | bool | None) else type(key).__name__
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {shown} is not a string (quote it)", key_node.start_mark
                )
            if id(key_node) in written:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} appears twice in one object", key_node.start_mark
                    )
                seen.add(key)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_finite_float(self, node: Any) -> float:
        value = float(self.construct_yaml_float(node))
        if not math.isfinite(value):
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value} is not a finite number; {_NOT_JSON}", node.start_mark
            )
        return value


def _refuse(what: str) -> Any:
    def construct(loader: Any, node: Any) -> Any:
        raise yaml.constructor.ConstructorError(None, None, f"{what} {_NOT_JSON}", node.start_mark)

    return construct


_JsonValuesLoader.add_constructor("tag:yaml.org,2002:float", _JsonValuesLoader.construct_finite_float)
for _tag, _what in (
    ("timestamp", "a date"),
    ("binary", "binary data"),
    ("set", "a set"),
    ("omap", "an ordered map"),
    ("pairs", "a list of pairs"),
):
    _JsonValuesLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse(_what))


def _load_yaml(text: str) -> Any:
    loader = _JsonValuesLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _count_values(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _count_values(root: Any) -> int:
    """How many values the document holds, each alias counted as a copy of what it names, in time and
    memory linear in the file: refuses a count over ``MAX_VALUES`` and an alias inside what it names."""
    counted: dict[int, int] = {}
    entered: set[int] = set()  # on the path from the root, not yet counted
    work: list[tuple[Any, bool]] = [(root, False)]
    while work:
        node, children_counted = work.pop()
        if children_counted:
            entered.discard(id(node))
            count = 1 + sum(counted[id(child)] for child in _children(node))
            if count > MAX_VALUES:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the document holds more than {MAX_VALUES} values once its aliases are expanded",
                    node.start_mark,
                )
            counted[id(node)] = count
        elif id(node) in entered:
            raise yaml.constructor.ConstructorError(
                None, None, "an alias refers to a value that contains it", node.start_mark
            )
        elif id(node) not in counted:
            entered.add(id(node))
            work.append((node, True))
            work.extend((child, False) for child in _children(node) if id(child) not in counted)
    return counted[id(root)]


def _children(node: Any) -> Iterable[Any]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    return ()


# --- checking the document ----------------------------------------------------------------------------


def parse_topology(document: Any, source: str = "topology") -> Topology:
    if not isinstance(document, Mapping):
        raise TopologyError(f"{source}: expected an object with 'deployments'")
    unknown = sorted(set(document) - {"deployments", "organization"}, key=str)
    if unknown:
        raise TopologyError(
            f"{source}: unknown key {unknown[0]!r}; expected 'deployments' and 'organization'"
        )
    raw = document.get("deployments")
    if not isinstance(raw, list) or not raw:
        raise TopologyError(f"{source}: 'deployments' must be a non-empty list")
    deployments: list[DeploymentSpec] = []
    names: set[str] = set()
    for index, entry in enumerate(raw):
        spec = _deployment(entry, f"{source}: deployments[{index}]")
        if spec.name in names:
            raise TopologyError(f"{source}: deployment {spec.name!r}: name is used twice")
        names.add(spec.name)
        deployments.append(spec)
    for spec in deployments:
        for key, value in spec.config.items():
            for target, output in _REFERENCE.findall(_text(value)):
                if target not in names:
                    raise TopologyError(
                        f"{source}: deployment {spec.name!r}: config.{key} names deployment {target!r}, "
                        "which the topology does not declare"
                    )
                if not output:
                    raise TopologyError(
                        f"{source}: deployment {spec.name!r}: config.{key}: ${{{target}.}} names no output"
                    )
    organization = _organization(document.get("organization"), source)
    topology = Topology(tuple(deployments), organization)
    deployment_order(topology)  # refuse a cycle now, before anything is rendered
    return topology


def _deployment(entry: Any, where: str) -> DeploymentSpec:
    if not isinstance(entry, Mapping):
        raise TopologyError(f"{where}: expected an object with name, kind, account, region, config")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise TopologyError(
            f"{where}: name must be a letter then letters, digits, '-' or '_' (at most 63), got {name!r}"
        )
    where = f"{where.split(': ')[0]}: deployment {name!r}"
    unknown = sorted(set(entry) - _KEYS, key=str)
    if unknown:
        raise TopologyError(f"{where}: unknown field {unknown[0]!r}; expected {', '.join(sorted(_KEYS))}")
    kind = entry.get("kind")
    if kind not in KINDS:
        raise TopologyError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    account = entry.get("account")
    if isinstance(account, int) and not isinstance(account, bool):
        account = str(account)  # YAML reads an unquoted account id as a number
    if not isinstance(account, str) or not _ACCOUNT.fullmatch(account):
        raise TopologyError(f"{where}: account must be 12 digits (quote it in YAML), got {account!r}")
    region = entry.get("region")
    if not isinstance(region, str) or not _REGION.fullmatch(region):
        raise TopologyError(f"{where}: region must be an AWS region such as us-east-1, got {region!r}")
    config = entry.get("config", {})
    if config is None:
        config = {}
    if not isinstance(config, Mapping) or not all(isinstance(key, str) and key for key in config):
        raise TopologyError(f"{where}: config must be an object of KEY: VALUE")
    if "aws:region" in config:
        raise TopologyError(f"{where}: config.aws:region: the deployment's region field sets it")
    return DeploymentSpec(name, kind, account, region, dict(config))


def _organization(raw: Any, source: str) -> Organization | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) - {"id", "accounts"}:
        raise TopologyError(f"{source}: organization must be an object with 'id' and 'accounts'")
    organization_id = raw.get("id")
    if not isinstance(organization_id, str) or not _ORGANIZATION.fullmatch(organization_id):
        raise TopologyError(
            f"{source}: organization.id must look like o-exampleorg1, got {organization_id!r}"
        )
    accounts = raw.get("accounts")
    if not isinstance(accounts, list):
        raise TopologyError(f"{source}: organization.accounts must be a list of 12-digit account ids")
    members = [str(a) if isinstance(a, int) and not isinstance(a, bool) else a for a in accounts]
    for member in members:
        if not isinstance(member, str) or not _ACCOUNT.fullmatch(member):
            raise TopologyError(f"{source}: organization.accounts: {member!r} is not a 12-digit account id")
    return Organization(organization_id, frozenset(members))


def deployment_order(topology: Topology) -> list[DeploymentSpec]:
    """Every deployment after the ones it references, in file order otherwise; a cycle is refused.

    A depth-first walk with its own stack: a chain of references as long as the file is not bounded
    by Python's recursion limit."""
    ordered: list[DeploymentSpec] = []
    done: set[str] = set()
    path: dict[str, None] = {}  # the deployments being visited, in order (a dict: O(1) membership)
    for first in topology.deployments:
        work: list[tuple[DeploymentSpec, list[str]]] = []
        if first.name not in done:
            path[first.name] = None
            work.append((first, sorted(first.references(), reverse=True)))
        while work:
            spec, pending = work[-1]
            if not pending:
                work.pop()
                del path[spec.name]
                done.add(spec.name)
                ordered.append(spec)
                continue
            name = pending.pop()
            if name in done:
                continue
            if name in path:
                names = list(path)
                cycle = [*names[names.index(name) :], name]
                raise TopologyError(
                    f"deployment {name!r}: its config references form a cycle: {' -> '.join(cycle)}"
                )
            target = topology.deployment(name)
            path[name] = None
            work.append((target, sorted(target.references(), reverse=True)))
    return ordered


def resolve_config(spec: DeploymentSpec, outputs: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The deployment's config as ``pulumi config`` text, with every ``${NAME.OUTPUT}`` replaced."""

    def substitute(value: Any, key: str) -> Any:
        if isinstance(value, str):
            return _REFERENCE.sub(lambda match: _output(spec, key, outputs, match[1], match[2]), value)
        if isinstance(value, list):
            return [substitute(item, key) for item in value]
        if isinstance(value, Mapping):
            return {k: substitute(v, key) for k, v in value.items()}
        return value

    return {key: _config_text(substitute(value, key)) for key, value in spec.config.items()}


def _output(
    spec: DeploymentSpec, key: str, outputs: Mapping[str, Mapping[str, Any]], target: str, output: str
) -> str:
    value = outputs.get(target, {}).get(output)
    if not isinstance(value, str) or not value:
        known = ", ".join(sorted(outputs.get(target, {}))) or "none"
        raise TopologyError(
            f"deployment {spec.name!r}: config.{key}: deployment {target!r} has no output {output!r} "
            f"(its outputs: {known})"
        )
    return value


def _config_text(value: Any) -> str:
    """How ``pulumi config`` hands a typed value to the program: scalars as text, lists and maps as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# --- rendering ------------------------------------------------------------------------------------

_renders: dict[tuple[str, str, str, tuple[tuple[str, str], ...]], Any] = {}
_renders_lock = threading.Lock()


def project_dir(kind: str) -> Path:
    from nfw_blocklist.render import PROJECT_DIR

    return PROJECT_DIR if kind == "blocklist" else PROJECT_DIR / "forwarder"


def render_deployment(spec: DeploymentSpec, config: Mapping[str, str]) -> Any:
    """The deployment's stack rendered for its account and region (each distinct one once per process:
    a render is a pure function of these, and takes about a second)."""
    from nfw_blocklist.render import render_stack

    overrides = {**config, "aws:region": spec.region}
    key = (spec.kind, spec.name, spec.account, tuple(sorted(overrides.items())))
    with _renders_lock:
        cached = _renders.get(key)
    if cached is not None:
        return cached
    with tempfile.TemporaryDirectory() as directory:
        stack_file = Path(directory) / f"Pulumi.{spec.name}.yaml"
        stack_file.write_text("config: {}\n")
        rendered = render_stack(
            spec.name, overrides, project_dir(spec.kind), stack_file=stack_file, account=spec.account
        )
    with _renders_lock:
        return _renders.setdefault(key, rendered)


@dataclass(frozen=True)
class EmptyRender:
    """What the topology's sandbox starts from: nothing; every deployment is deployed into it."""

    stack: str = "topology"
    config: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    resources: Sequence[Any] = ()


class TopologySandbox:
    """One sandbox with every deployment of a topology deployed into its account and region.

    ``views[NAME]`` is the deployment's view of the sandbox (``ledger_items``,
    ``describe_rule_group``, ``notifications``, ``dead_letters``...); ``put_event`` puts an
    event on the default bus of the account and region its own ``account`` and ``region`` name,
    as that account. ``renderer`` renders one deployment (tests pass one that injects a mistake).
    """

    def __init__(
        self,
        topology: Topology,
        *,
        start: float | None = None,
        renderer: Any = None,
        strict_iam: bool = True,
        execution_timeout: float = 60.0,
    ) -> None:
        from .core import Sandbox

        self.topology = topology
        self.renderer = renderer or render_deployment
        self.sandbox = Sandbox(
            EmptyRender(), start=start, strict_iam=strict_iam, execution_timeout=execution_timeout
        )
        self.sandbox.buses.organization = topology.organization
        self.views: dict[str, Any] = {}
        self.outputs: dict[str, dict[str, Any]] = {}

    def __enter__(self) -> "TopologySandbox":
        self.sandbox.start()
        try:
            for spec in deployment_order(self.topology):
                rendered = self.renderer(spec, resolve_config(spec, self.outputs))
                self.views[spec.name] = self.sandbox.deploy(rendered, account=spec.account)
                self.outputs[spec.name] = dict(rendered.outputs)
        except BaseException:
            self.sandbox.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.sandbox.stop()

    def put_event(self, event: dict[str, Any]) -> Any:
        """PutEvents on the default bus of the event's own account and region, by that account."""
        from .buses import bus_arn

        account, region = event_origin(event)
        return self.sandbox.put_on_bus(event, bus_arn(account, region), sender=account)


def event_origin(event: Mapping[str, Any]) -> tuple[str, str]:
    """The event's ``account`` and ``region``: where (and by whom) the topology puts it."""
    account, region = event.get("account"), event.get("region")
    if not isinstance(account, str) or not _ACCOUNT.fullmatch(account):
        raise TopologyError(f"event {event.get('id')!r}: account must be 12 digits, got {account!r}")
    if not isinstance(region, str) or not _REGION.fullmatch(region):
        raise TopologyError(f"event {event.get('id')!r}: region must be an AWS region, got {region!r}")
    return account, region

"""The counts the README and the program's docstring state, checked against what the program declares."""

import argparse
import ast
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

from components import package
from components.config import InvalidConfig, StackConfig
from components.organization import finding_bus_policy_overflow
from components.patterns import FINDING_SOURCES, pattern_size_problem, scoped_patterns_for
from handlers import addresses, metrics, payloads, securityhub
from handlers.model import SkipReason
from handlers.steering import CUSTOM_ACTIONS
from nfw_blocklist import cli

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
NUMBERS = {"three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "ten": 10, "eleven": 11}
NUMBERS |= {"twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15}
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LAMBDA = "aws:lambda/function:Function"


def _number(pattern: str, text: str = README) -> int:
    match = re.search(pattern, text)
    assert match is not None, pattern
    return NUMBERS[match.group(1).lower()]


@pytest.fixture(scope="module")
def alarms(render_dev) -> set[str]:
    """The dev stack's alarms, named as the README names them (after ``nfw-blocklist-``)."""
    return {alarm.name.removeprefix("nfw-blocklist-") for alarm in render_dev().of_type(ALARM)}


def test_the_readme_counts_the_alarms_the_default_stack_creates(alarms):
    assert _number(r"With `alarms` on \(the default\), (\w+) CloudWatch alarms") == len(alarms)


def test_the_readme_names_every_alarm_the_default_stack_creates(alarms):
    section = README[README.index("### Alarms") :]
    table = section[section.index("| Alarm") : section.index("\n\n", section.index("| Alarm"))]
    named = {name for row in table.splitlines()[2:] for name in re.findall(r"`([a-z-]+)`", row.split("|")[1])}
    assert named == alarms


def test_the_cost_line_prices_the_alarms_the_default_stack_creates(alarms):
    match = re.search(r"(\w+) standard-resolution alarms at about \$0\.10 each \(\$([\d.]+) a month", README)
    assert match is not None
    assert NUMBERS[match.group(1).lower()] == len(alarms)
    assert float(match.group(2)) == pytest.approx(0.10 * len(alarms))


def test_the_readme_lists_every_array_key_of_the_stack():
    match = re.search(r"List values \(([^)]*)\) are typed", README)
    assert match is not None
    listed = re.findall(r"`(\w+)`", match.group(1))
    declared = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]
    assert listed == [key for key, spec in declared.items() if spec.get("type") == "array"]


def _components_the_program_wires() -> set[str]:
    tree = ast.parse((REPO / "__main__.py").read_text())
    imported = {
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("components.")
        for alias in node.names
    }
    return imported & {component.__name__ for component in package.component_types()}


def test_the_program_says_how_many_components_it_wires():
    docstring = ast.get_docstring(ast.parse((REPO / "__main__.py").read_text())) or ""
    assert _number(r"wire the (\w+) components", docstring) == len(_components_the_program_wires())


def test_the_readme_lists_the_components_the_program_wires():
    section = README[README.index("The Pulumi program (`__main__.py`) wires") :]
    section = section[: section.index("\n\n", section.index("- **"))]
    assert set(re.findall(r"^- \*\*`(\w+)`\*\*", section, re.MULTILINE)) == _components_the_program_wires()


def test_the_readme_counts_the_other_components_of_the_package():
    others = _number(r"`FindingForwarder` is a component like the other (\w+)")
    assert others == len(package.component_types()) - 1


def _headings(text: str) -> list[tuple[int, str]]:
    """(level, title) of every Markdown heading outside fenced blocks."""
    found, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"(#+) (.+)", line)):
            found.append((len(match.group(1)), match.group(2)))
    return found


def _anchor(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def test_the_configuration_table_is_one_table_of_every_key():
    start = README.index("| Key | Default | Accepted values |")
    table = README[start : README.index("\n\n", start)].splitlines()[2:]
    keys = [re.match(r"\| `(\w+)` \|", row) for row in table]
    declared = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]
    assert sorted(key.group(1) for key in keys if key) == sorted(declared)


def _as_written(default: object) -> str:
    """A Pulumi.yaml default as the configuration table writes it."""
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, list) and default:
        return f"all {next(word for word, number in NUMBERS.items() if number == len(default))}"
    if isinstance(default, str) and default.isdigit():
        return f'`"{default}"`'
    return "*(required)*" if default is None else f"`{default}`"


def test_the_configuration_table_gives_each_key_its_declared_default():
    start = README.index("| Key | Default | Accepted values |")
    rows = [row.split("|")[1:3] for row in README[start : README.index("\n\n", start)].splitlines()[2:]]
    declared = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]
    written = {key.strip(" `"): default.strip() for key, default in rows}
    assert written == {key: _as_written(declared[key].get("default")) for key in written}


def test_the_contents_list_every_section_in_order():
    contents = README[README.index("## Contents") : README.index("## Architecture")]
    listed = re.findall(r"^- \[[^\]]+\]\(#([\w-]+)\)$", contents, re.MULTILINE)
    sections = [_anchor(title) for level, title in _headings(README) if level == 2 and title != "Contents"]
    assert listed == sections


@pytest.mark.parametrize("document", ["README.md", "docs/DESIGN.md", "docs/LIMITS.md", "docs/OCSF.md"])
def test_every_link_names_a_file_and_a_heading_that_exist(document):
    source = REPO / document
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", source.read_text()):
        if target.startswith("http"):
            continue
        path, _, anchor = target.partition("#")
        linked = (source.parent / path).resolve() if path else source
        if not linked.exists():
            broken.append(target)
            continue
        if anchor and anchor not in {_anchor(title) for _, title in _headings(linked.read_text())}:
            broken.append(target)
    assert broken == []


@pytest.mark.parametrize("document", ["README.md", "docs/DESIGN.md", "docs/LIMITS.md", "docs/OCSF.md"])
def test_every_section_cited_by_name_exists(document):
    """``docs/DESIGN.md, "Monitor mode"``, ``LIMITS.md, "Next Generation policies")``: a heading starts so."""
    cited = re.findall(r'(\w+)\.md,? \(?"([^"]+)"(?: and "([^"]+)")?', (REPO / document).read_text())
    missing = []
    for file, *names in cited:
        titles = [title for _, title in _headings((REPO / "docs" / f"{file}.md").read_text())]
        names = [" ".join(name.split()) for name in names if name]
        missing += [name for name in names if not any(title.startswith(name) for title in titles)]
    assert (cited or document != "README.md") and missing == []


def _sources_reading(way: str) -> list[str]:
    return [source for source, ways in FINDING_SOURCES.items() if way in ways]


def test_the_readme_says_which_finding_sources_create_the_custom_actions():
    match = re.search(r"With Security Hub findings \(`findingSource` ([^)]*)\)", README)
    assert match is not None
    assert re.findall(r"`([\w+]+)`", match.group(1)) == _sources_reading("securityhub")


WAYS = [("Security Hub CSPM", "securityhub"), ("GuardDuty", "guardduty"), ("The new Security Hub", "ocsf")]


@pytest.mark.parametrize(("source", "way"), WAYS)
def test_the_event_source_table_says_which_finding_sources_read_each_way(source, way):
    row = re.search(rf"^\| {source} \| ([^|]*) \|", README, re.MULTILINE)
    assert row is not None
    assert re.findall(r"`([\w+]+)`", row.group(1)) == _sources_reading(way)


def test_the_readme_names_the_log_group_of_every_function(render_dev):
    match = re.search(r"`/aws/lambda/nfw-blocklist/<stack>/nfw-blocklist-\{([a-z,]+)\}`", README)
    assert match is not None
    functions = {function.name.removeprefix("nfw-blocklist-") for function in render_dev().of_type(LAMBDA)}
    assert set(match.group(1).split(",")) == functions


PERMISSIONS = {
    "aws:networkfirewall/ruleGroup:": "Network Firewall rule groups",
    "aws:networkfirewall/firewallPolicy:": "firewall policies",
    "aws:dynamodb/": "DynamoDB",
    "aws:lambda/": "Lambda",
    "aws:sfn/": "Step Functions",
    "aws:sns/": "SNS",
    "aws:kms/": "KMS",
    "aws:sqs/": "SQS",
    "aws:cloudwatch/eventRule:": "EventBridge rules",
    "aws:cloudwatch/eventTarget:": "EventBridge rules",
    "aws:cloudwatch/eventBus": "event buses",
    "aws:scheduler/": "EventBridge Scheduler",
    "aws:iam/": "IAM roles",
    "aws:cloudwatch/logGroup:": "CloudWatch Logs",
    "aws:cloudwatch/metricAlarm:": "alarms",
    "aws:cloudwatch/dashboard:": "dashboards",
    "aws:securityhub/actionTarget:": "Security Hub custom actions",
    "aws:route53/resolverFirewall": "Route 53 Resolver DNS Firewall",
}
"""What each AWS resource type the program declares needs the deploying credentials to create, as the
README's prerequisites name it."""


def test_the_prerequisites_name_every_service_the_program_creates_resources_in(render_dev):
    bullet = README[README.index("- **AWS credentials**") : README.index("- **GuardDuty**")]
    bullet = " ".join(bullet.split())
    everything = render_dev(
        domainBlocking="both",
        dnsFirewallVpcIds='["vpc-0123456789abcdef0"]',
        acceptFindingsFrom='["111122223333"]',
    )
    types = {resource.type for resource in [*render_dev().resources, *everything.resources]}
    aws_types = {kind for kind in types if kind.startswith("aws:")}
    unnamed = {kind for kind in aws_types if not any(kind.startswith(prefix) for prefix in PERMISSIONS)}
    missing = {PERMISSIONS[p] for p in PERMISSIONS for kind in aws_types if kind.startswith(p)} - {
        phrase for phrase in PERMISSIONS.values() if phrase in bullet
    }
    assert (unnamed, missing) == (set(), set())


def test_the_readme_lists_every_output_the_program_exports():
    section = README[README.index("### Stack outputs") :]
    table = section[section.index("| Output") : section.index("\n\n", section.index("| Output"))]
    listed = [re.match(r"\| `(\w+)` \|", row) for row in table.splitlines()[2:]]
    exported = re.findall(r'pulumi\.export\("(\w+)"', (REPO / "__main__.py").read_text())
    assert sorted(output.group(1) for output in listed if output) == sorted(exported)


def test_the_readme_names_every_metric_the_functions_emit():
    section = README[README.index("### Metrics") : README.index("### Dashboard")]
    named = set(re.findall(r"`([A-Z]\w+)`", section)) - {metrics.NAMESPACE, metrics.DIMENSION}
    assert named == set(metrics.UNITS)


def test_the_cost_line_counts_the_custom_metrics_the_functions_emit():
    assert _number(r"and (\w+)\s+custom metrics from the EMF lines") == len(metrics.UNITS)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def test_the_readme_names_every_cli_command_and_its_options():
    commands = _subcommands(cli.build_parser())
    usage = re.search(r"^nfw-blocklist \[-v\] \{([\w,]+)\} \.\.\.$", README, re.MULTILINE)
    assert usage is not None and usage.group(1).split(",") == list(commands)
    section = README[README.index("| Command | What it does |") :]
    table = section[: section.index("\n\n")]
    rows = {row.split("|")[1].strip().strip("`") for row in table.splitlines()[2:]}
    unknown = []
    for row in rows:
        words = row.split()
        parser = commands[words[0]]
        if words[0] == "brake":
            continue
        options = {option for action in parser._actions for option in action.option_strings}
        unknown += [word for word in re.findall(r"(?<![\w-])(-{1,2}[a-z][\w-]*)", row) if word not in options]
    assert {row.split()[0] for row in rows} == set(commands)
    assert unknown == []


def test_the_commands_the_readme_says_share_the_options_take_each_of_them():
    intro = re.search(r"^(.*) all take these options:$", README, re.MULTILINE)
    assert intro is not None
    named = [name.split()[0] for name in re.findall(r"`([\w |]+)`", intro.group(1))]
    section = README[intro.end() :]
    table = section[section.index("| Option") : section.index("\n\n", section.index("| Option"))]
    options = [
        word for row in table.splitlines()[2:] for word in re.findall(r"`(-{1,2}[\w-]+)", row.split("|")[1])
    ]
    commands = _subcommands(cli.build_parser())
    parsers = [commands[name] for name in named if name != "brake"]
    parsers += list(_subcommands(commands["brake"]).values())
    missing = [
        (parser.prog, option)
        for parser in parsers
        for option in options
        if option not in {flag for action in parser._actions for flag in action.option_strings}
    ]
    assert len(named) == 8 and missing == []


def test_the_readme_names_every_plain_input_of_the_schema():
    match = re.search(
        r"must be known before the deployment:\s+(.*?)\(the schema marks them `plain`\)", README, re.S
    )
    assert match is not None
    schema = json.loads((REPO / "provider" / "schema.json").read_text())
    plain = {
        name
        for resource in schema["resources"].values()
        for name, spec in resource.get("inputProperties", {}).items()
        if spec.get("plain")
    }
    assert set(re.findall(r"`(\w+)`", match.group(1))) == plain


def test_the_readme_lists_every_skip_reason():
    section = README[README.index("Skip reasons:\n") :]
    section = section[: section.index("\n\n", section.index("- `"))]
    listed = re.findall(r"^- `([a-z-]+)`", section, re.MULTILINE)
    assert sorted(listed) == sorted(reason.value for reason in SkipReason)


def test_the_safety_section_names_every_built_in_protected_network():
    section = README[README.index("- **Built-in never-block list**") : README.index("IPv4-mapped IPv6 (")]
    named = set(re.findall(r"`([0-9a-f:./]+/\d+)`", section))
    assert named == {str(network) for network in addresses.BUILT_IN_PROTECTED}


def _ranges() -> list[tuple[str, int, int]]:
    """Every configuration key whose accepted values the table gives as a range of whole numbers."""
    start = README.index("| Key | Default | Accepted values |")
    rows = [row.split("|")[1:4] for row in README[start : README.index("\n\n", start)].splitlines()[2:]]
    ranges = []
    for key, _, accepted in rows:
        if match := re.fullmatch(r"(?:0, )?(\d+)\N{EN DASH}(\d+)", accepted.strip()):
            ranges.append((key.strip(" `"), int(match.group(1)), int(match.group(2))))
    return ranges


@pytest.mark.parametrize(("key", "low", "high"), _ranges())
def test_the_configuration_accepts_exactly_the_range_the_readme_gives(key, low, high):
    config = {"adminEmail": "secops@example.com"}
    for value in (low, high):
        StackConfig.from_mapping({**config, key: str(value)})
    for value in (low - 1, high + 1):
        with pytest.raises(InvalidConfig, match=key):
            StackConfig.from_mapping({**config, key: str(value)})


def _choices() -> list[tuple[str, list[str]]]:
    """Every configuration key whose accepted values the table lists one by one."""
    start = README.index("| Key | Default | Accepted values |")
    rows = [row.split("|")[1:4] for row in README[start : README.index("\n\n", start)].splitlines()[2:]]
    return [
        (key.strip(" `"), re.findall(r"`([^`]+)`", accepted))
        for key, _, accepted in rows
        if re.fullmatch(r"(`[^`]+`(, )?)+", accepted.strip())
    ]


@pytest.mark.parametrize(("key", "values"), _choices())
def test_the_configuration_accepts_each_value_the_readme_lists(key, values):
    declared = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"][key]
    config = {"adminEmail": "secops@example.com", "dnsFirewallVpcIds": '["vpc-0123456789abcdef0"]'}
    for value in values:
        StackConfig.from_mapping(
            {**config, key: json.dumps([value]) if declared["type"] == "array" else value}
        )
    with pytest.raises(InvalidConfig, match=key):
        StackConfig.from_mapping(
            {**config, key: '["nonsense"]' if declared["type"] == "array" else "nonsense"}
        )


def test_the_readme_names_the_custom_actions_the_stack_creates():
    bullet = README[README.index("- **Custom actions.**") : README.index("- **Decisions.**")]
    named = re.findall(r"\*\*([^*]+)\*\* \(", bullet)
    assert _number(r"creates (\w+) Security Hub custom actions", " ".join(bullet.split())) == len(
        CUSTOM_ACTIONS
    )
    assert named == [action.name for action in CUSTOM_ACTIONS]


def _most(fits: Callable[[list[str]], bool]) -> int:
    """The longest list of distinct account ids ``fits`` accepts (it accepts every shorter one)."""
    low, high = 0, 1
    while fits([f"{100000000000 + i}" for i in range(high)]):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits([f"{100000000000 + i}" for i in range(middle)]) else (low, middle)
    return low


def test_the_readme_says_how_many_accounts_the_patterns_and_the_bus_policy_hold():
    text = " ".join(README.split())
    match = re.search(r"room for (\d+) `findingAccounts` .*? \((\d+) with every opt-in action type", text)
    bus = re.search(r"10,240 characters, about (\d+) accounts in `acceptFindingsFrom`", text)
    assert match is not None and bus is not None
    every = ["awsApiCallAction", "kubernetesApiCallAction", "rdsLoginAttemptAction"]
    assert (int(match.group(1)), int(match.group(2))) == (
        _most(
            lambda ids: pattern_size_problem(scoped_patterns_for("securityhub", [], [], ids, True)) is None
        ),
        _most(
            lambda ids: pattern_size_problem(scoped_patterns_for("securityhub", every, [], ids, True)) is None
        ),
    )
    assert int(bus.group(1)) == pytest.approx(
        _most(lambda ids: finding_bus_policy_overflow(ids) is None), abs=5
    )


def test_the_readme_gives_the_order_the_annotation_fields_are_kept_in():
    text = " ".join(README.split())
    match = re.search(
        r"writes only what fits, in this order: the `RESOLVED` marker \(if any\), (.*?); the Note", text
    )
    assert match is not None
    named = [securityhub.RESOLVED_MARKER_KEY] + [
        f"nfw-blocklist:{key}" for key in re.findall(r"`([\w-]+)`", match[1])
    ]
    assert named == list(securityhub.FIELD_PRIORITY)


def test_the_readme_states_the_payload_bounds_the_functions_keep():
    text = " ".join(README.split())
    assert re.findall(r"at most (\d+) by name", text) == [str(payloads.SAMPLE_SIZE)]
    assert re.findall(r"host lists are a sample of at most (\d+)", text) == [str(payloads.SAMPLE_SIZE)]
    assert re.findall(r"ids are cut to (\d+) characters \(.*? carried whole, up to (\d+)\)", text) == [
        (str(payloads.MAX_TEXT), str(payloads.MAX_IDENTIFIER))
    ]
    assert re.findall(r"\((\d+) hosts per line\)", text) == [str(payloads.LOG_CHUNK)]

"""Rule groups built by hand in the shapes DescribeRuleGroup returns (the verdict engine's tests and the
flow table's share them)."""

BAD = "203.0.113.7"
GOOD = "198.51.100.20"
INSTANCE = "10.0.1.15"
METRIC_ACTION = {
    "ActionName": "BlocklistMetric",
    "ActionDefinition": {"PublishMetricAction": {"Dimensions": [{"Value": "BlocklistDrop"}]}},
}


def blocklist_group(*hosts: str) -> dict:
    """The program's stateless group as DescribeRuleGroup returns it: source and destination drop rules
    with the metric action, and the placeholder that forwards a documentation address."""
    addresses = [{"AddressDefinition": f"{host}/32"} for host in hosts]
    rules = [
        {
            "Priority": 65535,
            "RuleDefinition": {
                "MatchAttributes": {"Sources": [{"AddressDefinition": "192.0.2.255/32"}]},
                "Actions": ["aws:forward_to_sfe"],
            },
        }
    ]
    if hosts:
        rules += [
            {
                "Priority": priority,
                "RuleDefinition": {
                    "MatchAttributes": {key: addresses},
                    "Actions": ["aws:drop", "BlocklistMetric"],
                },
            }
            for priority, key in ((30000, "Sources"), (30100, "Destinations"))
        ]
    return {
        "RulesSource": {
            "StatelessRulesAndCustomActions": {"StatelessRules": rules, "CustomActions": [METRIC_ACTION]}
        }
    }


def domain_group(targets: list[str], generated: str = "DENYLIST", home_net: list[str] | None = None) -> dict:
    group: dict = {
        "RulesSource": {
            "RulesSourceList": {
                "Targets": targets,
                "TargetTypes": ["TLS_SNI", "HTTP_HOST"],
                "GeneratedRulesType": generated,
            }
        }
    }
    if home_net is not None:
        group["RuleVariables"] = {"IPSets": {"HOME_NET": {"Definition": home_net}}}
    return group


def firewall_rule(action: str, scope: str, hook: str, protocol: str, **fields: object) -> dict:
    return {"Action": action, "ActionScope": scope, "Hook": hook, "Protocol": protocol, **fields}


def firewall_group(*rules: dict, variables: dict | None = None) -> dict:
    group: dict = {"RulesSource": {"FirewallRules": list(rules)}}
    if variables:
        group["RuleVariables"] = {
            "IPSets": {name: {"Definition": cidrs} for name, cidrs in variables.items()}
        }
    return group

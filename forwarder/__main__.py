"""nfw-blocklist-forwarder: send the findings nfw-blocklist acts on to finding buses in other accounts.

Deployed with ``pulumi up`` from this directory, in the security-tooling account (the GuardDuty and Security
Hub delegated administrator), once per region where findings arrive. It needs none of the blocklist's own
configuration or resources: only the ``findingBusArn`` outputs of the blocklist stacks to send to.
"""

import sys
from pathlib import Path

# `pulumi up` runs this program from forwarder/; the components live in the repository root beside it.
REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

import pulumi  # noqa: E402

from components.forwarder import FindingForwarder, FindingForwarderArgs  # noqa: E402
from components.forwarder_config import ForwarderConfig  # noqa: E402

NAME = "nfw-blocklist-forwarder"

config = ForwarderConfig.from_pulumi(pulumi.Config())
forwarder = FindingForwarder(
    NAME,
    FindingForwarderArgs(
        target_bus_arns=config.target_bus_arns,
        finding_source=config.finding_source,
        action_types=config.action_types,
        finding_regions=config.finding_regions,
        finding_accounts=config.finding_accounts,
        domain_findings=config.domain_findings,
    ),
)

pulumi.export("ruleArns", forwarder.rule_arns)
pulumi.export("roleArn", forwarder.role_arn)
pulumi.export("deadLetterQueueArn", forwarder.dead_letter_queue_arn)
pulumi.export("deadLetterQueueUrl", forwarder.dead_letter_queue_url)

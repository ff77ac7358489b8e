"""Two instances of one component, named as the real components name their children (``f"{name}-…"``).

Each instance owns a role, a table and a function. Only the function's name can be fixed (config
``functionName``); everything else is auto-named. tests/e2e/test_stacks.py deploys it to show that
instances collide exactly when a name is fixed.
"""

import json

import pulumi
import pulumi_aws as aws

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


class Instance(pulumi.ComponentResource):
    def __init__(self, name: str, function_name: str | None) -> None:
        super().__init__("instances:index:Instance", name, None, None)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(f"{name}-role", assume_role_policy=json.dumps(TRUST), opts=child)
        table = aws.dynamodb.Table(
            f"{name}-table",
            billing_mode="PAY_PER_REQUEST",
            hash_key="HostIp",
            attributes=[{"name": "HostIp", "type": "S"}],
            opts=child,
        )
        aws.lambda_.Function(
            f"{name}-fn",
            name=function_name,
            role=role.arn,
            runtime="python3.13",
            handler="tests.e2e.toy_handlers.echo",
            code=pulumi.AssetArchive({"README.txt": pulumi.StringAsset("sandbox runs it in-process")}),
            environment={"variables": {"NFW_TABLE_NAME": table.name}},
            opts=child,
        )
        self.register_outputs({})


config = pulumi.Config()
fixed = config.get("functionName") or None
Instance(config.get("firstName") or "alpha", fixed)
Instance("beta", fixed)

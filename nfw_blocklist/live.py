"""``--live``: the operator use cases against real AWS, configured exactly like the deployed functions."""

import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

from .arguments import load_json
from .console import UsageError, aws_error, shown

OUTPUT_KEYS: Final = ("ruleGroupArn", "stateMachineArn", "tableName")
ARN: Final = re.compile(
    r"arn:aws(?:-[a-z]+)*:(?P<service>[a-z0-9-]+):(?P<region>[a-z]{2}(?:-[a-z]+)+-\d{1,2}):\d{12}:.+"
)


@contextmanager
def live_service(outputs_path: str | None) -> Iterator[Any]:
    """The use cases against real AWS, configured exactly like the deployed functions.

    With ``--stack-outputs`` the settings are read from the deployed record function's environment
    (found through the response state machine's definition), so the CLI renders rules at the same
    priorities and honours the same never-block list as the Lambdas. Without it, the same
    ``NFW_*`` environment variables the functions read must be set.
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from handlers.errors import ConfigurationError
    from handlers.service import BlocklistService
    from handlers.settings import ENV_RULE_GROUP_ARN, ENV_TABLE_NAME, Settings

    if outputs_path:
        outputs = read_outputs(outputs_path)
        region = arn_region(outputs["ruleGroupArn"])
        try:
            env = deployed_environment(
                boto3.client("stepfunctions", region_name=region), boto3, region, outputs
            )
        except (ClientError, BotoCoreError) as e:
            raise UsageError(
                f"cannot read the deployed settings through {outputs['stateMachineArn']}: {aws_error(e)}"
            ) from None
        env.update({ENV_TABLE_NAME: outputs["tableName"], ENV_RULE_GROUP_ARN: outputs["ruleGroupArn"]})
    else:
        env = dict(os.environ)
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or ""
        match = ARN.fullmatch(env.get(ENV_RULE_GROUP_ARN, ""))
        if not region and match:
            region = match["region"]
    try:
        settings = Settings.from_env(env)
    except ConfigurationError as e:
        raise UsageError(f"{e} (pass --stack-outputs FILE or set the NFW_* variables)") from None
    if not region:
        raise UsageError("no AWS region: set AWS_REGION or pass --stack-outputs FILE")
    # Every client in the stack's region (the ARN's, with --stack-outputs), the ones the service builds too.
    yield BlocklistService.create(
        settings,
        dynamodb=boto3.client("dynamodb", region_name=region),
        network_firewall=boto3.client("network-firewall", region_name=region),
        route53resolver=boto3.client("route53resolver", region_name=region),
        region=region,
    )


def arn_region(arn: str) -> str:
    match = ARN.fullmatch(arn)
    if match is None:
        raise UsageError(f"not an ARN with a region and an account: {shown(arn)!r}")
    return match["region"]


def read_outputs(path: str) -> dict[str, str]:
    outputs = load_json(path)
    missing = [
        key for key in OUTPUT_KEYS if not isinstance(outputs, dict) or not isinstance(outputs.get(key), str)
    ]
    if missing:
        raise UsageError(f"{path}: missing stack output(s) {', '.join(missing)}")
    for key, service in (("ruleGroupArn", "network-firewall"), ("stateMachineArn", "states")):
        match = ARN.fullmatch(outputs[key])
        if match is None or match["service"] != service:
            raise UsageError(f"{path}: {key} is not a {service} ARN: {shown(outputs[key])!r}")
    if not outputs["tableName"]:
        raise UsageError(f"{path}: tableName is empty")
    return {key: str(value) for key, value in outputs.items() if isinstance(value, str)}


def deployed_environment(sfn: Any, boto3: Any, region: str, outputs: Mapping[str, str]) -> dict[str, str]:
    """The environment of a function the response workflow invokes: the deployed settings."""
    from nfw_blocklist.sandbox.wiring import task_references

    definition = json.loads(
        sfn.describe_state_machine(stateMachineArn=outputs["stateMachineArn"])["definition"]
    )
    functions = [ref.target for ref in task_references(definition) if ref.kind == "lambda"]
    if not functions:
        raise UsageError(f"{outputs['stateMachineArn']}: the workflow invokes no Lambda function")
    configuration = boto3.client("lambda", region_name=region).get_function_configuration(
        FunctionName=functions[0]
    )
    variables: dict[str, str] = dict((configuration.get("Environment") or {}).get("Variables") or {})
    return variables

"""The one "brake on" notification: it says so, names what was refused, and its commands run."""

import shlex

from handlers.messages import block_email, block_subject
from nfw_blocklist import cli

BRAKE_ON = {"Brake": {"Refused": ["198.18.0.3/32"], "RefusedCount": 1, "EngagedNow": True}}


def test_the_brake_notification_says_it_is_on_and_names_the_refused_host() -> None:
    assert block_subject(BRAKE_ON).startswith("nfw-blocklist: BRAKE ON, new blocks refused")
    email = block_email(BRAKE_ON, {"type": "Recon:EC2/PortProbeUnprotectedPort"}, 1_700_000_000, {}, None)
    assert "THE BRAKE IS ON" in email and "198.18.0.3/32" in email


def test_the_brake_notification_commands_are_ones_the_cli_accepts() -> None:
    email = block_email(BRAKE_ON, {}, 1_700_000_000, {}, None)
    commands = [line.strip() for line in email.splitlines() if line.strip().startswith("nfw-blocklist brake")]

    parsed = [cli.build_parser().parse_args(shlex.split(command)[1:]) for command in commands]
    assert [(args.command, args.brake_action, args.live) for args in parsed] == [
        ("brake", "status", True),
        ("brake", "release", True),
    ]


def test_a_finding_refused_while_the_brake_stays_on_says_nothing_new() -> None:
    later = {"Brake": {"Refused": ["198.18.0.4/32"], "RefusedCount": 1, "EngagedNow": False}}

    assert "BRAKE" not in block_subject(later)
    assert "THE BRAKE IS ON" not in block_email(later, {}, 1_700_000_000, {}, None)

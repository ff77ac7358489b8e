"""Whose credentials each call in the sandbox carries, so moto answers it from the right account.

moto keeps every resource per account and region, and picks the account of a request from its
access key: a key from STS ``AssumeRole`` belongs to the role's account, any other key to moto's
default account (123456789012). AWS does the same thing with real credentials, and so does this
module, in the three places a call is made:

- the sandbox's own clients for an account (deploying, reading the ledger): the credentials of a
  role in that account, as an operator or a pipeline would assume one (``operator_credentials``);
- a state machine's tasks: Step Functions calls Lambda, SNS and DynamoDB with the credentials of
  the state machine's role. moto's engine calls them with a fixed key (the default account); the
  patch below gives its ``boto_client_for`` the role's credentials instead;
- a function's calls: the Lambda runtime hands the function its execution role's credentials in
  ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``. The invoker puts them in
  the function's (thread-local) environment, and ``boto3``'s default session, which reads
  ``os.environ`` once per process, is replaced on that thread by a session built from them.

Credentials are assumed once per role and kept (as Lambda keeps an execution environment's), so a
long run does not pile up access keys for moto to search on every request. In moto's default
account (123456789012, the single-stack sandbox's) calls keep the process's default credentials,
which moto already places there: single-account runs are unchanged.
"""

import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from unittest import mock

import boto3

from .invoker import current_environment

DEFAULT_ACCOUNT = "123456789012"
"""moto's default account: what any credentials it did not issue belong to. Calls in it keep the
process's default credentials (and boto3's default session, whose hooks tests observe)."""
OPERATOR_ROLE = "OrganizationAccountAccessRole"
"""The role an operator assumes in a member account (the name AWS Organizations gives it)."""

_ENGINE_CLIENT_MODULE = "moto.stepfunctions.parser.asl.utils.boto_client"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str

    def environment(self) -> dict[str, str]:
        """What the Lambda runtime puts in a function's environment."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


def account_of(arn: str) -> str:
    """The account field of an ARN (``arn:aws:iam::111111111111:role/x`` -> ``111111111111``)."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


class Accounts:
    """Role credentials from moto's STS, and the patches that make calls carry them."""

    def __init__(self) -> None:
        self._credentials: dict[str, Credentials] = {}
        self._lock = threading.Lock()
        self._sessions = threading.local()
        self._patchers: list[Any] = []

    def credentials(self, role_arn: str) -> Credentials:
        """AssumeRole of ``role_arn`` (once; later calls reuse the credentials)."""
        with self._lock:
            known = self._credentials.get(role_arn)
        if known is not None:
            return known
        sts = boto3.Session(
            aws_access_key_id="sandbox", aws_secret_access_key="sandbox", region_name="us-east-1"
        ).client("sts")
        issued = sts.assume_role(RoleArn=role_arn, RoleSessionName="nfw-blocklist-sandbox")["Credentials"]
        credentials = Credentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])
        with self._lock:
            return self._credentials.setdefault(role_arn, credentials)

    def function_environment(self, role_arn: str) -> dict[str, str]:
        """The credentials the Lambda runtime gives a function with this execution role, as variables."""
        if account_of(role_arn) == DEFAULT_ACCOUNT:
            return {}
        return self.credentials(role_arn).environment()

    def operator_credentials(self, account: str) -> Credentials:
        return self.credentials(f"arn:aws:iam::{account}:role/{OPERATOR_ROLE}")

    def client(self, service: str, *, account: str, region: str) -> Any:
        """A client acting in ``account`` (as its operator role) and ``region``."""
        credentials = self.operator_credentials(account)
        return boto3.Session(
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
            region_name=region,
        ).client(service)  # type: ignore[call-overload]

    # --- the patches --------------------------------------------------------------------------

    def start(self) -> None:
        _import_engine()
        original = sys.modules[_ENGINE_CLIENT_MODULE].boto_client_for
        accounts = self

        def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
            client = original(region=region, service=service, state_credentials=state_credentials)
            role_arn = getattr(state_credentials, "role_arn", None)
            if not role_arn or account_of(str(role_arn)) == DEFAULT_ACCOUNT:
                return client
            credentials = accounts.credentials(str(role_arn))
            return boto3.Session(
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
                region_name=region,
            ).client(service, config=client.meta.config, endpoint_url=client.meta.endpoint_url)  # type: ignore[call-overload]

        # Each engine module imported the function by name: patch every binding of it (all of them
        # are imported above, so none binds a patched one after the sandbox stops).
        for name, module in list(sys.modules.items()):
            if (
                name.startswith("moto.stepfunctions.parser")
                and getattr(module, "boto_client_for", None) is original
            ):
                patcher = mock.patch.object(module, "boto_client_for", boto_client_for)
                patcher.start()
                self._patchers.append(patcher)
        patcher = mock.patch.object(boto3, "_get_default_session", self._default_session)  # type: ignore[arg-type]
        patcher.start()
        self._patchers.append(patcher)

    def stop(self) -> None:
        for patcher in reversed(self._patchers):
            patcher.stop()
        self._patchers.clear()

    def _default_session(self) -> Any:
        """boto3's default session, unless the function running on this thread has credentials of its own."""
        environment: Mapping[str, str] = current_environment()
        key = environment.get("AWS_ACCESS_KEY_ID")
        sessions: dict[str, Any] = self._sessions.__dict__.setdefault("by_key", {})
        if key and environment is not _process_environment() and key in self._issued_keys():
            session = sessions.get(key)
            if session is None:
                session = sessions[key] = boto3.Session(
                    aws_access_key_id=key,
                    aws_secret_access_key=environment.get("AWS_SECRET_ACCESS_KEY"),
                    aws_session_token=environment.get("AWS_SESSION_TOKEN"),
                )
            return session
        return _ORIGINAL_DEFAULT_SESSION()

    def _issued_keys(self) -> set[str]:
        with self._lock:
            return {credentials.access_key_id for credentials in self._credentials.values()}


def _import_engine() -> None:
    """Import every module of moto's Step Functions engine that may call ``boto_client_for``."""
    import importlib
    import pkgutil

    package = importlib.import_module("moto.stepfunctions.parser.asl.component")
    for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        importlib.import_module(module.name)
    importlib.import_module(_ENGINE_CLIENT_MODULE)


def _process_environment() -> Mapping[str, str]:
    import os

    return os.environ


_ORIGINAL_DEFAULT_SESSION = boto3._get_default_session

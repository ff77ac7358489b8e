"""Lambda entry points: parse, log, delegate, return. No business rule lives here."""

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from handlers import metrics
from handlers.propagation import DEPLOYMENT_SOURCE, retrying_propagation
from handlers.securityhub import FindingAnnotator, annotate_execution
from handlers.service import BlocklistService
from handlers.settings import Settings

EnvironmentSource = Callable[[], Mapping[str, str]]

_environment: EnvironmentSource = lambda: os.environ  # noqa: E731
_lock = threading.Lock()
_idle: dict[Settings, list[BlocklistService]] = {}
_built: list[BlocklistService] = []
_annotators: dict[str | None, FindingAnnotator] = {}
_sleep: Callable[[float], None] = time.sleep
"""How the repopulation waits between attempts (the sandbox and tests shorten it)."""


class _JsonFormatter(logging.Formatter):
    """One JSON object per log line, with the ``extra=`` fields, for CloudWatch Logs Insights."""

    _standard = set(vars(logging.makeLogRecord({})))

    def format(self, record: logging.LogRecord) -> str:
        payload = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
        payload.update({k: v for k, v in vars(record).items() if k not in self._standard})
        return json.dumps(payload, default=str)


def _configure_logging(environment: Mapping[str, str]) -> None:
    root = logging.getLogger()
    if environment.get("AWS_LAMBDA_FUNCTION_NAME"):
        for handler in root.handlers:
            handler.setFormatter(_JsonFormatter())
        root.setLevel(environment.get("NFW_LOG_LEVEL", "INFO"))


@contextmanager
def _environment_service() -> Iterator[BlocklistService]:
    """A service (with its AWS clients) for this invocation, reused by later invocations.

    In Lambda a process is one execution environment serving one invocation at a time, so this is a
    plain warm cache. The sandbox runs many concurrent invocations in one process: each checks out an
    idle service of its own, the way each concurrent Lambda invocation gets an environment of its own
    (the writer's lease identity lives in the service, and must not be shared).
    """
    environment = _environment()
    _configure_logging(environment)
    settings = Settings.from_env(environment)
    with _lock:
        idle = _idle.setdefault(settings, [])
        service = idle.pop() if idle else None
    if service is None:
        service = BlocklistService.create(settings, region=environment.get("AWS_REGION") or None)
        with _lock:
            _built.append(service)
    try:
        yield service
    finally:
        with _lock:
            if service in _built:
                _idle.setdefault(settings, []).append(service)


def use_environment(source: EnvironmentSource | None) -> None:
    """Read the configuration from ``source`` instead of ``os.environ`` (``None`` restores it).

    The sandbox runs several functions in one process at once, each with its own environment.
    """
    global _environment
    _environment = source if source is not None else (lambda: os.environ)


def environment() -> Mapping[str, str]:
    """The environment this invocation runs with (``os.environ`` in Lambda)."""
    return _environment()


def services() -> list[BlocklistService]:
    """Every service built since the last ``reset`` (for measurements: their ledger and API counts)."""
    with _lock:
        return list(_built)


def reset() -> None:
    """Forget cached services and their AWS clients (the sandbox calls this between deployments)."""
    with _lock:
        _idle.clear()
        _built.clear()
        _annotators.clear()


def record(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    with _environment_service() as service:
        return service.record(event)


def block(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    with _environment_service() as service:
        payload = service.block(event)
        metrics.emit(metrics.block_values(payload), service.settings.rule_group_arn)
        return payload


def steer(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """A person's decision the record step read: release or extend the findings it names."""
    with _environment_service() as service:
        return service.steer(event)


def prune(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        with _environment_service() as service:
            payload = service.prune()
            metrics.emit(metrics.prune_values(payload), service.settings.rule_group_arn)
            return payload

    # The deployment's repopulation runs right after the role's policy may have changed.
    if isinstance(event, dict) and event.get("source") == DEPLOYMENT_SOURCE:
        return retrying_propagation(run, sleep=_sleep)
    return run()


def annotate(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """AnnotateFinding: the state (``record`` and ``block`` or ``error``) -> the annotation outcome."""
    environment = _environment()
    _configure_logging(environment)
    settings = Settings.from_env(environment)
    region = environment.get("AWS_REGION") or None
    with _lock:
        annotator = _annotators.get(region)
        if annotator is None:
            annotator = _annotators[region] = FindingAnnotator(region=region)
    return annotate_execution(event, settings, annotator)

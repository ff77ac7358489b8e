"""Lambda entry points: parse, log, delegate, return. No business rule lives here."""

import json
import logging
import os
from typing import Any

from handlers.service import BlocklistService
from handlers.settings import Settings

_services: dict[Settings, BlocklistService] = {}


class _JsonFormatter(logging.Formatter):
    """One JSON object per log line, with the ``extra=`` fields, for CloudWatch Logs Insights."""

    _standard = set(vars(logging.makeLogRecord({})))

    def format(self, record: logging.LogRecord) -> str:
        payload = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
        payload.update({k: v for k, v in vars(record).items() if k not in self._standard})
        return json.dumps(payload, default=str)


def _configure_logging() -> None:
    root = logging.getLogger()
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        for handler in root.handlers:
            handler.setFormatter(_JsonFormatter())
        root.setLevel(os.environ.get("NFW_LOG_LEVEL", "INFO"))


def service() -> BlocklistService:
    """The service for the current environment, built once per configuration (reused across invocations)."""
    settings = Settings.from_env(os.environ)
    existing = _services.get(settings)
    if existing is None:
        existing = _services[settings] = BlocklistService.create(settings)
    return existing


def reset() -> None:
    """Forget cached services and their AWS clients (the sandbox calls this between deployments)."""
    _services.clear()


def record(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    _configure_logging()
    return service().record(event)


def block(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    _configure_logging()
    return service().block(event)


def prune(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    _configure_logging()
    return service().prune()

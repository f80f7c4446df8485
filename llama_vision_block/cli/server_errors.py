"""How `llama-vision serve` answers this block's errors: a caller's mistake is a 4xx.

inference's HTTP layer answers a failed step with the status of a
`ClientCausedStepExecutionError` (4xx), and with 500 for any other error, which
clients retry as a server fault. Which errors become which is the engine's step
error handler's to decide, named by `DEFAULT_WORKFLOWS_STEP_ERROR_HANDLER` among
inference's `SERVER_STEP_ERROR_HANDLERS`. `install()` adds one that answers a
`ConfigurationError` (a step property the block cannot use: 400; a server, model
path or device the operator does not allow: 403) and hands every other error to
the handler that was in effect. inference logs such an error with its traceback;
`install()` keeps it to the one line that names it.
"""

from __future__ import annotations

import logging
import os
from typing import Callable

from llama_vision_block.errors import ConfigurationError

HANDLER_NAME = "llama_vision_block"
HANDLER_ENV = "DEFAULT_WORKFLOWS_STEP_ERROR_HANDLER"
_INFERENCE_DEFAULT = "extended_roboflow_errors"


def install() -> None:
    """Makes the server answer a caller's mistake in a Llama step with a 4xx and log it in one line."""
    from inference.core.interfaces.workflows_step_error_handlers import (
        SERVER_STEP_ERROR_HANDLERS,
        resolve_step_error_handler,
    )

    previous = os.environ.get(HANDLER_ENV, _INFERENCE_DEFAULT)
    if previous != HANDLER_NAME:
        SERVER_STEP_ERROR_HANDLERS[HANDLER_NAME] = _handler(resolve_step_error_handler(previous))
        os.environ[HANDLER_ENV] = HANDLER_NAME
    logging.getLogger("inference").addFilter(_OneLine())


def _handler(fallback: object) -> Callable[[str, Exception], None]:
    from inference.core.workflows.errors import ClientCausedStepExecutionError

    def handle(step_name: str, error: Exception) -> None:
        if isinstance(error, ConfigurationError):
            raise ClientCausedStepExecutionError(
                block_id=step_name,
                status_code=error.http_status,
                public_message=f"Step '{step_name}': {error}",
                context="workflow_execution | step_execution | llama_vision_block",
                inner_error=error,
            ) from error
        if callable(fallback):
            fallback(step_name, error)

    return handle


class _OneLine(logging.Filter):
    """Drops the traceback of a caller's mistake from inference's error log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and isinstance(getattr(error, "inner_error", None), ConfigurationError):
            record.exc_info = None
            record.exc_text = None
        return True

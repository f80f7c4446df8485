"""`llama-vision`: the block from the command line.

    llama-vision run --task caption photos/ --output captions.jsonl
    llama-vision eval --folders labelled/ --report eval-report --model-version A --model-version B
    llama-vision workflow examples/workflows/caption.json --image image=street.jpg
    llama-vision serve --port 9001
    llama-vision describe
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import warnings
from typing import Iterator, List, Optional

from llama_vision_block.cli.errors import CliError, error_message

DESCRIPTION = "Llama 3.2 Vision from the command line: run the block over images, run workflows, serve them."
EPILOG = """examples:
  llama-vision run --task caption photos/ --output captions.jsonl
  llama-vision run --task classification --classes cat,dog photos/ --annotate annotated/
  llama-vision eval --folders labelled/ --report eval-report --model-version A --model-version B
  llama-vision workflow examples/workflows/caption.json --image image=examples/images/street_sign.jpg
  llama-vision serve --port 9001
  llama-vision describe

Run `llama-vision COMMAND --help` for a command's options; docs/cli.md has more.
"""


# inference's loggers; the engine logs a failed step's traceback at ERROR.
ENGINE_LOGGERS = ("inference", "roboflow_workflows")
# What a server's log shows below ERROR: the server's own story, not every
# dependency's notes on itself (transformers' deprecations, bitsandbytes' kernels).
SERVER_LOGGERS = ("llama_vision_block", "uvicorn", *ENGINE_LOGGERS)


class _ServerLogs(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or record.name.split(".")[0] in SERVER_LOGGERS


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors print one `error: ...` line (exit code 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"error: {message} (see `{self.prog} --help`)\n")
        sys.exit(2)


def build_parser(block_options: Optional[str] = "run") -> argparse.ArgumentParser:
    """The command line. Only the command named by `block_options` ("run" or "eval")
    gets the options derived from the block's manifest, whose import brings
    inference: `llama-vision --help` and the other commands stay light."""
    from llama_vision_block.cli import describe, run, serve, workflow
    from llama_vision_block.cli import eval as evaluate

    parser = _Parser(
        prog="llama-vision", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    run.add_parser(subparsers, block_options=block_options == "run")
    evaluate.add_parser(subparsers, block_options=block_options == "eval")
    for module in (workflow, serve, describe):
        module.add_parser(subparsers)
    return parser


def _command(argv: List[str]) -> Optional[str]:
    return next((arg for arg in argv if not arg.startswith("-")), None)


@contextlib.contextmanager
def _quiet_logs(debug: bool, keep_logs: bool = False) -> Iterator[None]:
    """Keeps INFO lines off stderr (the progress bar's place), and the engine's own
    traceback of a failed step: the CLI reports that error in one line. Dependencies'
    warnings (inference's deprecation notes) are shown only with --debug; a server
    (`keep_logs`) keeps its logs."""
    if not logging.getLogger().handlers:
        # Ours first, so a library's later basicConfig(level=INFO) is a no-op.
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    quieted = {"": logging.WARNING, "httpx": logging.WARNING}
    quieted.update(dict.fromkeys(ENGINE_LOGGERS, logging.CRITICAL))
    loggers = [logging.getLogger(name) for name in quieted]
    levels = [logger.level for logger in loggers]
    if not (debug or keep_logs):
        for logger, level in zip(loggers, quieted.values()):
            if logger.getEffectiveLevel() < level:
                logger.setLevel(level)
    server_filter = _ServerLogs() if keep_logs and not debug else None
    handlers = list(logging.getLogger().handlers) if server_filter else []
    for handler in handlers:
        handler.addFilter(server_filter)
    try:
        with _no_dependency_warnings(debug):
            yield
    finally:
        for handler in handlers:
            handler.removeFilter(server_filter)
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


@contextlib.contextmanager
def _no_dependency_warnings(debug: bool) -> Iterator[None]:
    """Python warnings (inference's deprecation notes as it loads) only with --debug."""
    with warnings.catch_warnings():
        if not debug:
            warnings.simplefilter("ignore")
        yield


def main(argv: Optional[List[str]] = None) -> int:
    """The console script: returns the exit code (0 ok, 1 runtime error, 2 usage error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    secrets: List[Optional[str]] = []
    try:
        with _no_dependency_warnings(debug):  # building run's options imports inference
            parser = build_parser(block_options=_command(argv))
        # --debug is accepted anywhere, before or after the command.
        args = parser.parse_args([arg for arg in argv if arg != "--debug"])
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        args.argv, args.secrets, args.debug = argv, secrets, debug
        with _quiet_logs(debug, keep_logs=args.command == "serve"):
            return int(args.handler(args) or 0)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    except Exception as error:  # noqa: BLE001 - every error becomes one readable line
        if debug:
            import traceback

            traceback.print_exc()
        code = error.exit_code if isinstance(error, CliError) else 1
        sys.stderr.write(f"error: {error_message(error, secrets)}\n")
        return code


__all__ = ["main", "build_parser"]

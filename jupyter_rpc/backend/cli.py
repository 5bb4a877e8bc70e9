"""``jupyter-rpc``: serve a backend module, print its schema, or try one call.

::

    jupyter-rpc MODULE                      # = jupyter-rpc serve MODULE
    jupyter-rpc serve MODULE [--workers N]  # DASF envelopes as JSON lines on stdio
    jupyter-rpc serve MODULE --broker URL --topic T [--token-env VAR] ...
                                            # a DASF backend on a message broker
    jupyter-rpc schema MODULE [--indent N]  # print the api_info JSON
    jupyter-rpc call MODULE '{"func_name": "add", "a": 1}' [--indent N]

``MODULE`` is a dotted module name or the path of a ``.py`` file. ``python -m
jupyter_rpc.backend`` takes the same arguments.

Whatever the module prints (at import or in a call) goes to stderr: stdout carries only
the protocol (``serve``) or the JSON answer (``schema``, ``call``).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any

from .introspect import BackendAPI, RequestError, build_api
from .loader import BackendError, load_module
from .progress import Cancelled, Progress
from .runner import Runner, default_workers
from .streams import execution_error_text, user_traceback

__all__ = ["main", "protect_stdio", "serve"]

_VERBS = ("serve", "schema", "call")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Parameters
    ----------
    argv
        The arguments without the program name (``sys.argv[1:]`` when ``None``).
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] not in (*_VERBS, "-h", "--help"):
        args_list.insert(0, "serve")
    parser = _parser()
    args = parser.parse_args(args_list)
    if args.verb is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.verb == "serve":
            if args.broker is not None:
                return _serve_broker(parser, args)
            if args.topic or args.token or args.token_env or args.token_file or args.pulsar:
                parser.error("--topic, --token*, --pulsar need --broker")
            return serve(args.module, workers=args.workers)
        if args.verb == "schema":
            return _schema(args.module, args.indent)
        return _call(args.module, args.request, args.indent)
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter-rpc",
        description="Publish a module of type-annotated Python functions as DASF remote functions.",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="{serve,schema,call}")
    module_help = "a dotted module name (pkg.module) or the path of a .py file"
    serve_p = verbs.add_parser("serve", help="serve MODULE on stdin/stdout (JSON lines)")
    serve_p.add_argument("module", help=module_help)
    serve_p.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help=f"threads for plain (not async) functions (default: {default_workers()})",
    )
    broker = serve_p.add_argument_group(
        "DASF broker",
        "Listen on a topic of a DASF message broker (dasf-broker-django or Apache Pulsar) "
        "instead of stdio, as a DASF backend module does.",
    )
    broker.add_argument(
        "--broker",
        metavar="URL",
        help="the broker's websocket URL: ws(s)://host[:port]/ws for dasf-broker-django, "
        "ws(s)://host:port[/ws/v2[/ROLE/PERSISTENCE/TENANT/NAMESPACE]] for Pulsar",
    )
    broker.add_argument("--topic", help="the topic to serve (required with --broker)")
    token = broker.add_mutually_exclusive_group()
    token.add_argument(
        "--token",
        help="sent as the Authorization header ('Token <key>' unless it names its scheme, "
        "e.g. 'Bearer ...'); visible in the process list, prefer --token-env/--token-file",
    )
    token.add_argument(
        "--token-env", metavar="VAR", help="read the token from this environment variable"
    )
    token.add_argument("--token-file", metavar="PATH", help="read the token from this file")
    broker.add_argument(
        "--ca-bundle",
        metavar="PATH",
        help="CA certificates (PEM) for wss:// (default: the system's)",
    )
    broker.add_argument(
        "--pulsar",
        action="store_true",
        help="Pulsar's URL layout (implied when the URL contains /ws/v2)",
    )
    broker.add_argument("--subscription", help="the consumer's subscription name")
    broker.add_argument(
        "--max-payload-size",
        type=_positive_int,
        default=None,
        metavar="BYTES",
        help="fragment payloads larger than this (default: 512000, as demessaging)",
    )
    schema_p = verbs.add_parser("schema", help="print the api_info JSON of MODULE")
    schema_p.add_argument("module", help=module_help)
    schema_p.add_argument("--indent", type=int, default=None, help="indent the JSON by N spaces")
    call_p = verbs.add_parser("call", help="run one request locally and print the JSON result")
    call_p.add_argument("module", help=module_help)
    call_p.add_argument(
        "request", help='the DASF request, e.g. \'{"func_name": "add", "a": 1}\' ("-" reads stdin)'
    )
    call_p.add_argument("--indent", type=int, default=None, help="indent the JSON by N spaces")
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def protect_stdio(stdin: bool = True) -> tuple[int | None, int]:
    """Keep the process's stdin/stdout for the protocol, away from user code.

    The original stdout is duplicated for the caller, then file descriptor 1 and
    ``sys.stdout`` are pointed at stderr, so ``print()``, C libraries and child processes
    cannot corrupt the protocol. With ``stdin=True`` the same is done for stdin, and
    fd 0 then reads from ``/dev/null``.

    Returns
    -------
    input_fd, output_fd
        The protocol's descriptors (``input_fd`` is ``None`` when ``stdin`` is false).
    """
    sys.stdout.flush()
    output_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    input_fd = None
    if stdin:
        input_fd = os.dup(0)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    return input_fd, output_fd


def serve(target: str, *, workers: int | None = None) -> int:
    """Serve ``target`` on this process's stdin/stdout until stdin ends.

    Returns
    -------
    int
        0 after a clean end of input, 1 when the module cannot be loaded.
    """
    input_fd, output_fd = protect_stdio(stdin=True)
    assert input_fd is not None
    api = _load(target)
    if api is None:
        return 1
    return Runner(api, input_fd, output_fd, workers=workers).run()


def _read_token(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    if args.token_env:
        value = os.environ.get(args.token_env)
        if not value:
            parser.error(f"--token-env: the environment variable {args.token_env} is not set")
        return value.strip()
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as stream:
                value = stream.read().strip()
        except OSError as exc:
            parser.error(f"--token-file: cannot read {args.token_file}: {exc.strerror}")
        if not value:
            parser.error(f"--token-file: {args.token_file} is empty")
        return value
    return args.token.strip() if args.token else None


def _serve_broker(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from .broker import DEFAULT_MAX_PAYLOAD_SIZE, BrokerConfig, serve_on_broker

    if not args.topic:
        parser.error("--broker needs --topic")
    token = _read_token(parser, args)
    if args.ca_bundle and not os.path.isfile(args.ca_bundle):
        parser.error(f"--ca-bundle: no such file: {args.ca_bundle}")
    try:
        config = BrokerConfig(
            args.broker,
            args.topic,
            token=token,
            ca_bundle=args.ca_bundle,
            pulsar=True if args.pulsar else None,
            subscription=args.subscription,
            max_payload_size=args.max_payload_size or DEFAULT_MAX_PAYLOAD_SIZE,
        )
    except ValueError as exc:
        parser.error(str(exc))
    api = _load(args.module)
    if api is None:
        return 1
    return serve_on_broker(api, config, workers=args.workers)


def _load(target: str) -> BackendAPI | None:
    try:
        module, name = load_module(target)
        return build_api(module, name)
    except BackendError as exc:
        _error(str(exc))
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        _error(f"cannot import '{target}': {execution_error_text(exc)}")
    return None


def _error(text: str) -> None:
    sys.stderr.write(f"jupyter-rpc: {text}\n")
    sys.stderr.flush()


def _write(fd: int, text: str) -> None:
    view = memoryview((text + "\n").encode("utf-8"))
    while view:
        view = view[os.write(fd, view) :]


def _schema(target: str, indent: int | None) -> int:
    _, output_fd = protect_stdio(stdin=False)
    api = _load(target)
    if api is None:
        return 1
    _write(output_fd, json.dumps(api.api_info, indent=indent, ensure_ascii=False))
    return 0


def _call(target: str, request_text: str, indent: int | None) -> int:
    if request_text == "-":
        request_text = sys.stdin.read()
    _, output_fd = protect_stdio(stdin=False)
    try:
        request = json.loads(request_text)
    except json.JSONDecodeError as exc:
        _error(f"the request is not valid JSON: {exc}")
        return 1
    api = _load(target)
    if api is None:
        return 1
    progress = Progress(on_change=_ProgressPrinter())
    try:
        prepared = api.prepare(request, progress)
    except RequestError as exc:
        sys.stderr.write(f"error validating request: {exc}\n")
        return 1
    try:
        result = prepared.run()
        if inspect.isawaitable(result):
            result = asyncio.run(_wait(result))
        value = prepared.serialize(result)
    except (Exception, Cancelled) as exc:
        trace = user_traceback(exc)
        if trace:
            sys.stderr.write(trace)
        sys.stderr.write(f"error executing request: {execution_error_text(exc)}\n")
        return 1
    _write(output_fd, json.dumps(value, indent=indent, ensure_ascii=False))
    return 0


async def _wait(awaitable: Any) -> Any:
    return await awaitable


class _ProgressPrinter:
    """Shows progress of ``jupyter-rpc call`` on stderr, at most 5 lines a second."""

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self, root: Progress) -> None:
        tree = root.to_dict()
        now = time.monotonic()
        if now - self._last < 0.2 and tree["status"] == "running":
            return
        self._last = now
        parts = []
        node: dict[str, Any] | None = tree
        while node is not None:
            label = node["step_message"] or "..."
            if node["steps"]:
                done = sum(child["status"] == "success" for child in node["children"])
                label += f" [{done}/{node['steps']}]"
            parts.append(label)
            running = [c for c in node["children"] if c["status"] == "running"]
            node = running[-1] if running else None
        sys.stderr.write("progress: " + " > ".join(parts) + "\n")
        sys.stderr.flush()

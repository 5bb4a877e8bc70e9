"""The bad-request corpus: every route of the REST contract × what a hostile or broken client
sends. Every answer is a 4xx with the one error shape (``ErrorBody``, as the contract
describes it for that route and status), never a 500 and never a hang (each request has a
bounded client timeout), and the server holds no more afterwards than before.

One real ``jupyter server`` subprocess (``module_server_process``) takes the whole corpus;
the last test checks its resources (RSS, fds, temp files, child processes, threads).

The corpus, per kind of route (``jupyter_rpc/rest/openapi.yaml``, read with
``load_openapi``):

- a JSON body: the one wrong value put where the route reads a real field (deep JSON,
  a 5,000-digit integer, NaN, -Infinity, a 20 MB string, a value of the wrong type), a body
  of the wrong type (an array, a string, null), invalid UTF-8, an empty body, a truncated
  body, a form-encoded body under its content type;
- a body where none belongs (routes without a request body): ignored or refused, never 500;
- path parameters: non-hex and over-long call ids, job ids that are not numbers, odd
  cluster, backend and file names (NUL, ``..``, 10,000 characters);
- 20 MB uploads the server refuses (onto an existing file with ``overwrite=0``, into a
  missing folder or a file, outside the roots, an unknown cluster): answered within
  seconds, sent as a browser sends them;
- query parameters of a number or enum type: a word, NaN and an empty value are refused;
  a negative number, 1e309 and 5,000 digits are clamped to the parameter's range (the
  handlers' documented choice) and answered, never 500, and the answer stays true (an
  output tail read from beyond the end reports the file's real size).

Cases that fail today because of an open item of issue 12 are ``xfail(strict=True)`` with
that item's number: they pass when the fix lands and then fail until the mark goes.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from jupyter_rpc.rest import load_openapi
from jupyter_rpc.rest.contract import contract
from tests.fixtures import FAULTY
from tests.hardening.conftest import Reply, ServerProcess, ServerStarter

#: seconds a client waits for any answer (a hang fails the case, not the suite)
CLIENT_TIMEOUT = 30.0
SLOT = "@SLOT@"
MB = 1024 * 1024

DOCUMENT = load_openapi()
METHODS = ("get", "put", "post", "patch", "delete")

#: a request body per route where everything but the slot is valid
TEMPLATES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/backends/{backend}/calls"): {  # the example backend's function of a float
        "function": "convert_temperature",
        "arguments": {"value": SLOT},
        "wait": 5,
    },
    ("POST", "/clusters"): {"name": "corpus", "host": SLOT},
    ("POST", "/clusters/{cluster}/trust"): {"fingerprint": SLOT},
    ("POST", "/clusters/{cluster}/auth"): {"prompt_id": SLOT, "responses": []},
    ("POST", "/clusters/{cluster}/jobs"): {"script": "#!/bin/sh\ntrue\n", "cpus": SLOT},
    ("POST", "/clusters/{cluster}/jobs/test"): {"script": "#!/bin/sh\ntrue\n", "cpus": SLOT},
    ("POST", "/placement"): {"spec": {"script": "#!/bin/sh\ntrue\n", "cpus": SLOT}},
    ("PUT", "/clusters/{cluster}/files/{path}"): {
        "type": "file",
        "format": "text",
        "content": SLOT,
    },
    ("POST", "/clusters/{cluster}/files/{path}"): {"type": SLOT},
    ("PATCH", "/clusters/{cluster}/files/{path}"): {"path": SLOT},
    ("POST", "/clusters/{cluster}/terminals"): {"cols": SLOT},
    ("POST", "/sessions"): {"app": "webapp", "cluster": "local", "values": {"cpus": SLOT}},
    # an item's bad argument fails that call only (the batch answers 201), so the slot is
    # the batch's own
    ("POST", "/backends/{backend}/calls/batch"): {
        "calls": [{"function": "convert_temperature", "arguments": {"value": 1.5}}],
        "wait": SLOT,
    },
    ("POST", "/calls/wait"): {"ids": [], "wait": SLOT},
    ("POST", "/calls/cancel"): {"ids": SLOT},
    ("POST", "/apps"): {"name": "corpus", "kind": "web", "script": "true\n", "display_name": SLOT},
    ("POST", "/clusters/{cluster}/workflows/{workflow}"): {"values": {"scale": SLOT}},
    ("POST", "/clusters/{cluster}/jobs/{job_id}/save-as-template"): {"name": SLOT},
    ("POST", "/clusters/{cluster}/notebooks"): {"notebook": {"cells": []}, "name": SLOT},
    ("POST", "/workflows/{workflow}/placement"): {"timeout": SLOT},
    ("PUT", "/clusters/{cluster}/kernel-profiles/{profile}"): {"values": {"cpus": SLOT}},
    ("PUT", "/clusters/{cluster}/kernel-env"): {"values": {"kernel_python": SLOT}},
}

#: a value of the wrong type for each slot (the slot's declared type is in the comment)
WRONG_TYPE: dict[tuple[str, str], bytes] = {
    ("POST", "/backends/{backend}/calls"): b'"warm"',  # a float
    ("POST", "/clusters"): b'{"not": "a host"}',  # string
    ("POST", "/clusters/{cluster}/trust"): b"[1, 2]",  # string
    ("POST", "/clusters/{cluster}/auth"): b"true",  # string
    ("POST", "/clusters/{cluster}/jobs"): b'"four"',  # integer
    ("POST", "/clusters/{cluster}/jobs/test"): b'"four"',  # integer
    ("POST", "/placement"): b'"four"',  # integer
    ("PUT", "/clusters/{cluster}/files/{path}"): b'{"text": 1}',  # text content: a string
    ("POST", "/clusters/{cluster}/files/{path}"): b'"folder"',  # enum
    ("PATCH", "/clusters/{cluster}/files/{path}"): b"42",  # string
    ("POST", "/clusters/{cluster}/terminals"): b'"wide"',  # integer
    ("POST", "/sessions"): b'"four"',  # integer
    ("POST", "/backends/{backend}/calls/batch"): b'"soon"',  # number
    ("POST", "/calls/wait"): b'"soon"',  # number
    ("POST", "/calls/cancel"): b'"all"',  # array
    ("POST", "/apps"): b"42",  # string
    ("POST", "/clusters/{cluster}/workflows/{workflow}"): b'"ten"',  # the template's integer
    ("POST", "/clusters/{cluster}/jobs/{job_id}/save-as-template"): b"42",  # string
    ("POST", "/clusters/{cluster}/notebooks"): b"42",  # string
    ("POST", "/workflows/{workflow}/placement"): b'"soon"',  # number
    ("PUT", "/clusters/{cluster}/kernel-profiles/{profile}"): b'"four"',  # integer
    ("PUT", "/clusters/{cluster}/kernel-env"): b"42",  # string
}

DEEP = 100_000
#: the one wrong value put in the slot (raw JSON text)
SLOT_VALUES: dict[str, bytes] = {
    "deep-json": b"[" * DEEP + b"]" * DEEP,
    "huge-int": b"9" * 5000,
    "nan": b"NaN",
    "infinity": b"-Infinity",
    "20mb-string": b'"' + b"a" * (20 * MB) + b'"',
}
#: slot values that are valid there: a 20 MB text is a file's content (saved, or refused
#: as too large: both are answers)
VALID = {(("PUT", "/clusters/{cluster}/files/{path}"), "20mb-string")}
#: whole bodies (raw bytes, content type)
BODIES: dict[str, tuple[bytes, str]] = {
    "array-body": (b"[1, 2, 3]", "application/json"),
    "string-body": (b'"text"', "application/json"),
    "null-body": (b"null", "application/json"),
    "empty-body": (b"", "application/json"),
    "truncated": (b'{"function": "ech', "application/json"),
    "form-encoded": (b"function=echo&value=1", "application/x-www-form-urlencoded"),
}

#: bad values per path parameter
PATH_VALUES: dict[str, dict[str, str]] = {
    "call_id": {
        "non-hex": "zzzz",
        "31-digits": "0" * 31,
        "upper-hex": "A" * 32,
        "10k-chars": "f" * 10_000,
        "nul": "%00",
        "dotdot": "..%2F..%2Fetc",
    },
    "job_id": {
        "word": "abc",
        "negative": "-1",
        "shell": "1%3Brm%20-rf",
        "5000-digits": "9" * 5000,
        "nul": "%00",
    },
    "backend": {"unknown": "no-such-backend", "nul": "%00", "10k-chars": "x" * 10_000},
    "cluster": {
        "unknown": "no-such-cluster",
        "nul": "%00",
        "10k-chars": "x" * 10_000,
        "dotdot": "..%2F..",
    },
    "terminal": {"unknown": "no-such-terminal", "nul": "%00", "10k-chars": "x" * 10_000},
    "app": {"unknown": "no-such-app", "nul": "%00", "10k-chars": "x" * 10_000},
    "profile": {"unknown": "no-such-profile", "nul": "%00", "10k-chars": "x" * 10_000},
    "workflow": {"unknown": "no-such-workflow", "nul": "%00", "10k-chars": "x" * 10_000},
    "run": {
        "unknown": "nope-20260101-000000-abcd",
        "nul": "%00",
        "10k-chars": "x" * 10_000,
        "dotdot": "..%2F..",
    },
    "session": {
        "unknown": "0123456789ab",
        "non-hex": "zzzz",
        "nul": "%00",
        "10k-chars": "f" * 10_000,
    },
    "kernel": {
        "unknown": "00000000-0000-0000-0000-000000000000",
        "nul": "%00",
        "10k-chars": "f" * 10_000,
        "dotdot": "..%2F..",
    },
    "path": {
        "dotdot": "..%2F..%2F..%2Fetc%2Fpasswd",
        "climbs-out": "home%2F..%2F..%2F..%2Fetc",
        "nul": "home%2Fdata%00x",
        "10k-chars": "home%2F" + "x" * 10_000,
        "absolute": "%2Fetc%2Fpasswd",
    },
}
#: values for a query parameter of a number or enum type, and whether each is refused
#: (not a number) or clamped to the parameter's range and answered
QUERY_VALUES = {"word": "abc", "nan": "NaN", "empty": ""}
QUERY_CLAMPED = {"negative": "-1", "1e309": "1e309", "5000-digits": "9" * 5000}

#: cases known to fail today: (route key, case) -> issue 12's item
#: (none left: items 6 and 10 (NaN, Infinity, deep JSON, 5,000-digit integers on every JSON
#: route) and 11 (an output offset past the end reported as its size) were fixed as this
#: corpus was written; each of those cases failed before its fix)
KNOWN: dict[tuple[str, str], int] = {}


@dataclass(frozen=True)
class Case:
    method: str
    template: str
    case: str
    #: "refused": a 4xx; "ignored": a body where none belongs, ignored or refused;
    #: "answered": a value the server clamps (any status but 5xx, the answer true)
    kind: str

    @property
    def id(self) -> str:
        return f"{self.method} {self.template} [{self.case}]"


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for template, item in DOCUMENT["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), template, item[method]


def _query_params(operation: dict[str, Any]) -> list[tuple[str, bool]]:
    """The query parameters of a number or enum type: (name, is a number)."""
    names = []
    for param in operation.get("parameters", []):
        if "$ref" in param:
            param = contract().resolve(param)
        schema = param.get("schema", {})
        if param.get("in") == "query" and (
            schema.get("type") in ("number", "integer") or "enum" in schema
        ):
            names.append((param["name"], "enum" not in schema))
    return names


def _cases() -> list[Any]:
    cases: list[Case] = []
    for method, template, operation in _operations():
        body = operation.get("requestBody")
        key = (method, template)
        if key in TEMPLATES:
            cases += [
                Case(method, template, name, "answered" if (key, name) in VALID else "refused")
                for name in SLOT_VALUES
            ]
            cases.append(Case(method, template, "wrong-type", "refused"))
            cases.append(Case(method, template, "invalid-utf8", "refused"))
            cases += [Case(method, template, name, "refused") for name in BODIES]
        elif body is None:
            cases.append(Case(method, template, "body-where-none-belongs", "ignored"))
            cases.append(Case(method, template, "bytes-where-none-belong", "ignored"))
        for name in re.findall(r"{(\w+)}", template):
            for label in PATH_VALUES[name]:
                cases.append(Case(method, template, f"{name}={label}", "refused"))
        for name, numeric in _query_params(operation):
            for label in QUERY_VALUES:
                cases.append(Case(method, template, f"?{name}={label}", "refused"))
            for label in QUERY_CLAMPED if numeric else ():
                cases.append(Case(method, template, f"?{name}={label}", "answered"))
    params = []
    for case in cases:
        marks = []
        item = KNOWN.get((f"{case.method} {case.template}", case.case))
        if item is not None:
            marks.append(pytest.mark.xfail(strict=True, reason=f"issue 12 item {item}"))
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


def test_the_corpus_covers_every_route() -> None:
    """Every operation gets cases, and every JSON body has a template, so a new route or
    body is in the corpus as soon as the contract describes it (or this fails, naming it)."""
    cased = {(c.values[0].method, c.values[0].template) for c in _cases()}
    missing = [f"{m} {t}" for m, t, _ in _operations() if (m, t) not in cased]
    assert not missing, f"routes without a case: {missing}"
    untemplated = [
        f"{m} {t}"
        for m, t, op in _operations()
        if "application/json" in contract().resolve(op.get("requestBody", {})).get("content", {})
        and (m, t) not in TEMPLATES
    ]
    assert not untemplated, f"JSON bodies without a template in TEMPLATES: {untemplated}"


@dataclass
class Corpus:
    """The server and what exists on it (a call and a job, so their routes read real ids)."""

    server: ServerProcess
    call_id: str
    job_id: str

    def path(self, template: str, override: dict[str, str] | None = None) -> str:
        values = {
            "backend": "examples",
            "cluster": "local",
            "call_id": self.call_id,
            "job_id": self.job_id,
            "path": "home/data/corpus.txt",
            "terminal": "no-such-terminal",
            "app": "webapp",
            "session": "0123456789ab",
            "kernel": "00000000-0000-0000-0000-000000000000",
            "workflow": "no-such-workflow",
            "run": "nope-20260101-000000-abcd",
            "profile": "no-such-profile",
            **(override or {}),
        }
        return template.lstrip("/").format(**values)


@pytest.fixture(scope="module")
def corpus(module_server_process: ServerStarter) -> Corpus:
    server = module_server_process(
        backends={"test": {"module": FAULTY}, "examples": {"module": "jupyter_rpc.examples.demo"}}
    )
    call = server.request(
        "POST",
        "backends/test/calls",
        {"function": "echo", "arguments": {"value": "hi"}, "wait": 30},
    )
    assert call.status in (200, 201), call.body
    job = server.request(
        "POST", "clusters/local/jobs", {"script": "#!/bin/sh\necho corpus\n", "name": "corpus"}
    )
    assert job.status in (200, 201), job.body
    corpus = Corpus(server, call.json()["id"], str(job.json()["id"]))
    warm = server.request(
        "POST", "backends/examples/calls", {"function": "add", "arguments": {"a": 1}, "wait": 30}
    )
    assert warm.status in (200, 201) and warm.json()["result"] == 2, warm.body
    server.resources.baseline()  # after the backends' processes started and the job ran
    return corpus


def _send(corpus: Corpus, case: Case) -> tuple[str, Reply]:
    """Send one case; the path (for messages) and the answer."""
    key = (case.method, case.template)
    path = corpus.path(case.template)
    raw: bytes | None = None
    headers = {"Content-Type": "application/json"}
    query: dict[str, str] = {}
    name = case.case
    if name in SLOT_VALUES or name in ("wrong-type", "invalid-utf8"):
        text = json.dumps(TEMPLATES[key]).encode()
        value = {"wrong-type": WRONG_TYPE[key], "invalid-utf8": b'"\xff\xfe\xc3("'}.get(name)
        raw = text.replace(json.dumps(SLOT).encode(), value or SLOT_VALUES[name])
    elif name in BODIES:
        raw, headers["Content-Type"] = BODIES[name]
    elif name == "body-where-none-belongs":
        raw = b'{"unexpected": [1, 2, 3], "wait": 0}'
    elif name == "bytes-where-none-belong":
        raw, headers["Content-Type"] = b"\xff\xfe\x00" * 1000, "application/octet-stream"
    elif name.startswith("?"):
        param, label = name[1:].split("=", 1)
        query[param] = {**QUERY_VALUES, **QUERY_CLAMPED}[label]
    else:
        param, label = name.split("=", 1)
        path = corpus.path(case.template, {param: PATH_VALUES[param][label]})
        if case.method in ("PUT", "POST", "PATCH") and key in TEMPLATES:
            raw = b"{}"
        elif "upload" in case.template:
            raw, headers["Content-Type"] = b"x", "application/octet-stream"
    reply = corpus.server.request(
        case.method, path, raw=raw, headers=headers, query=query, timeout=CLIENT_TIMEOUT
    )
    return path, reply


@pytest.mark.parametrize("case", _cases())
def test_a_bad_request_gets_a_4xx_with_the_error_shape(corpus: Corpus, case: Case) -> None:
    try:
        path, reply = _send(corpus, case)
    except TimeoutError:
        pytest.fail(f"{case.id}: no answer within {CLIENT_TIMEOUT:.0f} s", pytrace=False)
    where = f"{case.method} /jupyter-rpc/{path[:120]} [{case.case}]"
    shown = reply.body[:600].decode(errors="replace")
    assert reply.status < 500, f"{where} -> {reply.status}: {shown}"
    if case.kind == "refused":
        assert 400 <= reply.status < 500, f"{where} was not refused: {reply.status} {shown}"
    if reply.status >= 400:
        try:
            body = reply.json()
        except ValueError:
            pytest.fail(f"{where} -> {reply.status}, not JSON: {shown}", pytrace=False)
        assert isinstance(body, dict) and {"message", "reason", "code"} <= set(body), (
            f"{where} -> {reply.status}, not the error shape: {shown}"
        )
    if reply.status == 200 and case.template.endswith("/output"):
        # an offset beyond the end reads nothing: the answer never claims more than the file
        real = len("corpus\n")
        for name in ("size", "next_offset"):
            assert reply.json()[name] <= real, (
                f"{where}: the output's {name} is {reply.json()[name]}, the file has {real} bytes"
            )
    decoded = urllib.parse.unquote(path.split("?")[0])
    if "\0" not in decoded and ".." not in decoded:  # the contract checks our own paths
        problems = contract().check_response(
            case.method,
            "jupyter-rpc/" + decoded,
            reply.status,
            reply.headers.get("content-type"),
            reply.body,
        )
        assert not problems, "\n".join(problems)


#: 20 MB uploads the server refuses before it has the body: (path, query, status)
REFUSED_UPLOADS = {
    "onto-an-existing-file": ("local/upload/home/data/notes.txt", {"overwrite": "0"}, 409),
    "into-a-missing-folder": ("local/upload/home/nowhere/big.bin", {}, 404),
    "into-a-file": ("local/upload/home/data/notes.txt/big.bin", {}, None),
    "outside-the-roots": ("local/upload/home%2F..%2F..%2Fbig.bin", {}, None),
    "unknown-cluster": ("no-such-cluster/upload/home/big.bin", {}, 404),
}


@pytest.mark.parametrize("case", REFUSED_UPLOADS)
def test_a_refused_20mb_upload_is_answered_at_once(corpus: Corpus, case: str) -> None:
    """Sent as a browser sends it (chunks, stopping once answered): the refusal comes
    within seconds, whether the server discards the rest or closes the connection."""
    path, query, status = REFUSED_UPLOADS[case]
    try:
        reply = corpus.server.stream(
            "PUT", "clusters/" + path, 20 * MB, query=query, timeout=CLIENT_TIMEOUT
        )
    except TimeoutError as exc:
        pytest.fail(f"a refused upload ({case}) was never answered: {exc}", pytrace=False)
    shown = reply.body[:300].decode(errors="replace")
    assert 400 <= reply.status < 500, f"{case}: {reply.status} {shown}"
    assert status is None or reply.status == status, f"{case}: {reply.status} {shown}"
    assert {"message", "reason", "code"} <= set(reply.json()), shown
    assert reply.seconds < 10, f"{case}: answered after {reply.seconds:.1f} s"


def test_the_server_holds_no_more_after_the_corpus(corpus: Corpus) -> None:
    """After the whole corpus (20 MB bodies included) the server is back within bounds:
    RSS within 64 MB of where it started, no new fds, files, temp files or processes."""
    now = corpus.server.resources.check(settle=10.0)
    start = corpus.server.resources.start
    assert start is not None
    print(f"\nafter the corpus: {now.summary()}\nbefore: {start.summary()}")
    assert corpus.server.request("GET", "backends").status == 200

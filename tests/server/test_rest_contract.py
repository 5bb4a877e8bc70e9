"""The REST contract: the OpenAPI description matches the routes, is a sound OpenAPI 3.1
document, its checker catches what it should, and one table of error codes agrees with the
code, the description and the docs. (Every response of the other server tests is checked
against the description by ``tests/conftest.py``.)"""

from __future__ import annotations

import ast
import copy
import importlib
import importlib.util
import json
import pathlib
import pkgutil
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from tornado.httpclient import HTTPClientError

from jupyter_rpc.errors import CODES, ERROR_CODES, RPCError
from jupyter_rpc.handlers import RPCHandler, routes
from jupyter_rpc.rest import Contract, ResponseRecorder, load_openapi
from jupyter_rpc.rest.contract import METHODS, pointer
from jupyter_rpc.rest.docs import BEGIN, END, error_codes_markdown, with_error_codes
from tests.fixtures import REPO

ROOT = REPO
PACKAGE = ROOT / "jupyter_rpc"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


# -- the routes of app.py and the described paths ------------------------------------


def route_templates() -> dict[str, set[str]]:
    """The extension's routes as OpenAPI templates (after ``/jupyter-rpc``), with the
    methods their handlers implement; the catch-all 404 route left out."""
    table = routes(None)  # type: ignore[arg-type]  # services are only passed through
    pattern, last, _ = table[-1]
    assert pattern == r"/jupyter-rpc/(?P<path>.*)" and last.__name__ == "NotFoundHandler"
    found: dict[str, set[str]] = {}
    for pattern, handler, _ in table[:-1]:
        template = pattern.removeprefix("/jupyter-rpc")
        template = re.sub(r"/\?\(\?P<(\w+)>\.\*\)|/\(\?P<(\w+)>\.\*\)", r"/{path}", template)
        template = re.sub(r"\(\?P<(\w+)>\[\^/\]\+\)", r"{\1}", template)
        template = template.removesuffix("/?") or "/"
        methods = {m for m in HTTP_METHODS if getattr(handler, m) is not getattr(RPCHandler, m)}
        action = re.search(r"\(\?P<action>([\w|]+)\)", template)
        names = action.group(1).split("|") if action else [None]
        for name in names:
            concrete = template if name is None else template.replace(action.group(0), name)  # type: ignore[union-attr]
            assert "(" not in concrete and "?" not in concrete, f"cannot read route {pattern}"
            found[concrete] = methods
    return found


def described() -> dict[str, set[str]]:
    return {
        path: {m for m in item if m in METHODS} for path, item in load_openapi()["paths"].items()
    }


def test_every_route_is_described_with_its_methods() -> None:
    routes_, paths = route_templates(), described()
    assert set(routes_) == set(paths), (
        f"routes not described: {sorted(set(routes_) - set(paths))}; "
        f"described but not routed: {sorted(set(paths) - set(routes_))}"
    )
    for template, methods in routes_.items():
        assert methods == paths[template], template


def sample(template: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "a/b.txt" if m.group(1) == "path" else "x1", template)


def test_every_described_operation_reaches_its_handler() -> None:
    """Each described path, filled in, is dispatched by tornado's route table (first
    match wins) to a handler that implements the method; and the checker matches it to
    the same description."""
    table = [(re.compile(p), h) for p, h, _ in routes(None)]  # type: ignore[arg-type]
    contract = Contract()
    for template, methods in described().items():
        for url in {sample(template), sample(template).rstrip("/") + "/"}:
            handler = next(h for regex, h in table if regex.fullmatch("/jupyter-rpc" + url))
            assert handler.__name__ != "NotFoundHandler", url
            for method in methods:
                assert getattr(handler, method) is not getattr(RPCHandler, method), (url, method)
            route = contract.match(url)
            assert route is not None and route.template == template, url


# -- a sound OpenAPI 3.1 document ----------------------------------------------------


def all_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in all_refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in all_refs(value)]
    return []


def test_the_document_is_a_sound_openapi_3_1_description() -> None:
    """Structural checks (the OpenAPI 3.1 meta-schema is not available offline)."""
    doc = load_openapi()
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert doc["info"]["title"] and doc["info"]["version"]
    for ref in all_refs(doc):
        pointer(doc, ref)  # every reference resolves
    contract = Contract()
    operation_ids = []
    for template, item in doc["paths"].items():
        assert template.startswith("/"), template
        declared = {p["name"] for p in map(contract.resolve, item.get("parameters", []))}
        assert declared == set(re.findall(r"\{(\w+)\}", template)), template
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            operation_ids.append(op["operationId"])
            assert op.get("summary"), (template, method)
            assert {"403", "500"} <= set(op["responses"]), (template, method)  # every route
            for status, response in op["responses"].items():
                assert re.fullmatch(r"[1-5][0-9][0-9]", status), (template, method, status)
                response = contract.resolve(response)
                assert response["description"], (template, method, status)
                for media in response.get("content", {}).values():
                    Draft202012Validator.check_schema(media["schema"])
                if status == "101":  # a websocket's upgrade: no body
                    assert "content" not in response, (template, method)
                elif not status.startswith("2"):
                    assert all_refs(response) == ["#/components/schemas/ErrorBody"], status
            for p in map(contract.resolve, op.get("parameters", [])):
                assert p["in"] == "query" and p.get("description"), (template, p)
    for p in map(contract.resolve, doc["components"]["parameters"].values()):
        assert p["in"] == "path" and p["required"] is True
    assert len(operation_ids) == len(set(operation_ids))
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_request_bodies_are_the_handlers_own_schemas() -> None:
    """The bodies the handlers accept (their validators) are the described ones."""
    validators: dict[str, Any] = {}
    for package in ("jupyter_rpc.handlers", "jupyter_rpc.services"):
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            module = importlib.import_module(f"{package}.{info.name}")
            for name, value in vars(module).items():
                if isinstance(value, Draft202012Validator) and name.isupper():
                    validators[name] = value.schema
    schemas = load_openapi()["components"]["schemas"]
    pairs = {
        "CALL_REQUEST": "CallRequest",
        "TRUST_REQUEST": "TrustRequest",
        "AUTH_REQUEST": "AuthRequest",
        "JOB_SPEC": "JobSpec",
        "SAVE_REQUEST": "SaveRequest",
        "CREATE_REQUEST": "CreateRequest",
        "RENAME_REQUEST": "RenameRequest",
    }
    for validator, schema in pairs.items():
        assert validator in validators, f"no request validator {validator} found"
        assert without_descriptions(schemas[schema]) == validators[validator], schema


def without_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: without_descriptions(v)
            for k, v in node.items()
            if not (k == "description" and isinstance(v, str))
        }
    if isinstance(node, list):
        return [without_descriptions(v) for v in node]
    return node


# -- the checker ---------------------------------------------------------------------


def error(code: str, status: int = 404) -> bytes:
    return json.dumps({"message": "m", "reason": "Not Found", "code": code}).encode()


JSON = "application/json"


def test_the_checker_allows_what_is_described() -> None:
    check = Contract().check_response
    root = json.dumps({"version": "1", "features": ["jobs"]}).encode()
    assert check("GET", "jupyter-rpc", 200, JSON, root) == []
    assert check("GET", "jupyter-rpc/", 200, JSON, root) == []
    assert check("GET", "jupyter-rpc/backends/x", 404, JSON, error("backend.not_found")) == []
    assert check("DELETE", "jupyter-rpc/clusters/c/files/home/a b/c.txt", 204, None, b"") == []
    top = {"name": "", "path": "", "type": "directory", "format": "json", "mimetype": None}
    top |= {"content": [], "size": None, "writable": False, "created": None}
    top |= {"last_modified": None, "hash": None, "hash_algorithm": None, "real_path": ""}
    assert check("GET", "jupyter-rpc/clusters/c/files", 200, JSON, json.dumps(top).encode()) == []
    assert check("GET", "jupyter-rpc/clusters/c/download/home/x.json", 200, JSON, b"[") == []
    assert check("GET", "api/contents", 500, "text/html", b"<html>") == []  # not ours


def test_the_checker_names_what_does_not_fit() -> None:
    check = Contract().check_response
    [problem] = check("GET", "jupyter-rpc", 201, JSON, b"{}")
    assert "status 201 is not described" in problem and "200" in problem
    problems = check("GET", "jupyter-rpc/", 200, JSON, b'{"version": 1}')
    assert any("'features' is a required property" in p for p in problems)
    assert any("body['version']: 1 is not of type 'string'" in p for p in problems)
    [problem] = check("GET", "jupyter-rpc/backends/x", 404, JSON, error("backend.gone"))
    assert "body['code']" in problem
    [problem] = check("DELETE", "jupyter-rpc/clusters/c", 204, JSON, b"{}")
    assert "a body of 2 bytes where none is described" in problem
    [problem] = check("GET", "jupyter-rpc/calls", 200, "text/html", b"<p>")
    assert "content type text/html" in problem
    [problem] = check("GET", "jupyter-rpc/no/such/thing", 200, JSON, b"{}")
    assert "no described path, so the answer must be 404, not 200" in problem
    assert check("GET", "jupyter-rpc/no/such/thing", 404, JSON, error("route.not_found")) == []
    [problem] = check("PUT", "jupyter-rpc/backends", 404, JSON, error("route.not_found"))
    assert "/backends describes no PUT, so the answer must be 405" in problem


def test_a_literal_segment_wins_over_a_parameter() -> None:
    contract = Contract()
    assert contract.match("/clusters/c/jobs/test").template == "/clusters/{cluster}/jobs/test"  # type: ignore[union-attr]
    assert contract.match("/clusters/c/jobs/9").template == "/clusters/{cluster}/jobs/{job_id}"  # type: ignore[union-attr]
    assert contract.match("/clusters/c/files/jobs/1/hold").template.endswith("/files/{path}")  # type: ignore[union-attr]
    assert contract.match("/clusters/c/files/").template.endswith("/files/{path}")  # type: ignore[union-attr]
    assert contract.match("/clusters/c/download/").template.endswith("/download/{path}")  # type: ignore[union-attr]
    assert contract.match("/clusters/c/files/x/y/") is not None
    assert contract.match("/clusters/c/jobs/1/output/more") is None


async def test_a_real_server_response_outside_the_contract_is_caught(
    jp_serverapp: Any, jp_fetch: Any, rest_contract: ResponseRecorder
) -> None:
    """A recorder with a description that lists no 404 for GET /backends/{backend}
    records the real server's answer; the package's description allows it."""
    doc = copy.deepcopy(load_openapi())
    del doc["paths"]["/backends/{backend}"]["get"]["responses"]["404"]
    strict = ResponseRecorder(Contract(doc))
    strict.install(jp_serverapp.web_app, jp_serverapp.base_url)
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-rpc", "backends", "nope")
    assert info.value.code == 404
    [problem] = strict.problems
    assert problem.startswith("GET /jupyter-rpc/backends/nope: status 404 is not described")
    assert rest_contract.problems == [] and rest_contract.checked == 1


async def test_a_fetch_fails_on_a_response_outside_the_contract(
    jp_serverapp: Any, jp_fetch: Any, rest_contract: ResponseRecorder
) -> None:
    """What every server test gets: jp_fetch (and rpc) raise on a response the
    description does not allow (here: a description where GET / answers only 201)."""
    rest_contract.contract = Contract(copy.deepcopy(load_openapi()))
    responses = rest_contract.contract.document["paths"]["/"]["get"]["responses"]
    responses["201"] = responses.pop("200")
    with pytest.raises(AssertionError, match=r"GET /jupyter-rpc/: status 200 is not described"):
        await jp_fetch("jupyter-rpc/")
    assert rest_contract.problems == []  # reported once, by the fetch


# -- one table of error codes --------------------------------------------------------


def class_defaults() -> dict[str, tuple[str, int]]:
    """``{class name: (code, status)}`` of every RPCError subclass in the package."""
    found: dict[str, tuple[str, int]] = {}
    stack: list[type[RPCError]] = [RPCError]
    while stack:
        cls = stack.pop()
        found[cls.__name__] = (cls.code, cls.status)
        stack += cls.__subclasses__()
    return found


def raised_codes() -> dict[str, set[int | None]]:
    """Every error code the package's source raises or sends, with the statuses it is
    sent with where the source says (``None``: not known from the source)."""
    defaults = class_defaults()
    used: dict[str, set[int | None]] = {}

    def add(code: str, status: int | None) -> None:
        used.setdefault(code, set()).add(status)

    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            t.id: n.value.value
            for n in tree.body
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "HTTP_CODES" for t in node.targets
            ):  # the codes of tornado's and jupyter_server's own errors, by status
                assert isinstance(node.value, ast.Dict)
                for key, value in zip(node.value.keys, node.value.values, strict=True):
                    add(ast.literal_eval(value), ast.literal_eval(key))  # type: ignore[arg-type]
            if (
                isinstance(node, ast.Assign)
                and [ast.unparse(t) for t in node.targets] == ["code"]
                and isinstance(node.value, ast.IfExp)
                and all(
                    isinstance(b, ast.Constant | ast.Attribute) and ast.unparse(b).count(".")
                    for b in (node.value.body, node.value.orelse)
                )
            ):  # code = "a" if ... else B.code, passed on as code=code
                for code in codes_of(node.value, constants, defaults, path):
                    add(code, None)
            if not isinstance(node, ast.Call):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            if "code" not in keywords:
                continue
            name = ast.unparse(node.func).rsplit(".", 1)[-1]
            status: int | None = defaults.get(name, (None, None))[1]
            if "status" in keywords:
                value = keywords["status"]
                status = value.value if isinstance(value, ast.Constant) else None
            for code in codes_of(keywords["code"], constants, defaults, path):
                add(code, status)
    for code, status in defaults.values():
        add(code, status)
    return used


def codes_of(
    node: ast.expr, constants: dict[str, Any], defaults: dict[str, Any], path: pathlib.Path
) -> list[str]:
    """The codes a ``code=`` argument can be; re-raised codes (``err.code``) are none."""
    if isinstance(node, ast.Constant):
        return [node.value]
    if isinstance(node, ast.Name) and node.id in constants:
        return [constants[node.id]]
    if isinstance(node, ast.IfExp):
        return codes_of(node.body, constants, defaults, path) + codes_of(
            node.orelse, constants, defaults, path
        )
    if isinstance(node, ast.Attribute) and node.attr == "code":
        if isinstance(node.value, ast.Name) and node.value.id in defaults:
            return [defaults[node.value.id][0]]
        return []  # an error's own code, passed on
    if isinstance(node, ast.JoinedStr) and ast.unparse(node) == "f'job.{verb}_failed'":
        return ["job.hold_failed", "job.release_failed"]  # scontrol hold / release
    if (isinstance(node, ast.Name) and node.id == "code") or (
        isinstance(node, ast.Call) and ast.unparse(node.func).endswith(".get")
    ):
        return []  # the notebook client's RemoteError: a code the server sent
    raise AssertionError(f"{path}: cannot tell the error code of {ast.unparse(node)}")


def test_every_code_the_package_raises_is_in_the_table_with_its_status() -> None:
    used = raised_codes()
    missing = sorted(set(used) - set(CODES))
    assert not missing, f"codes raised but not in jupyter_rpc.errors.ERROR_CODES: {missing}"
    for code, statuses in used.items():
        wrong = {s for s in statuses if s is not None} - set(CODES[code].statuses)
        assert not wrong, (
            f"{code} is sent with {sorted(wrong)}; the table says {CODES[code].status}"
        )


def test_every_code_in_the_table_is_raised_somewhere() -> None:
    unused = sorted(set(CODES) - set(raised_codes()))
    assert not unused, f"codes in the table that nothing raises: {unused}"


def test_the_table_is_well_formed() -> None:
    assert len(CODES) == len(ERROR_CODES)
    for entry in ERROR_CODES:
        assert re.fullmatch(r"[a-z_]+(\.[a-z0-9_]+)?", entry.code), entry.code
        assert all(400 <= s < 600 for s in entry.statuses), entry
        assert entry.meaning.endswith("."), entry


def test_the_description_allows_exactly_the_table_codes() -> None:
    schema = load_openapi()["components"]["schemas"]["ErrorCode"]
    [listed] = [s["enum"] for s in schema["anyOf"] if "enum" in s]
    assert listed == [e.code for e in ERROR_CODES]


def test_the_docs_error_table_is_the_table() -> None:
    text = (ROOT / "docs" / "rest-api.md").read_text(encoding="utf-8")
    section = text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()
    assert section == error_codes_markdown(), (
        "docs/rest-api.md's error codes differ from jupyter_rpc.errors.ERROR_CODES: "
        "run `python -m jupyter_rpc.rest.docs docs/rest-api.md`"
    )
    assert with_error_codes(text) == text
    for entry in ERROR_CODES:
        assert f"| `{entry.code}` |" in section


# -- the front end's types -----------------------------------------------------------


def test_the_typescript_types_are_generated_from_the_current_description() -> None:
    spec = importlib.util.spec_from_file_location("openapi_ts", ROOT / "scripts" / "openapi_ts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (ROOT / "src" / "shared" / "openapi.ts").read_text(encoding="utf-8")
    assert committed == module.generate(load_openapi()), (
        "src/shared/openapi.ts is not current: run `python scripts/openapi_ts.py`"
    )

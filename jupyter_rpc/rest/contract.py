"""The REST contract: ``openapi.yaml`` loaded, and real responses checked against it.

:class:`Contract` answers one question: may the server send *this* response (status,
content type, body) to *this* request (method, path)? It knows only the OpenAPI document,
so tests, a site's own checks and :class:`ResponseRecorder` (a tornado output transform
that checks every response a server sends) all use the same rules:

- a path under ``jupyter-rpc/`` that the document does not describe must answer ``404``,
  a method a described path does not describe must answer ``405``, both with the error
  body (what the catch-all route and tornado answer);
- otherwise the status must be one the operation lists, and the body must fit the
  response's media type schema (JSON Schema 2020-12, as OpenAPI 3.1 says); a response
  that describes no content must have an empty body.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs; pyyaml comes with jupyter_server (jupyter_events)
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

#: The description, shipped inside the package.
OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")

#: The prefix of every route, after the server's base URL.
PREFIX = "jupyter-rpc"

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

_URI = "urn:jupyter-rpc:openapi"
_PARAM = re.compile(r"\{([^}]+)\}")


@functools.cache
def load_openapi() -> dict[str, Any]:
    """The OpenAPI document (parsed once)."""
    document: dict[str, Any] = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    return document


def pointer(document: dict[str, Any], ref: str) -> Any:
    """The part of ``document`` a local reference (``#/components/...``) names."""
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported, not {ref!r}")
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class Route:
    """One described path: its template, the regex it matches, and its path item."""

    template: str
    regex: re.Pattern[str]
    item: dict[str, Any]
    params: int

    def operations(self) -> dict[str, dict[str, Any]]:
        """The path item's operations by lower-case method."""
        return {m: op for m, op in self.item.items() if m in METHODS}


class Contract:
    """The OpenAPI document as a checker of responses."""

    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.document = document if document is not None else load_openapi()
        resource = DRAFT202012.create_resource(self.document)
        self._registry: Registry[Any] = Registry().with_resource(_URI, resource)
        self._validators: dict[str, Draft202012Validator] = {}
        self.routes = sorted(
            (self._route(t, item) for t, item in self.document["paths"].items()),
            key=lambda r: r.params,  # a literal segment wins over a parameter (OpenAPI)
        )

    def _route(self, template: str, item: dict[str, Any]) -> Route:
        greedy = {
            p["name"]
            for p in self._parameters(item)
            if p.get("in") == "path" and p.get("x-jupyter-rpc-greedy")
        }
        pattern = ""
        for piece in re.split(r"(/\{[^}]+\})", template):
            match = re.fullmatch(r"/\{([^}]+)\}", piece)
            if match is None:
                pattern += re.escape(piece)
            elif match.group(1) in greedy:
                pattern += rf"(?:/(?P<{match.group(1)}>.*))?"
            else:
                pattern += rf"/(?P<{match.group(1)}>[^/]+)"
        regex = re.compile(rf"{pattern.rstrip('/')}/?")
        return Route(template, regex, item, len(_PARAM.findall(template)))

    def _parameters(self, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for p in item.get("parameters", []):
            yield pointer(self.document, p["$ref"]) if "$ref" in p else p

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """``node``, or what its ``$ref`` names (OpenAPI objects: responses, parameters)."""
        while "$ref" in node:
            node = pointer(self.document, node["$ref"])
        return node

    def match(self, path: str) -> Route | None:
        """The described path that ``path`` (after the prefix, e.g. ``/backends/x``) is."""
        for route in self.routes:
            if route.regex.fullmatch(path):
                return route
        return None

    def validator(self, where: str) -> Draft202012Validator:
        """A validator for the schema at the JSON pointer ``where`` of the document."""
        if where not in self._validators:
            self._validators[where] = Draft202012Validator(
                {"$ref": f"{_URI}#{where}"}, registry=self._registry
            )
        return self._validators[where]

    def check_response(
        self, method: str, path: str, status: int, content_type: str | None, body: bytes | None
    ) -> list[str]:
        """What is wrong with this response, as sentences (empty: it is allowed).

        ``path`` is the URL path after the server's base URL (``jupyter-rpc/calls/x``),
        decoded, without the query; paths outside the prefix are not ours (no problems).
        ``body`` ``None`` means: not seen (a streamed body), check the status only.
        """
        path = "/" + path.lstrip("/")
        if path != f"/{PREFIX}" and not path.startswith(f"/{PREFIX}/"):
            return []
        sub = path[len(PREFIX) + 1 :] or "/"
        method = method.lower()
        where = f"{method.upper()} {path}"
        route = self.match(sub)
        if route is None:
            return self._fallback(where, 404, "no described path", status, content_type, body)
        operation = route.operations().get(method)
        if operation is None:
            why = f"{route.template} describes no {method.upper()}"
            return self._fallback(where, 405, why, status, content_type, body)
        responses = operation["responses"]
        if str(status) not in responses:
            listed = ", ".join(sorted(responses))
            return [f"{where}: status {status} is not described (described: {listed})"]
        response = self.resolve(responses[str(status)])
        pointer_base = self._response_pointer(route.template, method, str(status), responses)
        return [
            f"{where} -> {status}: {p}"
            for p in self._check_content(response, pointer_base, content_type, body)
        ]

    def _response_pointer(
        self, template: str, method: str, status: str, responses: dict[str, Any]
    ) -> str:
        ref = responses[status].get("$ref")
        if ref is not None:
            return str(ref)[1:]
        return f"/paths/{_escape(template)}/{method}/responses/{status}"

    def _fallback(
        self,
        where: str,
        expected: int,
        why: str,
        status: int,
        content_type: str | None,
        body: bytes | None,
    ) -> list[str]:
        if status != expected:
            return [f"{where}: {why}, so the answer must be {expected}, not {status}"]
        problems = self._check_json(
            "/components/schemas/ErrorBody", content_type, body, "application/json"
        )
        return [f"{where} -> {status}: {p}" for p in problems]

    def _check_content(
        self, response: dict[str, Any], base: str, content_type: str | None, body: bytes | None
    ) -> list[str]:
        content = response.get("content")
        if not content:
            if body:
                return [f"a body of {len(body)} bytes where none is described"]
            return []
        media = (content_type or "").split(";")[0].strip().lower()
        chosen = _media_type(content, media)
        if chosen is None:
            return [f"content type {media or '(none)'} is not described ({', '.join(content)})"]
        if "json" not in chosen or "schema" not in content[chosen]:
            return []  # bytes (a download): any body
        schema_at = f"{base}/content/{_escape(chosen)}/schema"
        return self._check_json(schema_at, content_type, body, chosen)

    def _check_json(
        self, schema_at: str, content_type: str | None, body: bytes | None, media: str
    ) -> list[str]:
        if "json" not in (content_type or ""):
            return [f"content type {content_type or '(none)'} where {media} is described"]
        if body is None:
            return []
        try:
            data = json.loads(body)
        except ValueError as exc:
            return [f"the body is not JSON: {exc}"]
        errors = sorted(
            self.validator(schema_at).iter_errors(data), key=lambda e: list(map(str, e.path))
        )
        return [f"body{''.join(f'[{p!r}]' for p in e.absolute_path)}: {e.message}" for e in errors]


def _media_type(content: dict[str, Any], media: str) -> str | None:
    """The described media type that ``media`` falls under (exact, ``type/*``, ``*/*``)."""
    for candidate in (media, media.split("/")[0] + "/*", "*/*"):
        if candidate in content:
            return candidate
    return None


@functools.cache
def contract() -> Contract:
    """The package's contract (built once)."""
    return Contract()


class ResponseRecorder:
    """Checks every response a tornado application sends against the contract.

    ``recorder.install(web_app, base_url)`` adds an output transform; each response's
    problems are appended to ``recorder.problems`` (the response itself is unchanged).
    The transform goes first, so it sees the body before any compression.
    """

    def __init__(self, checker: Contract | None = None) -> None:
        self.contract = checker or contract()
        self.problems: list[str] = []
        self.checked = 0

    def install(self, web_app: Any, base_url: str) -> None:
        """Check the responses of ``web_app`` (a tornado Application) from now on."""
        web_app.transforms.insert(0, self._transform(base_url))

    def _transform(self, base_url: str) -> Callable[[Any], Any]:
        recorder = self
        prefix = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"

        class Transform:
            """One response: keeps a JSON body until it is finished, then checks it."""

            def __init__(self, request: Any) -> None:
                self.method: str = request.method
                self.path: str = request.path
                self.status = 0
                self.content_type: str | None = None
                self.body: list[bytes] | None = []

            def transform_first_chunk(
                self, status_code: int, headers: Any, chunk: bytes, finishing: bool
            ) -> tuple[int, Any, bytes]:
                self.status = status_code
                self.content_type = headers.get("Content-Type")
                if "json" not in (self.content_type or ""):
                    self.body = None if chunk or not finishing else []  # not kept
                self._add(chunk, finishing)
                return status_code, headers, chunk

            def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
                self._add(chunk, finishing)
                return chunk

            def _add(self, chunk: bytes, finishing: bool) -> None:
                if self.body is not None:
                    self.body.append(chunk)
                if finishing:
                    recorder._done(self, prefix)

        return Transform

    def _done(self, response: Any, prefix: str) -> None:
        from urllib.parse import unquote

        if not response.path.startswith(prefix):  # both as sent: percent-encoded
            return
        path = unquote(response.path[len(prefix) :])
        body = None if response.body is None else b"".join(response.body)
        self.checked += 1
        self.problems += self.contract.check_response(
            response.method, path, response.status, response.content_type, body
        )

"""Rich result types: annotations that tell the UI how to show a value.

Each type is an ordinary Python type (``bytes``, ``str`` or ``dict``) wrapped in
:data:`typing.Annotated` with a marker that adds JSON Schema annotations
(``contentMediaType`` and, for binary data, ``contentEncoding: base64``). The server
reads ``contentMediaType`` at the top of a function's ``return_schema`` to decide how to
render the result, so any backend (a DASF one too) can use the same convention.

Examples
--------
>>> from jupyter_rpc.backend import PNG
>>> def thumbnail() -> PNG:
...     return open("thumb.png", "rb").read()
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from pydantic import BeforeValidator, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

__all__ = ["GIF", "HTML", "JPEG", "PNG", "SVG", "Markdown", "MediaType", "VegaLite"]


class MediaType:
    """Marker for :data:`typing.Annotated` that sets ``contentMediaType`` in the schema.

    Parameters
    ----------
    media_type
        The IANA media type, e.g. ``"image/png"``.
    schema
        The JSON Schema to publish. When ``None`` the schema pydantic makes for the
        underlying type is kept and ``contentMediaType`` is added to it.
    """

    __slots__ = ("media_type", "schema")

    def __init__(self, media_type: str, schema: dict[str, Any] | None = None) -> None:
        self.media_type = media_type
        self.schema = schema

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        json_schema = dict(self.schema) if self.schema is not None else dict(handler(schema))
        json_schema["contentMediaType"] = self.media_type
        return json_schema

    def __repr__(self) -> str:
        return f"MediaType({self.media_type!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MediaType) and other.media_type == self.media_type

    def __hash__(self) -> int:
        return hash(("MediaType", self.media_type))


class Base64Bytes:
    """Marker: ``bytes`` in Python, a base64 string in JSON.

    Validation accepts ``bytes`` unchanged (what a function returns) or a base64 string
    (what arrives in a request); serialization to JSON gives standard base64 without line
    breaks.
    """

    __slots__ = ()

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _to_bytes,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _to_base64, when_used="json", return_schema=core_schema.str_schema()
            ),
        )

    def __repr__(self) -> str:
        return "Base64Bytes()"


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise PydanticCustomError("base64", "Input should be a base64 string") from None
    raise PydanticCustomError("bytes_type", "Input should be bytes or a base64 string")


def _to_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _chart_spec(value: Any) -> Any:
    """Accept chart objects that know their Vega-Lite spec (e.g. an Altair chart)."""
    to_dict = getattr(value, "to_dict", None)
    if not isinstance(value, dict) and callable(to_dict):
        return to_dict()
    return value


def _binary(media_type: str) -> MediaType:
    return MediaType(
        media_type, {"type": "string", "contentEncoding": "base64", "contentMediaType": media_type}
    )


#: A PNG image: return the ``bytes`` of the file; it travels as base64.
PNG = Annotated[bytes, Base64Bytes(), _binary("image/png")]
#: A JPEG image: return the ``bytes`` of the file; it travels as base64.
JPEG = Annotated[bytes, Base64Bytes(), _binary("image/jpeg")]
#: A GIF image: return the ``bytes`` of the file; it travels as base64.
GIF = Annotated[bytes, Base64Bytes(), _binary("image/gif")]
#: An SVG image: return the markup as ``str`` (the UI sanitizes it).
SVG = Annotated[str, MediaType("image/svg+xml")]
#: An HTML fragment as ``str`` (the UI sanitizes it).
HTML = Annotated[str, MediaType("text/html")]
#: Markdown text as ``str``.
Markdown = Annotated[str, MediaType("text/markdown")]
#: A Vega-Lite v5 chart specification as a ``dict`` (put the data inline in ``data.values``);
#: objects with a ``to_dict()`` method that gives one, like Altair charts, work too.
VegaLite = Annotated[
    dict[str, Any],
    BeforeValidator(_chart_spec),
    MediaType(
        "application/vnd.vegalite.v5+json",
        {"type": "object", "contentMediaType": "application/vnd.vegalite.v5+json"},
    ),
]

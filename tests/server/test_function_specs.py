"""Function specs from recorded DASF api_info, argument validation and result rendering."""

from __future__ import annotations

import json

import pytest

from jupyter_rpc.errors import InvalidRequest
from jupyter_rpc.services.functions import specs_from_api_info
from jupyter_rpc.services.rendering import mime_bundle
from tests.fixtures import DATA

# Recorded from a real demessaging 0.6.4 backend through dasf-broker-django.
DASF_API_INFO = json.loads((DATA / "dasf_api_info.json").read_text())


@pytest.fixture(scope="module")
def specs():
    return specs_from_api_info(DASF_API_INFO)


def test_dasf_members_become_specs(specs):
    assert {"add", "greet", "stats", "Accumulator.add_all", "Accumulator.scaled"} <= set(specs)
    add = specs["add"]
    assert "func_name" not in add.schema["properties"]
    assert add.summary == "Add two integers."
    assert add.request({"a": 2}) == {"a": 2, "func_name": "add"}


def test_method_spec_keeps_dasf_request_layout(specs):
    spec = specs["Accumulator.add_all"]
    assert spec.schema["properties"]["start"]["default"] == 0.0
    assert spec.schema["required"] == ["function"]
    request = spec.request({"start": 10, "function": {"values": [1, 2.5]}})
    assert request == {
        "start": 10,
        "class_name": "Accumulator",
        "function": {"values": [1, 2.5], "func_name": "add_all"},
    }


def test_nested_model_errors_point_at_the_field(specs):
    with pytest.raises(InvalidRequest) as info:
        specs["stats"].validate({"points": [{"x": 1}, {"x": "far"}]})
    errors = info.value.details["errors"]
    assert errors == [
        {
            "path": ["points", 1, "x"],
            "field": "points[1].x",
            "message": "'far' is not of type 'number'",
        }
    ]


def test_optional_argument_reports_the_real_type(specs):
    with pytest.raises(InvalidRequest) as info:
        specs["stats"].validate({"points": [{"x": 1}], "scale": "big"})
    assert info.value.details["errors"][0]["message"] == "'big' is not of type 'number'"
    specs["stats"].validate({"points": [{"x": 1}], "scale": None})


def test_enum_and_min_items(specs):
    with pytest.raises(InvalidRequest) as info:
        specs["greet"].validate({"name": "Ada", "style": "whisper"})
    assert info.value.details["errors"][0]["path"] == ["style"]
    with pytest.raises(InvalidRequest) as info:
        specs["stats"].validate({"points": []})
    assert "points" in info.value.message


def test_dates_are_checked():
    spec = specs_from_api_info(
        {
            "functions": [
                {
                    "name": "span",
                    "rpc_schema": {
                        "type": "object",
                        "properties": {
                            "func_name": {"const": "span"},
                            "day": {"type": "string", "format": "date"},
                            "at": {"type": "string", "format": "date-time"},
                        },
                    },
                    "return_schema": {"type": "integer"},
                }
            ]
        }
    )["span"]
    spec.validate({"day": "2026-11-23", "at": "2026-11-23T10:00"})  # a browser's datetime-local
    spec.validate({"at": "2026-11-23T10:00:00Z"})
    with pytest.raises(InvalidRequest) as info:
        spec.validate({"day": "23.11.2026"})
    assert info.value.details["errors"][0]["path"] == ["day"]


def test_table_is_escaped():
    bundle = mime_bundle(
        [{"name": "<script>alert(1)</script>", "value": 1}, {"name": "b", "value": None}]
    )
    html = bundle["text/html"]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count("<tr>") == 3
    assert "application/json" not in bundle  # Lab would rank a JSON tree above the table


def test_rich_kinds_follow_content_media_type():
    png = mime_bundle(
        "iVBORw0KGgo=",
        {"type": "string", "contentEncoding": "base64", "contentMediaType": "image/png"},
    )
    assert png["image/png"] == "iVBORw0KGgo="
    chart = {"mark": "bar", "data": {"values": []}}
    bundle = mime_bundle(
        chart, {"type": "object", "contentMediaType": "application/vnd.vegalite.v5+json"}
    )
    assert bundle["application/vnd.vegalite.v5+json"] == chart
    assert mime_bundle(3.5) == {"text/plain": "3.5"}
    assert mime_bundle("text") == {"text/plain": "text"}
    assert mime_bundle(None) == {"text/plain": "None"}
    assert mime_bundle({"a": [1, 2]})["application/json"] == {"a": [1, 2]}

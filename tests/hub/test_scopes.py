"""The permission split through the hub's scopes: a token that may read and write alice's
server but not run code on it (JupyterHub's custom ``custom:jupyter_server`` scopes, checked
by jupyter_rpc.hub.GranularHubAuthorizer) gets 403 ``auth.forbidden`` for a call and a job
submission, and nothing runs; reads and file writes work."""

from __future__ import annotations

import pathlib
import time

from tests.hub.conftest import Client, Hub

READ_WRITE = ["access:servers!user=alice", "custom:jupyter_server:write:*!user=alice"]


def assert_forbidden(status: int, answer: object, action: str) -> None:
    assert status == 403, (status, answer)
    assert isinstance(answer, dict) and answer["code"] == "auth.forbidden", answer
    assert f"'{action}' permission" in answer["message"], answer


def test_a_read_write_token_runs_nothing(hub: Hub, alice: str) -> None:
    full = Client(alice, hub.user_token("alice"))
    scoped = Client(alice, hub.user_token("alice", READ_WRITE))
    status, before = full("GET", "calls")
    assert status == 200

    status, answer = scoped(
        "POST", "backends", "examples", "calls", body={"function": "add", "arguments": {"a": 1}}
    )
    assert_forbidden(status, answer, "execute")
    marker = pathlib.Path("/home/alice/ran-with-a-read-write-token.txt")
    marker.unlink(missing_ok=True)
    job = {"script": f"#!/bin/sh\ntouch {marker}\n"}
    assert_forbidden(*scoped("POST", "clusters", "local", "jobs", body=job), "execute")
    assert_forbidden(*scoped("POST", "clusters", "local", "jobs", "test", body=job), "execute")
    time.sleep(1)
    assert not marker.exists()
    assert full("GET", "calls") == (200, before)

    # reads and file writes work with it
    status, answer = scoped("GET", "backends")
    assert status == 200 and answer["backends"], answer
    save = {"type": "file", "format": "text", "content": "saved\n"}
    status, answer = scoped("PUT", "clusters", "local", "files", "home/scoped.txt", body=save)
    assert status == 200, answer
    saved = pathlib.Path("/home/alice/scoped.txt")
    assert saved.read_text() == "saved\n" and saved.owner() == "alice"
    assert scoped("DELETE", "clusters", "local", "files", "home/scoped.txt")[0] == 204

    # a read-only token cannot write either; the owner's full token may run code
    read_only = Client(
        alice,
        hub.user_token(
            "alice", ["access:servers!user=alice", "custom:jupyter_server:read:*!user=alice"]
        ),
    )
    assert_forbidden(
        *read_only("PUT", "clusters", "local", "files", "home/scoped.txt", body=save), "write"
    )
    status, answer = full(
        "POST",
        "backends",
        "examples",
        "calls",
        body={"function": "add", "arguments": {"a": 1}, "wait": 30},
    )
    assert status in (200, 201) and answer["state"] == "succeeded" and answer["result"] == 2, answer

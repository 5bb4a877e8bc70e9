"""Keyboard-interactive logins (password, then a one-time code) through the REST API.

The OpenSSH test bed cannot send such prompts (no PAM), so the SSH server here is
asyncssh's own: it asks for a password and then, in a second round, a "Verification
code:" shown while typed, like sites with a password and an OTP. It listens on
127.0.0.1 on a free port, in its own thread and event loop, with a host key made for the
test, serves SFTP from the real file system, and is stopped by the fixture that started it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
import pytest

USER = "alice"


@dataclass
class KbdIntServer:
    port: int
    known_hosts: str
    password: str
    code: str
    challenges: list[str] = field(default_factory=list)  # the prompts the server sent, in order


class _TwoRounds(asyncssh.SSHServer):
    """Password first, then a verification code; anything else is refused."""

    def __init__(self, bed: KbdIntServer, conns: list[asyncssh.SSHServerConnection]) -> None:
        self._bed = bed
        self._conns = conns
        self._round = 0

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conns.append(conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def kbdint_auth_supported(self) -> bool:
        return True

    def get_kbdint_challenge(self, username: str, lang: str, submethods: str) -> Any:
        self._round = 1
        self._bed.challenges.append("Password:")
        return "", "", "", [("Password:", False)]

    def validate_kbdint_response(self, username: str, responses: Any) -> Any:
        answers = list(responses)
        if username != USER or len(answers) != 1:
            return False
        if self._round == 1:
            if answers[0] != self._bed.password:
                return False
            self._round = 2
            self._bed.challenges.append("Verification code:")
            return (
                "",
                "Enter the code from your authenticator app.",
                "",
                [("Verification code:", True)],
            )
        return self._round == 2 and answers[0] == self._bed.code


@pytest.fixture
def kbdint_server(tmp_path: Path) -> Iterator[KbdIntServer]:
    """asyncssh's SSH server on 127.0.0.1 in a thread of its own; stopped at the end."""
    loop = asyncio.new_event_loop()
    conns: list[asyncssh.SSHServerConnection] = []
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    bed = KbdIntServer(
        0, str(tmp_path / "known_hosts"), "pw-" + secrets.token_hex(8), secrets.token_hex(4)
    )

    async def start() -> asyncssh.SSHAcceptor:
        return await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[host_key],
            server_factory=lambda: _TwoRounds(bed, conns),
            sftp_factory=True,
            login_timeout=60,
        )

    acceptor = loop.run_until_complete(start())
    bed.port = acceptor.get_port()
    public = host_key.export_public_key("openssh").decode().split()[:2]
    Path(bed.known_hosts).write_text(f"[127.0.0.1]:{bed.port} {public[0]} {public[1]}\n")
    thread = threading.Thread(target=loop.run_forever, name="kbdint sshd", daemon=True)
    thread.start()
    try:
        yield bed
    finally:

        async def stop() -> None:
            acceptor.close()
            await acceptor.wait_closed()
            for conn in conns:
                conn.close()
            await asyncio.gather(*(c.wait_closed() for c in conns))

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    # not tmp_path / "home": that is pytest-jupyter's HOME of the server (jp_home_dir),
    # where the server's own tools may write (IPython's ~/.ipython)
    root = tmp_path / "remote-home"
    (root / "results").mkdir(parents=True)
    (root / "notes.txt").write_text("remote notes\n")
    return root


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], kbdint_server: KbdIntServer, home: Path, tmp_path: Path
) -> dict[str, Any]:
    return {
        **jp_server_config,
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {
                "otp": {
                    "host": "127.0.0.1",
                    "port": kbdint_server.port,
                    "user": USER,
                    "known_hosts": kbdint_server.known_hosts,
                    "ssh_config": False,
                    "agent": False,
                    "scheduler": "none",
                    "roots": {"home": str(home)},
                },
            },
            "state_dir": str(tmp_path / "state"),
        },
    }


def _prompt_of(status: int, err: dict[str, Any]) -> dict[str, Any]:
    assert status == 428 and err["code"] == "ssh.auth_required", (status, err)
    return err["details"]["prompt"]


async def test_password_then_code_through_the_api(rpc, kbdint_server, home, caplog):
    caplog.set_level(logging.DEBUG)
    seen: list[Any] = []

    async def call(*args: Any, **kwargs: Any) -> tuple[int, Any]:
        answer = await rpc(*args, **kwargs)
        seen.append(answer)
        return answer

    # The first round: the password, typed hidden.
    first = _prompt_of(*await call("POST", "clusters", "otp", "connect", body={}))
    assert [(p["prompt"], p["echo"]) for p in first["prompts"]] == [("Password:", False)]
    status, cluster = await call("GET", "clusters", "otp")
    assert status == 200 and cluster["state"] == "auth_required" and cluster["prompt"] == first

    # The second round: the code, shown while typed, with the server's instructions.
    second = _prompt_of(
        *await call(
            "POST",
            "clusters",
            "otp",
            "auth",
            body={"prompt_id": first["id"], "responses": [kbdint_server.password]},
        )
    )
    assert second["id"] != first["id"]
    assert [(p["prompt"], p["echo"]) for p in second["prompts"]] == [("Verification code:", True)]
    assert second["instructions"] == "Enter the code from your authenticator app."
    status, cluster = await call("GET", "clusters", "otp")
    assert cluster["state"] == "auth_required" and cluster["prompt"]["id"] == second["id"]

    # The first prompt was answered: answering it again is refused, nothing is sent.
    status, err = await call(
        "POST",
        "clusters",
        "otp",
        "auth",
        body={"prompt_id": first["id"], "responses": [kbdint_server.password]},
    )
    assert status == 409 and err["code"] == "ssh.prompt_expired", err

    status, cluster = await call(
        "POST",
        "clusters",
        "otp",
        "auth",
        body={"prompt_id": second["id"], "responses": [kbdint_server.code]},
    )
    assert status == 200 and cluster["state"] == "connected", cluster
    assert cluster["prompt"] is None and cluster["user"] == USER
    assert kbdint_server.challenges == ["Password:", "Verification code:"]

    status, listing = await call("GET", "clusters", "otp", "files", "home")
    assert status == 200, listing
    assert sorted(e["name"] for e in listing["content"]) == ["notes.txt", "results"]
    status, text = await call("GET", "clusters", "otp", "files", "home/notes.txt")
    assert status == 200 and text["content"] == "remote notes\n"

    _no_secret(seen, caplog, kbdint_server.password, kbdint_server.code)


async def test_a_wrong_code_is_refused_clearly(rpc, kbdint_server, home, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-" + secrets.token_hex(4)
    seen: list[Any] = []

    async def call(*args: Any, **kwargs: Any) -> tuple[int, Any]:
        answer = await rpc(*args, **kwargs)
        seen.append(answer)
        return answer

    async def both_rounds(
        prompt: dict[str, Any], code: str
    ) -> tuple[dict[str, Any], tuple[int, Any]]:
        second = _prompt_of(
            *await call(
                "POST",
                "clusters",
                "otp",
                "auth",
                body={"prompt_id": prompt["id"], "responses": [kbdint_server.password]},
            )
        )
        assert [p["prompt"] for p in second["prompts"]] == ["Verification code:"]
        return second, await call(
            "POST", "clusters", "otp", "auth", body={"prompt_id": second["id"], "responses": [code]}
        )

    first = _prompt_of(*await call("POST", "clusters", "otp", "connect", body={}))
    assert "not accepted" not in first["instructions"]
    second, (status, answer) = await both_rounds(first, wrong)
    # The server starts over: the user is asked again and told why.
    again = _prompt_of(status, answer)
    assert again["id"] not in (first["id"], second["id"])
    assert [p["prompt"] for p in again["prompts"]] == ["Password:"]
    assert again["instructions"].startswith("The answers were not accepted."), again
    status, cluster = await call("GET", "clusters", "otp")
    assert cluster["state"] == "auth_required" and cluster["prompt"]["id"] == again["id"]
    # The refused code's prompt is gone.
    status, err = await call(
        "POST",
        "clusters",
        "otp",
        "auth",
        body={"prompt_id": second["id"], "responses": [kbdint_server.code]},
    )
    assert status == 409 and err["code"] == "ssh.prompt_expired", err

    # Three refused attempts end the login with an error that says so.
    _, (status, answer) = await both_rounds(again, wrong)
    third = _prompt_of(status, answer)
    assert third["instructions"].startswith("The answers were not accepted.")
    _, (status, err) = await both_rounds(third, wrong)
    assert status == 502 and err["code"] == "ssh.auth_failed", err
    assert "refused the login" in err["message"]
    status, cluster = await call("GET", "clusters", "otp")
    assert cluster["state"] == "error" and cluster["error"]["code"] == "ssh.auth_failed"
    assert kbdint_server.challenges == ["Password:", "Verification code:"] * 3

    # Connecting again starts a new login, which the right code completes.
    fresh = _prompt_of(*await call("POST", "clusters", "otp", "connect", body={}))
    assert "not accepted" not in fresh["instructions"]
    _, (status, cluster) = await both_rounds(fresh, kbdint_server.code)
    assert status == 200 and cluster["state"] == "connected", cluster
    status, listing = await call("GET", "clusters", "otp", "files", "home")
    assert status == 200 and sorted(e["name"] for e in listing["content"]) == [
        "notes.txt",
        "results",
    ]

    _no_secret(seen, caplog, kbdint_server.password, kbdint_server.code, wrong)


def _no_secret(answers: list[Any], caplog: pytest.LogCaptureFixture, *secret_values: str) -> None:
    """No answer of the API and no log line (of any level) carries a password or a code."""
    assert caplog.records, "nothing was logged: the check below would prove nothing"
    text = json.dumps(answers) + "\n".join(r.getMessage() for r in caplog.records)
    for value in secret_values:
        assert value not in text

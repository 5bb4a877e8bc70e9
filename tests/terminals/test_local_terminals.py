"""Terminals of the local cluster through a real Jupyter server: a login shell on a PTY
of this machine, in the folder asked for, without the server's secrets, reattached
with its scrollback, ended by DELETE and by the server stopping."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError
from traitlets import List, Unicode

from tests.terminals.conftest import pid_alive, wait_gone


class GrantingAuthorizer(Authorizer):
    """Grants the configured actions, nothing else."""

    granted = List(Unicode(), config=True)

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return action in self.granted


@pytest.fixture
def granted() -> list[str]:
    return ["read", "write", "execute"]


@pytest.fixture
def settings() -> dict[str, Any]:
    """RPCApp settings of the test (parametrized)."""
    return {}


@pytest.fixture
def shell() -> str:
    """The user's login shell ($SHELL) of the test (parametrized)."""
    return "/bin/bash"


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    home: pathlib.Path,
    with_local_cluster: Any,
    granted: list[str],
    settings: dict[str, Any],
    shell: str,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    monkeypatch.setenv("SHELL", shell)
    monkeypatch.setenv("MY_SECRET_TOKEN", "s3cr3t-terminal")
    monkeypatch.setenv("JUPYTER_TOKEN", "the-servers-token")
    config = with_local_cluster(jp_server_config, home, **settings)
    config["ServerApp"] = {**config["ServerApp"], "authorizer_class": GrantingAuthorizer}
    config["GrantingAuthorizer"] = {"granted": granted}
    return config


async def open_terminal(rpc: Any, **body: Any) -> dict[str, Any]:
    status, model = await rpc("POST", "clusters", "local", "terminals", body=body)
    assert status == 201, model
    return model  # type: ignore[no-any-return]


async def test_echo_cwd_size_and_no_secrets(rpc: Any, term_ws: Any, home: pathlib.Path) -> None:
    model = await open_terminal(rpc, cwd="home/data")
    assert model["cwd"] == "home/data" and model["cluster"] == "local"
    term = await term_ws("local", model["name"])
    await term.send("echo $((6*7))\r")
    await term.expect(r"[\r\n]42\r?\n")
    assert term.kinds[0] == "setup"  # JupyterLab's connection waits for it
    assert (await term.run("pwd")).strip() == str((home / "data").resolve())
    assert (await term.run("echo $TERM")).strip() == "xterm-256color"
    env = await term.run('echo "[$MY_SECRET_TOKEN][$JUPYTER_TOKEN]"')
    assert env.strip() == "[][]", env
    await term.set_size(40, 132)
    assert (await term.run("tput cols; tput lines")).split() == ["132", "40"]
    # UTF-8 both ways
    assert (await term.run("echo héllo ✓ 日本")).strip() == "héllo ✓ 日本"


async def test_ctrl_c_stops_a_foreground_command(rpc: Any, term_ws: Any) -> None:
    term = await term_ws("local", (await open_terminal(rpc))["name"])
    await term.send("sleep 100\r")
    await asyncio.sleep(0.3)
    await term.send("\x03")
    await term.send("echo status=$?\r")
    await term.expect(r"[\r\n]status=130\r?\n", timeout=3)


async def test_reattach_same_shell_with_its_output(rpc: Any, term_ws: Any) -> None:
    name = (await open_terminal(rpc))["name"]
    first = await term_ws("local", name)
    pid = (await first.run("echo $$")).strip()
    await first.run("echo remember-$((1000+337))")
    first.close()
    await asyncio.sleep(0.2)
    status, listing = await rpc("GET", "clusters", "local", "terminals")
    assert status == 200 and [t["name"] for t in listing["terminals"]] == [name]
    again = await term_ws("local", name)
    await again.expect("remember-1337")  # the scrollback, replayed
    assert (await again.run("echo $$")).strip() == pid


async def test_delete_ends_the_shell_and_its_jobs(rpc: Any, term_ws: Any) -> None:
    name = (await open_terminal(rpc))["name"]
    term = await term_ws("local", name)
    shell = int((await term.run("echo $$")).strip())
    job = int((await term.run("sleep 300 & echo $!")).strip().splitlines()[-1])
    status, _ = await rpc("DELETE", "clusters", "local", "terminals", name)
    assert status == 204
    assert await wait_gone([shell, job], 5.0) == []
    status, err = await rpc("GET", "clusters", "local", "terminals", name)
    assert status == 404 and err["code"] == "terminal.not_found", err
    with pytest.raises(HTTPClientError) as info:
        await term_ws("local", name)
    assert info.value.code == 404


@pytest.mark.parametrize("shell", ["/bin/sh"])
async def test_delete_ends_a_job_the_shell_does_not_hang_up(rpc: Any, term_ws: Any) -> None:
    """A shell that does not pass the hang-up on to its jobs (dash, Debian's /bin/sh: each
    job in a process group of its own): the job still ends with the terminal, like
    everything else in the shell's session."""
    name = (await open_terminal(rpc))["name"]
    term = await term_ws("local", name)
    shell = int((await term.run("echo $$")).strip())
    job = int((await term.run("sleep 300 & echo $!")).strip().splitlines()[-1])
    assert os.getpgid(job) != shell, "the job is in the shell's group: nothing to test"
    status, _ = await rpc("DELETE", "clusters", "local", "terminals", name)
    assert status == 204
    assert await wait_gone([shell, job], 5.0) == []


async def test_exit_ends_the_terminal(rpc: Any, term_ws: Any) -> None:
    name = (await open_terminal(rpc))["name"]
    term = await term_ws("local", name)
    await term.run("true")
    await term.send("exit\r")
    await term.wait_disconnected(5)
    assert term.disconnected
    await asyncio.sleep(0.2)
    status, listing = await rpc("GET", "clusters", "local", "terminals")
    assert listing["terminals"] == []


async def test_a_missing_folder_and_an_unknown_terminal(rpc: Any) -> None:
    status, err = await rpc("POST", "clusters", "local", "terminals", body={"cwd": "home/nope"})
    assert status == 404 and err["code"] == "files.not_found", err
    status, err = await rpc(
        "POST", "clusters", "local", "terminals", body={"cwd": "home/data/notes.txt"}
    )
    assert status == 400 and "not a folder" in err["message"], err
    status, err = await rpc("DELETE", "clusters", "local", "terminals", "nope")
    assert status == 404 and err["code"] == "terminal.not_found", err


@pytest.mark.parametrize("granted", [["read", "write"]])
async def test_without_execute_no_terminal(rpc: Any, jp_ws_fetch: Any, home: pathlib.Path) -> None:
    status, err = await rpc("POST", "clusters", "local", "terminals", body={})
    assert status == 403 and err["code"] == "auth.forbidden", err
    assert "'execute' permission" in err["message"]
    with pytest.raises(HTTPClientError) as info:
        await jp_ws_fetch("jupyter-rpc", "clusters", "local", "terminals", "x", "websocket")
    assert info.value.code == 403
    status, listing = await rpc("GET", "clusters", "local", "terminals")
    assert status == 200 and listing == {"terminals": []}


async def test_server_stop_ends_every_shell(jp_serverapp: Any, rpc: Any, term_ws: Any) -> None:
    pids = []
    for _ in range(3):
        term = await term_ws("local", (await open_terminal(rpc))["name"])
        pids.append(int((await term.run("echo $$")).strip()))
    app = jp_serverapp.extension_manager.extension_apps["jupyter_rpc"]
    [rpc_app] = list(app)
    await rpc_app.stop_extension()
    assert await wait_gone(pids, 5.0) == []


@pytest.mark.parametrize("settings", [{"terminal_idle_timeout": 0.5}])
async def test_an_idle_terminal_ends(rpc: Any, term_ws: Any) -> None:
    """No browser attached and no input or output for terminal_idle_timeout: it ends."""
    name = (await open_terminal(rpc))["name"]
    term = await term_ws("local", name)
    shell = int((await term.run("echo $$")).strip())
    term.close()  # the tab went away (the browser closed) and the shell stays quiet
    assert await wait_gone([shell], 5.0) == []
    status, listing = await rpc("GET", "clusters", "local", "terminals")
    assert listing["terminals"] == []


@pytest.mark.parametrize("settings", [{"terminal_idle_timeout": 0.5}])
async def test_an_attached_quiet_terminal_is_not_idle(rpc: Any, term_ws: Any) -> None:
    """The idle timeout ends forgotten terminals, not one a browser shows: a user reading
    a quiet terminal keeps it (as Jupyter keeps connected kernels, cull_connected False).
    Once the last browser detaches the idle time counts, and it ends."""
    name = (await open_terminal(rpc))["name"]
    term = await term_ws("local", name)
    shell = int((await term.run("echo $$")).strip())
    await asyncio.sleep(2.0)  # four timeouts without input or output, a browser attached
    assert pid_alive(shell), "an attached terminal was ended as idle"
    assert (await term.run("echo $$")).strip() == str(shell)
    status, model = await rpc("GET", "clusters", "local", "terminals", name)
    assert status == 200 and model["clients"] == 1, model
    term.close()
    assert await wait_gone([shell], 5.0) == []
    status, listing = await rpc("GET", "clusters", "local", "terminals")
    assert listing["terminals"] == []


@pytest.mark.parametrize("settings", [{"max_terminals": 2}])
async def test_at_most_max_terminals(rpc: Any) -> None:
    names = [(await open_terminal(rpc))["name"] for _ in range(2)]
    status, err = await rpc("POST", "clusters", "local", "terminals", body={})
    assert status == 409 and err["code"] == "terminal.too_many", err
    assert "RPCApp.max_terminals = 2" in err["message"]
    await rpc("DELETE", "clusters", "local", "terminals", names[0])
    await open_terminal(rpc)


@pytest.mark.parametrize("settings", [{"terminal_scrollback": 2000}])
async def test_the_scrollback_is_bounded(rpc: Any, term_ws: Any) -> None:
    name = (await open_terminal(rpc))["name"]
    first = await term_ws("local", name)
    await first.run("for i in $(seq 1000 1999); do echo line$i; done")
    first.close()
    await asyncio.sleep(0.2)
    again = await term_ws("local", name)
    await again.expect("line1999")
    assert len(again.screen.encode()) <= 2000
    assert "line1000" not in again.screen


async def test_output_waits_for_a_slow_browser(jp_serverapp: Any, rpc: Any, term_ws: Any) -> None:
    """A browser that does not read holds the shell's output back (the shell blocks on
    its writes) instead of the server buffering it: 20 MB printed, a few MB taken."""
    name = (await open_terminal(rpc))["name"]
    term = await term_ws("local", name)
    await term.run("true")
    await term.stop_reading()
    await term.send("head -c 20000000 /dev/zero | tr '\\0' a; echo; echo done-$((1+1))\r")
    await asyncio.sleep(3)  # not reading
    [app] = list(jp_serverapp.extension_manager.extension_apps["jupyter_rpc"])
    terminal = app.services.terminals.get("local", name)
    held = terminal.output_bytes
    print("printed while the browser did not read:", held)
    assert held < 12_000_000, held
    tail, received = "", 0  # reading again: all of it arrives
    while "done-2" not in tail:
        message = json.loads(await asyncio.wait_for(term.ws.read_message(), 30))
        if message[0] == "stdout":
            received += len(message[1])
            tail = (tail + message[1])[-200:]
    assert terminal.output_bytes > 20_000_000 and received > 20_000_000 - held


async def test_another_sites_page_cannot_attach_with_the_login_cookie(
    rpc: Any, jp_serverapp: Any, http_server_client: Any, jp_base_url: str, jp_http_port: int
) -> None:
    """Cross-site websocket hijacking: a page of another origin in the user's browser
    sends the login cookie; the socket is refused (the same page's socket is not)."""
    from urllib.parse import urlencode

    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.websocket import websocket_connect

    name = (await open_terminal(rpc))["name"]
    base = f"127.0.0.1:{jp_http_port}{jp_base_url}"
    client = AsyncHTTPClient()
    login = await client.fetch(f"http://{base}login")
    xsrf = next(
        c.split(";")[0] for c in login.headers.get_list("Set-Cookie") if c.startswith("_xsrf=")
    )
    answer = await client.fetch(
        f"http://{base}login",
        method="POST",
        body=urlencode(
            {"password": jp_serverapp.identity_provider.token, "_xsrf": xsrf.split("=", 1)[1]}
        ),
        headers={"Cookie": xsrf},
        follow_redirects=False,
        raise_error=False,
    )
    cookies = "; ".join(c.split(";")[0] for c in answer.headers.get_list("Set-Cookie") if "=" in c)
    assert "username-" in cookies, (answer.code, cookies)
    url = f"ws://{base}jupyter-rpc/clusters/local/terminals/{name}/websocket"

    def request(origin: str) -> HTTPRequest:
        return HTTPRequest(url, headers={"Cookie": f"{cookies}; {xsrf}", "Origin": origin})

    with pytest.raises(HTTPClientError) as info:
        await websocket_connect(request("http://evil.example"))
    assert info.value.code == 403
    ws = await websocket_connect(request(f"http://127.0.0.1:{jp_http_port}"))
    assert json.loads(await ws.read_message()) == ["setup", {}]
    ws.close()

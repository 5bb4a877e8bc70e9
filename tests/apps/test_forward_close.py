"""An app session's forward (jupyter_rpc/ssh/forward.py's ``Forward``) closes without
leaving an accepted connection open, over a real pooled SSH connection to the HPC test
bed.

A browser (or a websocket reconnecting) may connect to a session's forward just as it
closes (the session ends, its job is cancelled, the proxy lost the app). asyncio accepts
a connection in the listener's read callback and makes its transport in a task of its
own; a listener closed in between made that task fail and drop the transport unclosed,
so the accepted UNIX socket stayed open until a garbage collection ('ResourceWarning:
unclosed transport'), the race ``SocketForwards`` fixed for kernels."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import warnings

from jupyter_rpc.ssh import SSHPool, SSHTarget
from jupyter_rpc.ssh.forward import open_forward
from tests.fixtures.hpc import HPCTestbed, free_port


def unix_sockets() -> int:
    """This process's open UNIX sockets."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    with open("/proc/net/unix") as f:
        return sum(1 for line in f.readlines()[1:] if line.split()[6] in inodes)


def exists(path: str) -> bool:
    return os.path.exists(path)


def _target(tb: HPCTestbed) -> SSHTarget:
    return SSHTarget(
        "127.0.0.1",
        tb.port,
        tb.user,
        label="testbed",
        identity_files=(tb.key,),
        agent=False,
        config_files=(),
        known_hosts=(tb.known_hosts,),
        connect_timeout=10,
    )


async def test_closing_a_session_forward_while_clients_connect(hpc_testbed: HPCTestbed) -> None:
    target = _target(hpc_testbed)
    pool = SSHPool()
    dead = free_port()  # an app that just ended: each forwarded channel is refused
    try:
        forward = await open_forward(pool, target, host="127.0.0.1", port=dead)
        await forward.close()
        before = unix_sockets()
        folders = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            for _ in range(5):
                forward = await open_forward(pool, target, host="127.0.0.1", port=dead)
                folders.append(os.path.dirname(forward.path))
                clients = []
                for _ in range(10):  # a page's requests, queued in the listener's backlog
                    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    client.connect(forward.path)
                    clients.append(client)
                await asyncio.sleep(0)  # the loop accepts them (a task each makes the transport)
                await asyncio.sleep(0)
                await forward.close()  # the session ends
                assert not forward.alive
                for client in clients:
                    client.close()
            end = asyncio.get_running_loop().time() + 5
            while unix_sockets() > before:  # forwarded channels may take a moment to end
                assert asyncio.get_running_loop().time() < end, (
                    f"{unix_sockets() - before} accepted sockets still open 5 s after close"
                )
                await asyncio.sleep(0.1)
            gc.collect()
        unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
        assert not unclosed, unclosed
        assert not any(exists(folder) for folder in folders)  # 0700 folders removed
    finally:
        await pool.close()


async def test_a_closed_forward_still_carried_bytes(hpc_testbed: HPCTestbed) -> None:
    """The forward works until it closes, and closing twice is fine."""
    target = _target(hpc_testbed)
    pool = SSHPool()
    server = await asyncio.start_server(lambda r, w: (w.write(b"hello"), w.close()), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        forward = await open_forward(pool, target, host="127.0.0.1", port=port)
        reader, writer = await asyncio.open_unix_connection(forward.path)
        assert await asyncio.wait_for(reader.read(), 10) == b"hello"
        writer.close()
        await forward.close()
        await forward.close()
        assert not exists(forward.path)
    finally:
        server.close()
        await pool.close()

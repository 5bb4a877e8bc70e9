"""The local sockets of a kernel's forwards (jupyter_rpc/ssh/forward.py's SocketForwards)
over a real pooled SSH connection to the HPC test bed.

When a kernel is shut down, its server-side ZMQ sockets reconnect every 100 ms to the
forwards' UNIX sockets while the provisioner closes them. A connection asyncio had just
accepted when its listener closed was left open: asyncio makes the accepted socket's
transport in a task of its own, which finds the closed server, fails, and drops the
transport without closing it. The socket stayed open until the garbage collector found
it ('ResourceWarning: unclosed transport'); the five-kernels test failed the next test's
setup that way about one run in six."""

from __future__ import annotations

import asyncio
import gc
import os
import socket

from jupyter_rpc.ssh import SSHPool, SSHTarget
from jupyter_rpc.ssh.forward import open_socket_forwards
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
    count = 0
    with open("/proc/net/unix") as f:
        for line in f.readlines()[1:]:
            if line.split()[6] in inodes:
                count += 1
    return count


def exists(path: str) -> bool:
    return os.path.exists(path)


async def test_closing_while_clients_connect_leaves_no_socket_open(
    hpc_testbed: HPCTestbed,
) -> None:
    tb = hpc_testbed
    target = SSHTarget(
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
    pool = SSHPool()
    dead = [("127.0.0.1", free_port())] * 5  # as a kernel that just ended
    try:
        forwards = await open_socket_forwards(pool, target, dead)
        await forwards.close()
        before = unix_sockets()
        for _ in range(5):
            forwards = await open_socket_forwards(pool, target, dead)
            clients = []
            for i in range(1, 6):  # ZMQ reconnecting: queued in the listeners' backlog
                client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                client.connect(f"{forwards.prefix}-{i}")
                clients.append(client)
            await asyncio.sleep(0)  # the loop accepts them (a task each makes the transport)
            await asyncio.sleep(0)
            await forwards.close()  # the kernel's shutdown
            for client in clients:
                client.close()
        end = asyncio.get_running_loop().time() + 5
        while unix_sockets() > before:  # forwarded channels may take a moment to end
            assert asyncio.get_running_loop().time() < end, (
                f"{unix_sockets() - before} accepted sockets still open"
            )
            await asyncio.sleep(0.1)
        assert not exists(forwards.folder)  # the 0700 folder removed
        gc.collect()  # nothing left for the collector to find (the warning, before)
    finally:
        await pool.close()

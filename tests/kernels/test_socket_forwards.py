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
import pathlib
import socket
import tempfile

import pytest

from jupyter_rpc.ssh import SSHPool, SSHTarget
from jupyter_rpc.ssh.forward import open_forward, open_socket_forwards
from tests.fixtures.hpc import HPCTestbed, PrivateSSHD, free_port


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


async def test_forwards_listen_under_a_long_tmpdir(
    hpc_testbed: HPCTestbed, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server whose TMPDIR is long (CI's '/check/work/main/.ci-tmp/pytest-of-root/...')
    still gets its forwards: a UNIX socket's path holds 107 bytes, so the sockets go to a
    short private folder instead of failing with 'AF_UNIX path too long'."""
    tb = hpc_testbed
    long_tmp = tmp_path / ("t" * 60) / ("u" * 60)
    long_tmp.mkdir(parents=True)
    monkeypatch.setenv("TMPDIR", str(long_tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    assert len(tempfile.gettempdir()) > 120
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
    server = await asyncio.start_server(lambda r, w: (w.write(b"hello"), w.close()), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        forwards = await open_socket_forwards(pool, target, [("127.0.0.1", port)])
        try:
            path = f"{forwards.prefix}-1"
            assert len(path.encode()) < 108
            assert os.stat(forwards.folder).st_mode & 0o777 == 0o700
            reader, writer = await asyncio.open_unix_connection(path)
            assert await asyncio.wait_for(reader.read(), 10) == b"hello"
            writer.close()
        finally:
            await forwards.close()
        forward = await open_forward(pool, target, host="127.0.0.1", port=port)
        try:
            reader, writer = await asyncio.open_unix_connection(forward.path)
            assert await asyncio.wait_for(reader.read(), 10) == b"hello"
            writer.close()
        finally:
            await forward.close()
    finally:
        server.close()
        await pool.close()


async def test_requests_wait_for_the_subscriber_after_an_outage(
    private_sshd: PrivateSSHD,
) -> None:
    """After an outage a kernel's output was lost now and then: the ZMQ sockets reconnect
    each on its own 100 ms timer, and when the shell socket came back before the IOPub
    one, the cell ran and its output was published to nobody (CI saw a re-run cell answer
    'ok' with no stdout). The forwards listen again for everything but the shell first and
    open the shell's only when the connections the outage ended are back.

    Real ZMQ sockets in threads stand for the kernel (a ROUTER that publishes its output on
    a PUB before it replies, as ipykernel does) and for the server's client (a SUB read all
    the time, as jupyter_server's streams read it; it reconnects every second, as on a
    loaded machine, and its DEALER every 100 ms)."""
    import queue
    import threading

    import zmq

    target = SSHTarget(
        "127.0.0.1",
        private_sshd.port,
        private_sshd.testbed.user,
        label="flaky",
        identity_files=(private_sshd.testbed.key,),
        agent=False,
        config_files=(),
        known_hosts=(str(private_sshd.known_hosts),),
        connect_timeout=10,
    )
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    shell_port = router.bind_to_random_port("tcp://127.0.0.1")
    pub = ctx.socket(zmq.PUB)
    iopub_port = pub.bind_to_random_port("tcp://127.0.0.1")
    stop = threading.Event()

    def kernel() -> None:
        while not stop.is_set():
            if router.poll(50):
                ident, body = router.recv_multipart()
                pub.send(b"output of " + body)
                router.send_multipart([ident, b"reply to " + body])

    pool = SSHPool()
    remotes = [("127.0.0.1", shell_port), ("127.0.0.1", iopub_port)]
    forwards = await open_socket_forwards(pool, target, remotes)
    outputs: queue.Queue[bytes] = queue.Queue()

    def subscriber() -> None:
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.RECONNECT_IVL, 1000)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(f"ipc://{forwards.prefix}-2")
        while not stop.is_set():
            if sub.poll(50):
                outputs.put(sub.recv())
        sub.close(linger=0)

    threads = [threading.Thread(target=f, daemon=True) for f in (kernel, subscriber)]
    for thread in threads:
        thread.start()
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(f"ipc://{forwards.prefix}-1")

    def exchange(body: bytes) -> bytes | None:
        """The reply, and the output if the subscriber saw it within 3 s."""
        dealer.send(body)
        assert dealer.poll(15_000), f"no reply to {body!r}"
        assert dealer.recv() == b"reply to " + body
        try:
            return outputs.get(timeout=3)
        except queue.Empty:
            return None

    async def request(body: bytes) -> bytes | None:
        return await asyncio.to_thread(exchange, body)  # the loop serves the forwards

    try:
        n = 0
        while await request(b"%d" % n) is None:  # the subscription's first join
            n += 1
            assert n < 5, "the subscriber never joined"
        await asyncio.sleep(0.2)
        while not outputs.empty():  # outputs of requests whose wait timed out
            outputs.get()

        private_sshd.stop()
        end = asyncio.get_running_loop().time() + 10
        while forwards.alive:
            assert asyncio.get_running_loop().time() < end, "the forwards did not see the outage"
            await asyncio.sleep(0.05)
        private_sshd.start()
        await forwards.reopen(pool, target, remotes, hold=1)  # as the kernel's lease task does

        assert await request(b"after") == b"output of after", "the output was lost"
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        for sock in (dealer, router, pub):
            sock.close(linger=0)
        ctx.term()
        await forwards.close()
        await pool.close()

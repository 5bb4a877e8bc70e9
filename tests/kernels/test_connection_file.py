"""The connection file that ipykernel writes back (issue 20): jupyter_core's
``secure_write`` removes the file and creates it anew, so for a moment it is missing. A
provisioner that read it in that moment failed the start with "could not read the
kernel's connection file: No such file" (five kernels at once, on a busy CI machine).
Here a real sshd and SFTP on the test bed, and a writer on the bed's side that removes
and rewrites the file the same way while the provisioner waits for its ports."""

from __future__ import annotations

import asyncio
import json
import secrets

import asyncssh
import pytest

from jupyter_rpc.kernels.provisioner import CHANNELS, ClusterProvisioner, _Failed
from tests.fixtures.hpc import HPCTestbed

#: ipykernel's way: the file removed, then written whole with the ports
WRITER = """
d={folder}; f=$d/kernel.json
sleep 0.4
for i in 1 2 3 4 5; do
  rm -f "$f"; sleep 0.15
  echo '{{"shell_port": 0}}' >"$f"; sleep 0.05
done
rm -f "$f"; sleep 0.15
echo '{ports}' >"$f"
"""


async def _connect(tb: HPCTestbed) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        "127.0.0.1",
        port=tb.port,
        username=tb.user,
        client_keys=[tb.key],
        known_hosts=tb.known_hosts,
        config=None,
    )


async def test_a_connection_file_missing_for_a_moment_is_waited_for(
    hpc_testbed: HPCTestbed,
) -> None:
    ports = {f"{c}_port": 40000 + i for i, c in enumerate(CHANNELS)}
    folder = f".jupyter-rpc-test-{secrets.token_hex(4)}"
    async with await _connect(hpc_testbed) as conn:
        await conn.run(f"mkdir -p {folder}", check=True)
        try:
            async with conn.start_sftp_client() as sftp:
                writer = await conn.create_process(
                    WRITER.format(folder=folder, ports=json.dumps(ports))
                )
                got = await asyncio.wait_for(
                    ClusterProvisioner(cluster="tb")._wait_ports(sftp, folder), 30
                )
                await writer.wait()
            assert got == {c: 40000 + i for i, c in enumerate(CHANNELS)}
        finally:
            await conn.run(f"rm -rf {folder}")


async def test_a_connection_file_that_stays_missing_fails_with_its_reason(
    hpc_testbed: HPCTestbed,
) -> None:
    folder = f".jupyter-rpc-test-{secrets.token_hex(4)}"
    async with await _connect(hpc_testbed) as conn:
        await conn.run(f"mkdir -p {folder}", check=True)
        try:
            async with conn.start_sftp_client() as sftp:
                with pytest.raises(_Failed) as info:
                    await asyncio.wait_for(
                        ClusterProvisioner(cluster="tb")._wait_ports(sftp, folder), 30
                    )
            assert "could not read the kernel's connection file" in info.value.message
            assert "No such file" in info.value.message
        finally:
            await conn.run(f"rm -rf {folder}")

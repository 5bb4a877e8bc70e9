"""A cluster a user adds has its kernels at once (issue 20): its kernelspec appears when
it is added (before, only at the server's next start), its own kernel environment
(here ``kernel_python``) runs the kernel, and its kernelspec goes when it is removed. A
real Jupyter server and the HPC test bed's OpenSSH."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.hpc import HPCTestbed


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any], hpc_testbed: HPCTestbed, kernel_python: str, tmp_path: Any
) -> dict[str, Any]:
    return {
        **jp_server_config,
        "RPCApp": {**jp_server_config["RPCApp"], "state_dir": str(tmp_path / "state")},
    }


async def cluster_specs(api: Any) -> set[str]:
    _, answer = await api("GET", "kernelspecs")
    return {name for name in answer["kernelspecs"] if name.startswith("rpc-")}


async def test_a_users_own_cluster_gets_its_kernel_at_once(
    api: Any, rpc: Any, kernel_ws: Any, hpc_testbed: HPCTestbed, kernel_python: str
) -> None:
    tb = hpc_testbed
    body = {
        "name": "mine",
        "host": "127.0.0.1",
        "port": tb.port,
        "user": tb.user,
        "identity_file": tb.key,
        "kernel_python": kernel_python,
    }
    assert await cluster_specs(api) == set()
    status, answer = await rpc("POST", "clusters", body=body)
    assert status == 201, answer
    try:
        assert await cluster_specs(api) == {"rpc-mine"}
        status, err = await rpc("POST", "clusters", "mine", "connect", body={})
        if status == 428:  # its host key: trusted in the panel, as a user would
            fingerprint = err["details"]["fingerprint"]
            status, err = await rpc(
                "POST", "clusters", "mine", "trust", body={"fingerprint": fingerprint}
            )
        assert status == 200, err
        status, kernel = await api("POST", "kernels", body={"name": "rpc-mine"})
        assert status == 201, kernel
        try:
            ws = await kernel_ws(kernel["id"])
            out = await ws.execute("import getpass, sys; print(getpass.getuser(), sys.prefix)")
            user, prefix = out["stdout"].split()
            assert user == tb.user and prefix.endswith("/kenv"), out
            ws.close()
        finally:
            await api("DELETE", "kernels", kernel["id"])
    finally:
        status, answer = await rpc("DELETE", "clusters", "mine")
    assert status in (200, 204), answer
    assert await cluster_specs(api) == set()

"""The site's policy applies to kernels on clusters (issue 20): jupyter_server starts a
kernel without telling the provisioner who asked, so kernels follow the grant of the
server's owner (``$JUPYTERHUB_USER`` on a hub's single-user server). A real server whose
identity provider gives each request the user a header names, with hub-like groups (as
``jupyterhub.singleuser`` gives them); the owner is alice, in the group ``researchers``,
whose rule allows the cluster ``testbed`` with at most 1 CPU; bob, an admin in no rule,
opens her server."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any

import pytest
from jupyter_server.auth.identity import IdentityProvider, User

from tests.fixtures.hpc import HPCTestbed
from tests.kernels.conftest import kernel_folders, ssh_cluster

GROUPS = {"alice": ["researchers"], "bob": []}

POLICY = {
    "rules": [
        {
            "name": "researchers",
            "groups": ["researchers"],
            "clusters": ["testbed"],
            "submit": {"cpus": {"maximum": 1}},
        }
    ],
    "default": {"backends": [], "clusters": []},
}


class HubLikeUser(User):
    hub_user: dict[str, Any]


class HeaderIdentityProvider(IdentityProvider):
    """The token authenticates the request; ``X-Test-User`` says who it is."""

    async def get_user(self, handler: Any) -> Any:
        user = await super().get_user(handler)
        name = handler.request.headers.get("X-Test-User")
        if user is None or not name:
            return user
        hub_like = HubLikeUser(username=name)
        hub_like.hub_user = {"kind": "user", "name": name, "groups": GROUPS[name]}
        return hub_like


@pytest.fixture
def policy() -> dict[str, Any]:
    return POLICY


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    policy: dict[str, Any],
    hpc_testbed: HPCTestbed,
    kernel_python: str,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")  # the server is alice's
    profiles = {
        "debug": {"resources": {"partition": "debug", "time_limit": 5, "cpus": 1}},
        "big": {"resources": {"partition": "debug", "time_limit": 5, "cpus": 2}},
    }
    return {
        **jp_server_config,
        "ServerApp": {
            **jp_server_config["ServerApp"],
            "identity_provider_class": HeaderIdentityProvider,
        },
        "RPCApp": {
            **jp_server_config["RPCApp"],
            "clusters": {
                "testbed": ssh_cluster(
                    hpc_testbed,
                    scheduler="slurm",
                    kernel_python=kernel_python,
                    kernel_profiles=profiles,
                ),
                "other": ssh_cluster(hpc_testbed, kernel_python=kernel_python),
            },
            "state_dir": str(tmp_path / "state"),
            "policy": policy,
        },
    }


def kernel_jobs() -> str:
    done = subprocess.run(
        ["squeue", "-h", "-o", "%j"], capture_output=True, text=True, timeout=20, check=False
    )
    return done.stdout


async def cluster_specs(api: Any) -> set[str]:
    _, answer = await api("GET", "kernelspecs")
    return {name for name in answer["kernelspecs"] if name.startswith("rpc-")}


async def test_kernels_follow_the_owners_grant(
    api: Any, rpc: Any, kernel_ws: Any, hpc_testbed: HPCTestbed
) -> None:
    # before the owner's first request their groups are unknown: a start says so
    status, answer = await api("POST", "kernels", body={"name": "rpc-testbed"})
    assert status == 403, answer
    assert "groups of its owner alice" in answer["message"], answer
    assert "Open JupyterLab" in answer["message"], answer

    # an admin who opens alice's server does not change whose grant kernels follow
    status, _ = await rpc("GET", "clusters", headers={"X-Test-User": "bob"})
    assert status == 200
    status, answer = await api("POST", "kernels", body={"name": "rpc-testbed"})
    assert status == 403 and "groups of its owner alice" in answer["message"], answer

    # alice's own request: her rule's clusters only, in the kernelspecs too
    status, _ = await rpc("GET", "clusters", headers={"X-Test-User": "alice"})
    assert status == 200
    assert await cluster_specs(api) == {"rpc-testbed", "rpc-testbed-debug", "rpc-testbed-big"}

    # a profile asking for more than her rule allows: refused naming the rule and field,
    # and nothing submitted or left on the cluster
    folders = kernel_folders(hpc_testbed)
    status, answer = await api("POST", "kernels", body={"name": "rpc-testbed-big"})
    assert status == 403, answer
    message = answer["message"]
    assert "cpus of 2 (at most 1)" in message and "'researchers'" in message, message
    assert "rpc-kernel-big" not in kernel_jobs()
    assert kernel_folders(hpc_testbed) == folders

    # what the rule allows runs
    status, kernel = await api("POST", "kernels", body={"name": "rpc-testbed"})
    assert status == 201, kernel
    try:
        ws = await kernel_ws(kernel["id"])
        out = await ws.execute("print(6 * 7)")
        assert out["stdout"].strip() == "42", out
        ws.close()
    finally:
        await api("DELETE", "kernels", kernel["id"])
    await asyncio.sleep(0)


class TestUsersRules:
    """A policy whose rules name users only: the owner's name decides at once, before
    any request (the kernelspecs at start-up, a start)."""

    @pytest.fixture
    def policy(self) -> dict[str, Any]:
        return {
            "rules": [
                {
                    "name": "alice-rule",
                    "users": ["alice"],
                    "clusters": ["testbed"],
                    "submit": {"cpus": {"maximum": 1}},
                }
            ],
            "default": {"backends": [], "clusters": []},
        }

    async def test_the_owners_name_decides(self, api: Any, hpc_testbed: HPCTestbed) -> None:
        assert await cluster_specs(api) == {"rpc-testbed", "rpc-testbed-debug", "rpc-testbed-big"}
        status, answer = await api("POST", "kernels", body={"name": "rpc-other"})
        assert status >= 400, answer  # no such kernelspec (jupyter_server: 500)
        status, answer = await api("POST", "kernels", body={"name": "rpc-testbed-big"})
        assert status == 403, answer
        assert "'alice-rule'" in answer["message"], answer
        assert "rpc-kernel-big" not in kernel_jobs()


def test_without_a_hub_the_owner_is_the_servers_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """No hub: the owner is the account running the server, and with no hub's groups its
    name decides at once, even under a policy with group rules (before, such a server
    refused every cluster kernel waiting for groups that never come)."""
    import getpass

    from jupyter_rpc.policy import Policy
    from jupyter_rpc.services.kernels import KernelOwner

    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    me = getpass.getuser()
    policy = Policy(
        {
            "rules": [
                {"name": "researchers", "groups": ["researchers"], "clusters": "*"},
                {"name": "me", "users": [me], "clusters": ["testbed"]},
            ],
            "default": {"backends": [], "clusters": []},
        }
    )
    owner = KernelOwner(policy)
    assert owner.name == me and not owner.on_hub
    assert owner.grant is not None and owner.grant.rule == "me"
    assert owner.allows_cluster("testbed") and not owner.allows_cluster("other")
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    hub_owner = KernelOwner(policy)
    assert hub_owner.name == "alice" and hub_owner.grant is None  # groups from the hub

"""The user's values of a cluster's kernel profiles (issue 20): partition, hours, CPUs,
GPUs of a compute-node kernel, confirmed or changed in a dialog when the kernel starts.

JupyterLab asks jupyter_server for a kernel by its name alone (``POST /api/sessions``
carries no other value), and nbclient, papermill and ``jupyter execute`` ask the same
way with nobody to answer a dialog. So the values are kept, not passed: the front end
shows the profile's form before Lab's start request and stores what the user confirmed
(``PUT .../kernel-profiles/{profile}``); the provisioner reads them at the start. A start
without a dialog (a script, a notebook run headless) gets the values last confirmed, or
the profile's own. As Open OnDemand's interactive apps remember their form, the dialog
opens with the last values.

The form is the submit form's (:meth:`JobsService.submit_form`: the cluster's partitions
and limits, the site's overrides, the user's policy grant) narrowed to :data:`FIELDS`,
with the profile's resources as defaults. What is stored is checked as a job's values
are, so a stored value is always one the site allows; a value the site has forbidden
since is refused at the start, with the message.

Kept in ``<state_dir>/kernel-profiles.json`` (0600), ``{cluster: {profile: values}}``.
Plain Python, no tornado.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from ..errors import InvalidRequest, NotFound
from ..policy import EVERYTHING, Grant
from ..schedulers.base import JobSpec
from ..schedulers.forms import apply_overrides, check_spec
from .clusters import Cluster
from .jobs import JobsService

log = logging.getLogger(__name__)

#: The submit form's fields a user may choose for a kernel profile, in the dialog's order.
FIELDS = ("partition", "time_limit", "cpus", "memory_mb", "gpus", "account", "qos")


class KernelProfileValues:
    """The values a user confirmed for each kernel profile, kept in a 0600 file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, dict[str, dict[str, Any]]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("jupyter_rpc: cannot read %s: %s", self.path, exc)
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            c: {p: v for p, v in profiles.items() if isinstance(v, dict)}
            for c, profiles in data.items()
            if isinstance(profiles, dict)
        }

    def save(self, data: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
            f.flush()
            os.fsync(f.fileno())  # whole on disk before it replaces the old file
        os.replace(tmp, self.path)

    def get(self, cluster: str, profile: str) -> dict[str, Any]:
        """The stored values (only :data:`FIELDS`); ``{}`` when none."""
        stored = self.load().get(cluster, {}).get(profile, {})
        return {k: v for k, v in stored.items() if k in FIELDS}

    def set(self, cluster: str, profile: str, values: dict[str, Any] | None) -> None:
        """Store ``values`` (``None``: forget them, the profile's own apply again)."""
        data = self.load()
        if values is None:
            data.get(cluster, {}).pop(profile, None)
            if cluster in data and not data[cluster]:
                del data[cluster]
        else:
            data.setdefault(cluster, {})[profile] = values
        self.save(data)


def profile_of(cluster: Cluster, profile: str) -> dict[str, Any]:
    """The cluster's kernel profile ``profile`` (404 ``kernel.profile_unknown``)."""
    found = (cluster.config.get("kernel_profiles") or {}).get(profile)
    if not isinstance(found, dict):
        label = cluster.config.get("display_name") or cluster.name
        raise NotFound(
            f"Cluster {label} has no kernel profile {profile!r}.",
            code="kernel.profile_unknown",
            details={"cluster": cluster.name, "profile": profile},
        )
    return found


def resources(profile: dict[str, Any], chosen: dict[str, Any]) -> dict[str, Any]:
    """A kernel job's resources: the profile's, with the user's chosen :data:`FIELDS`
    over them (a field chosen empty falls back to the profile's; 0 GPUs asks for none)."""
    body = dict(profile.get("resources") or {})
    for key, value in chosen.items():
        if key in FIELDS and value is not None and value != "":
            body[key] = value
    if body.get("gpus") == 0:  # the form's "no GPUs": the schedulers take 1 and up
        del body["gpus"]
    return body


class KernelValuesService:
    """The kernel profiles' forms and the user's values (the REST routes' service)."""

    def __init__(self, jobs: JobsService, store: KernelProfileValues) -> None:
        self.jobs = jobs
        self.store = store

    async def form(
        self, cluster: Cluster, profile: str, grant: Grant = EVERYTHING
    ) -> dict[str, Any]:
        """The profile's form: ``schema`` and ``ui_schema`` (the submit form's
        :data:`FIELDS`, the profile's resources as defaults), the ``values`` the dialog
        opens with (the last confirmed ones, else the profile's), the ``defaults``."""
        entry = profile_of(cluster, profile)
        submit = await self.jobs.submit_form(cluster, grant)
        props = submit["schema"]["properties"]
        ui = submit["ui_schema"]
        defaults = {k: v for k, v in (entry.get("resources") or {}).items() if k in FIELDS}
        properties: dict[str, Any] = {}
        ui_schema: dict[str, Any] = {}
        for name in FIELDS:
            if name not in props:
                continue
            prop = copy.deepcopy(props[name])
            if name in defaults and "const" not in prop:
                prop["default"] = defaults[name]
            properties[name] = prop
            if name in ui:
                ui_schema[name] = ui[name]
        ui_schema["ui:order"] = [*properties, "*"]
        label = cluster.config.get("display_name") or cluster.name
        title = entry.get("display_name") or profile
        values = {
            k: v
            for k, v in resources(entry, self.store.get(cluster.name, profile)).items()
            if k in properties
        }
        return {
            "cluster": cluster.name,
            "profile": profile,
            "display_name": f"Python 3 on {label}, {title}",
            "schema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": title,
                "type": "object",
                "properties": properties,
                "additionalProperties": False,
            },
            "ui_schema": ui_schema,
            "values": values,
            "defaults": {k: v for k, v in defaults.items() if k in properties},
            "partitions": submit.get("partitions", []),
        }

    async def choose(
        self,
        cluster: Cluster,
        profile: str,
        values: dict[str, Any] | None,
        grant: Grant = EVERYTHING,
    ) -> dict[str, Any]:
        """Store ``values`` for the profile's next starts (``None``: forget them) after
        the checks a job's values get: the form's schema, the site's overrides, the
        user's grant, the partition's limits (400 ``job.invalid`` naming the field);
        the form with them."""
        entry = profile_of(cluster, profile)
        if values is None:
            self.store.set(cluster.name, profile, None)
            return await self.form(cluster, profile, grant)
        form = await self.form(cluster, profile, grant)
        chosen = {k: v for k, v in values.items() if v is not None and v != ""}
        props = form["schema"]["properties"]
        extra = sorted(set(chosen) - set(props))
        if extra:
            raise InvalidRequest(
                f"A kernel profile has no value {extra[0]!r} here (it has: {', '.join(props)}).",
                code="job.invalid",
                details={"field": extra[0]},
            )
        for problem in Draft202012Validator(form["schema"]).iter_errors(chosen):
            field = str(problem.path[0]) if problem.path else ""
            title = props.get(field, {}).get("title", field)
            raise InvalidRequest(
                f"{title}: {problem.message}.", code="job.invalid", details={"field": field}
            )
        body = resources(entry, chosen)
        grant.check_submit(body)
        overrides = grant.merged_submit(cluster.config.get("submit"))
        if overrides:
            body = apply_overrides(body, overrides)
        grant.check_submit(body)
        spec = JobSpec(**{k: v for k, v in body.items() if k in FIELDS})
        check_spec(spec, await cluster.partitions())
        self.store.set(cluster.name, profile, chosen)
        # the form just read, with the values kept (not a second round of the scheduler)
        kept = {k: v for k, v in resources(entry, chosen).items() if k in props}
        return {**form, "values": kept}


#: The keys of a kernel environment a user may set for a cluster (docs/kernels.md).
ENV_KEYS = ("kernel_python", "kernel_conda_env", "kernel_modules")


class KernelEnvService:
    """The user's own kernel environment per cluster: the Python, conda environment and
    modules their kernels there start with, over the cluster's (the site's, or a user
    cluster's config). A kernel profile's own keys still replace them: a site's GPU
    profile that loads CUDA's modules keeps them. Kept in ``<state_dir>/kernel-env.json``
    (0600), ``{cluster: {key: value}}``; each value is one shell word on the cluster (the
    provisioner quotes it once), checked by the cluster config's own schema."""

    def __init__(self, path: Path) -> None:
        self.store = KernelProfileValues(path)

    def yours(self, cluster: str) -> dict[str, Any]:
        """The user's keys for ``cluster`` (``{}``: the cluster's apply)."""
        stored = self.store.load().get(cluster, {}).get("env", {})
        return {k: v for k, v in stored.items() if k in ENV_KEYS}

    def config(self, cluster: Cluster) -> dict[str, Any]:
        """The cluster's config with the user's environment over it (what a kernel's
        environment is made from)."""
        return {**cluster.config, **self.yours(cluster.name)}

    def describe(self, cluster: Cluster) -> dict[str, Any]:
        """``{"cluster", "site", "yours", "effective"}``: the cluster's keys, the user's,
        and what a login-node kernel starts with (``python3`` when nothing is set)."""
        site = {k: cluster.config[k] for k in ENV_KEYS if cluster.config.get(k)}
        yours = self.yours(cluster.name)
        effective = {**site, **yours}
        effective.setdefault(
            "kernel_python", "python" if effective.get("kernel_conda_env") else "python3"
        )
        return {"cluster": cluster.name, "site": site, "yours": yours, "effective": effective}

    def choose(self, cluster: Cluster, values: dict[str, Any] | None) -> dict[str, Any]:
        """Keep the user's environment for ``cluster`` (``None`` or all empty: forget
        it); 400 ``request.invalid`` naming the key for a value the cluster config
        would refuse."""
        from .cluster_config import CLUSTER_CONFIG_SCHEMA

        chosen = {k: v for k, v in (values or {}).items() if v is not None and v != "" and v != []}
        schema = {
            "type": "object",
            "properties": {k: CLUSTER_CONFIG_SCHEMA["properties"][k] for k in ENV_KEYS},
            "additionalProperties": False,
        }
        for problem in Draft202012Validator(schema).iter_errors(chosen):
            key = (
                str(problem.path[0])
                if problem.path
                else next((k for k in chosen if k not in ENV_KEYS), "")
            )
            why = (
                "each value is one line, without control characters"
                if problem.validator == "pattern"
                else problem.message
            )
            raise InvalidRequest(
                f"The kernel environment's {key or 'value'}: {why}.",
                code="request.invalid",
                details={"field": key},
            )
        data = self.store.load()
        if chosen:
            data.setdefault(cluster.name, {})["env"] = chosen
        else:
            data.get(cluster.name, {}).pop("env", None)
            if cluster.name in data and not data[cluster.name]:
                del data[cluster.name]
        self.store.save(data)
        return self.describe(cluster)

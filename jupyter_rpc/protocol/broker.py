"""Talking to a DASF message broker: topic URLs, connection headers, fragments.

One copy, used by both ends: the Jupyter server's broker transport
(:mod:`jupyter_rpc.transports.broker`, a DASF client) and the runner that serves a module
on a broker (:mod:`jupyter_rpc.backend.broker`, a DASF backend). A runner and a server
given the same broker settings therefore meet on the same URLs with the same headers.
Pure functions: no tornado, no I/O.

Two URL layouts:

- dasf-broker-django: ``ws(s)://host[:port]/<prefix>/<topic>[/<subscription>]``; the
  base is its websocket root, ``ws://host:8000/ws`` (a bare ``ws://host:8000`` means
  ``/ws``, where dasf-broker-django serves).
- Apache Pulsar: ``ws(s)://host[:port]/ws/v2/{producer|consumer}/{persistent|non-persistent}
  /{tenant}/{namespace}/<topic>[/<subscription>]``, used when ``pulsar`` is given or the
  base contains ``/ws/v2``; anything after ``/ws/v2`` in the base (for example
  ``/ws/v2/producer/persistent/acme/hpc``) sets persistence, tenant and namespace
  (defaults ``non-persistent``, ``public``, ``default``, as demessaging's). Consumers ask
  for an ``Exclusive`` subscription (Pulsar's default, said explicitly as DASF's web
  client does).

``http(s)://`` is accepted for ``ws(s)://``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PRODUCER = "producer"
CONSUMER = "consumer"
#: Where Pulsar's websocket API lives.
PULSAR_ROOT = "/ws/v2"
#: Joins a response topic and a ``requestContext`` in the runner's keys (never in a topic).
TOPIC_SEP = "\x1f"
#: A consumer's subscription when none is given.
DEFAULT_SUBSCRIPTION = "jupyter-rpc"


def topic_url(
    base: str,
    topic: str,
    role: str,
    subscription: str | None = None,
    *,
    pulsar: bool | Mapping[str, Any] | None = None,
) -> str:
    """The websocket URL of ``topic`` for a producer or a consumer.

    Parameters
    ----------
    base
        The broker URL (see the module's docstring for both layouts).
    topic
        The topic name (no ``/``).
    role
        ``producer`` (publish to ``topic``) or ``consumer`` (read it).
    subscription
        The consumer's subscription name (default :data:`DEFAULT_SUBSCRIPTION`).
    pulsar
        Pulsar's layout: ``True``, or a mapping that overrides the base's ``tenant``,
        ``namespace`` and ``persistent`` (bool); ``None``: when ``base`` contains ``/ws/v2``.

    Raises
    ------
    ValueError
        For a URL that is not a websocket URL with a host, has a query or fragment, or
        names Pulsar segments that do not exist; a bad topic or role.

    Examples
    --------
    >>> topic_url("ws://127.0.0.1:8000/ws/", "demo", "consumer", "sub-1")
    'ws://127.0.0.1:8000/ws/demo/sub-1'
    >>> topic_url("ws://pulsar:8080", "demo", "producer", pulsar=True)
    'ws://pulsar:8080/ws/v2/producer/non-persistent/public/default/demo'
    """
    if role not in (PRODUCER, CONSUMER):
        raise ValueError(f"role must be {PRODUCER!r} or {CONSUMER!r}, not {role!r}")
    if not topic or "/" in topic or TOPIC_SEP in topic:
        raise ValueError(f"not a valid topic name: {topic!r}")
    parts = urlsplit(base.strip())
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme not in ("ws", "wss") or not parts.netloc:
        raise ValueError(
            f"a broker URL must start with ws:// or wss:// and name a host, not {base!r}"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"a broker URL must not have a query or fragment: {base!r}")
    path = parts.path.rstrip("/")
    tail = [topic] + ([subscription or DEFAULT_SUBSCRIPTION] if role == CONSUMER else [])
    if pulsar is None:
        pulsar = PULSAR_ROOT in path
    if pulsar is False:
        return urlunsplit((scheme, parts.netloc, f"{path or '/ws'}/" + "/".join(tail), "", ""))

    if PULSAR_ROOT in path:
        prefix, _, rest = path.partition(PULSAR_ROOT)
    else:
        prefix, rest = (path[: -len("/ws")] if path.endswith("/ws") else path), ""
    given = [p for p in rest.split("/") if p]
    if given and given[0] in (PRODUCER, CONSUMER, "reader"):
        given = given[1:]
    if len(given) > 3:
        raise ValueError(
            "a Pulsar broker URL ends at the namespace (…/ws/v2/<role>/<persistence>/"
            f"<tenant>/<namespace>), not {base!r}"
        )
    persistence, tenant, namespace = given + ["non-persistent", "public", "default"][len(given) :]
    if persistence not in ("persistent", "non-persistent"):
        raise ValueError(f"Pulsar topics are 'persistent' or 'non-persistent', not {persistence!r}")
    settings = pulsar if isinstance(pulsar, Mapping) else {}
    if settings.get("persistent") is not None:
        persistence = "persistent" if settings["persistent"] else "non-persistent"
    tenant = settings.get("tenant") or tenant
    namespace = settings.get("namespace") or namespace
    segments = [role, persistence, tenant, namespace, *tail]
    full = f"{prefix}{PULSAR_ROOT}/" + "/".join(segments)
    query = "subscriptionType=Exclusive" if role == CONSUMER else ""
    return urlunsplit((scheme, parts.netloc, full, query, ""))


def public_url(url: str) -> str:
    """``url`` without credentials or query, fit for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def authorization(token: str) -> str:
    """The ``Authorization`` value for a token: as given when it names its scheme (it has
    a space: ``Bearer …``, ``ApiKey …``), else ``Token <token>`` (dasf-broker-django's
    DRF tokens)."""
    token = token.strip()
    return token if " " in token else f"Token {token}"


def connect_headers(token: str | None) -> dict[str, str]:
    """The headers of a websocket connection to the broker."""
    headers = {"User-Agent": "jupyter_rpc"}
    if token:
        headers["Authorization"] = authorization(token)
    return headers


def _raw_length(b64: str) -> int:
    """The number of bytes a base64 text decodes to."""
    return len(b64) // 4 * 3 - (len(b64) - len(b64.rstrip("=")))


def fragment_message(msg: dict[str, Any], max_payload_size: int) -> list[dict[str, Any]]:
    """Split a message whose payload is too big, exactly as demessaging 0.6.4 does.

    When the payload's bytes (before base64) exceed ``max_payload_size``, the base64 text
    is cut into chunks of ``max_payload_size`` characters; each chunk becomes a copy of
    the message with integer properties ``fragment`` (0-based) and ``num_fragments``.
    A receiver concatenates the chunks in fragment order and decodes once.
    """
    payload = msg.get("payload") or ""
    if _raw_length(payload) <= max_payload_size:
        return [msg]
    count = math.ceil(len(payload) / max_payload_size)
    frames = []
    for index in range(count):
        props = dict(msg["properties"], fragment=index, num_fragments=count)
        chunk = payload[index * max_payload_size : (index + 1) * max_payload_size]
        frames.append({"properties": props, "context": msg.get("context", ""), "payload": chunk})
    return frames

"""How remote functions are reached: local processes, DASF message brokers, SSH channels.

Each is a :class:`Transport` (``base.py``) named in the transport registry
(``registry.py``: ours by one line each, other packages' by an entry point in the
``jupyter_rpc.transports`` group), which also holds the config schema of each.
"""

from .base import ProgressSink, Transport
from .broker import BrokerTransport
from .local import LocalTransport
from .ssh import SSHTransport

__all__ = ["BrokerTransport", "LocalTransport", "ProgressSink", "SSHTransport", "Transport"]

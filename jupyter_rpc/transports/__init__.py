"""How remote functions are reached: local processes, DASF message brokers, SSH channels."""

from .base import ProgressSink, Transport
from .broker import BrokerTransport
from .local import LocalTransport
from .ssh import SSHTransport

__all__ = ["BrokerTransport", "LocalTransport", "ProgressSink", "SSHTransport", "Transport"]

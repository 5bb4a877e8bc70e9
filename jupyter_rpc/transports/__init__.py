"""How remote functions are reached: local processes and DASF message brokers; SSH next."""

from .base import ProgressSink, Transport
from .broker import BrokerTransport
from .local import LocalTransport

__all__ = ["BrokerTransport", "LocalTransport", "ProgressSink", "Transport"]

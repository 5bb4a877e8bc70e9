"""How remote functions are reached: local processes now; SSH and DASF brokers next."""

from .base import ProgressSink, Transport
from .local import LocalTransport

__all__ = ["LocalTransport", "ProgressSink", "Transport"]

"""demessaging's view of part of ``jupyter_rpc/examples/demo.py`` (signatures only).

demessaging's client validates a request against a local module before sending it and
reads the answer with that module's return types, so calling a remote backend with
``python demo_api.py -t TOPIC --websocket-url URL send-request '{...}'`` needs a module
with the same signatures. The bodies never run here: the backend that answers is
jupyter_rpc's runner serving the real demo module through the broker.
"""

from typing import List

from demessaging import main

__all__ = ["add", "divide", "Accumulator"]


def add(a: int, b: int = 1) -> int:
    """Add two integers."""
    raise NotImplementedError("remote only")


def divide(a: float, b: float) -> float:
    """Divide ``a`` by ``b``."""
    raise NotImplementedError("remote only")


class Accumulator:
    """Sum numbers on top of a start value."""

    def __init__(self, start: float = 0.0):
        self.start = start

    def add_all(self, values: List[float]) -> float:
        """Add numbers to the start value."""
        raise NotImplementedError("remote only")

    def scaled(self, factor: float = 2.0) -> float:
        """Multiply the start value."""
        raise NotImplementedError("remote only")


if __name__ == "__main__":
    main(messaging_config={"topic": "demo"})

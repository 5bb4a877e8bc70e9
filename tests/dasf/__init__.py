"""The DASF test bed: a real dasf-broker-django, demessaging backends and clients.

:mod:`dasf.testbed` starts them (plain Python), :mod:`dasf.fixtures` wraps it for pytest.
"""

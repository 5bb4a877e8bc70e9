"""Example backend modules shipped with jupyter_rpc (see :mod:`jupyter_rpc.examples.demo`)."""

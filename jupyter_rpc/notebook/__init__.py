"""The notebook client, imported in a kernel: ``jupyter_rpc.connect`` (remote functions),
``jupyter_rpc.cluster`` (jobs and files) and their live displays.
"""

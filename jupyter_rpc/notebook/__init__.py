"""The notebook client, imported in a kernel: ``jupyter_rpc.connect`` (remote functions,
:mod:`.client`), ``jupyter_rpc.cluster`` (jobs and files, :mod:`.clusters`, with a job in
:mod:`.jobs`, a cluster's files in :mod:`.folders`, the tables a notebook shows in
:mod:`.tables` and the values people type in :mod:`.units`; workflow runs in
:mod:`.workflows`) and their live displays (:mod:`.display`).
"""

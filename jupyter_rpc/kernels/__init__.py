"""Notebook kernels on a cluster (issue 20): a jupyter_client kernel provisioner that
starts ipykernel on a cluster's login node or in a batch job (a kernel profile) over the
Jupyter server's pooled SSH connection (:mod:`.provisioner`), and one kernelspec per SSH
cluster and per kernel profile (:mod:`.specs`)."""

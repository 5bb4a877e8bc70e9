"""How batch jobs are submitted and watched: one interface, a local and a Slurm implementation."""

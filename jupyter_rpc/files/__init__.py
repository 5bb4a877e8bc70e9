"""A cluster's files: one interface, a local-folder and an SFTP implementation, and the
registry that maps a cluster's ``files`` name to one."""

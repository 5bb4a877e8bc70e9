"""A cluster's files: one interface, a local-folder and an SFTP implementation."""

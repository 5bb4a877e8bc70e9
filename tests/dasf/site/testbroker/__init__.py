"""A minimal Django project that serves dasf-broker-django for the tests (loopback only)."""

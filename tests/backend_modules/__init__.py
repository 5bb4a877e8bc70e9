"""Backend modules the tests serve (``faulty.py`` misbehaves on request)."""

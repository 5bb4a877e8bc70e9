"""Import a backend module from a dotted name or from a ``.py`` file."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["BackendError", "load_module", "looks_like_path"]


class BackendError(Exception):
    """The backend module cannot be loaded or described (a start-up problem)."""


def looks_like_path(target: str) -> bool:
    """Whether ``target`` names a file rather than a dotted module name."""
    separators = {"/", os.sep, os.altsep or "/"}
    return target.endswith(".py") or any(sep in target for sep in separators)


def load_module(target: str) -> tuple[ModuleType, str]:
    """Import the backend module ``target``.

    Parameters
    ----------
    target
        A dotted module name (``jupyter_rpc.examples.demo``), searched on ``sys.path``
        and then in the current folder, or the path of a ``.py`` file, whose folder is
        put first on ``sys.path`` (as ``python file.py`` does) so that it can import its
        neighbours.

    Returns
    -------
    module, name
        The module and the name it is published under (the dotted name, or the file
        name without ``.py``).

    Raises
    ------
    BackendError
        If there is no such file or module. Errors raised while the module itself runs
        propagate unchanged (with their traceback, which is what the author needs).
    """
    if looks_like_path(target):
        return _load_file(Path(target))
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)
    try:
        return importlib.import_module(target), target
    except ModuleNotFoundError as exc:
        if exc.name is not None and (target == exc.name or target.startswith(exc.name + ".")):
            raise BackendError(
                f"No module named '{target}'. Is it installed in this Python "
                f"({sys.executable}), or did you mean a path to a .py file?"
            ) from None
        raise


def _load_file(path: Path) -> tuple[ModuleType, str]:
    if not path.is_file():
        raise BackendError(f"No such Python file: {path}")
    path = path.resolve()
    name = path.stem
    if not name.isidentifier():
        raise BackendError(
            f"'{path.name}' cannot be imported: a module file name must be a Python "
            "identifier (letters, digits and underscores, not starting with a digit)."
        )
    module_name = name
    if module_name in sys.modules:
        # e.g. a file called "test.py": keep the published name, import it privately.
        module_name = f"_jupyter_rpc_backend_{name}"
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - .py files always have one
        raise BackendError(f"Cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module, name

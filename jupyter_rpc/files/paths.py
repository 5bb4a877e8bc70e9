"""Drive paths and real paths: the roots policy both file implementations share.

A drive path is ``""`` (the top level), ``"home"`` (a root) or ``"home/a/b.txt"``.
:class:`RootsPolicy` parses drive paths (refusing absolute paths, NUL, empty segments and
``..`` that climbs out of its root), expands configured roots (``~``, ``$USER``,
``$HOME``) and checks that a resolved real path still lies under a root. How a path is
*resolved* (symlinks) is the implementation's business; what is allowed is decided here.
The ``files.*`` errors are made here too, so both implementations word them alike.
"""

from __future__ import annotations

import errno
import posixpath
import re
import secrets
import stat as stat_mod
import time
from dataclasses import dataclass, field

from ..errors import Conflict, InvalidRequest, NotFound, RemoteUnavailable, RPCError
from .base import Root

#: Temporary files of atomic writes are named ``.<name>.jrpc-upload-<random>``.
TEMP_MARK = ".jrpc-upload-"


# --- errors -------------------------------------------------------------------------


def not_found(path: str, what: str = "file or folder") -> RPCError:
    return NotFound(f"No {what} '{path}'.", code="files.not_found", details={"path": path})


def permission(path: str, action: str = "access") -> RPCError:
    return RPCError(
        f"Permission denied: cannot {action} '{path}'.",
        code="files.permission",
        status=403,
        details={"path": path},
    )


def exists(path: str) -> RPCError:
    return Conflict(f"'{path}' already exists.", code="files.exists", details={"path": path})


def outside_roots(path: str) -> RPCError:
    return RPCError(
        f"'{path}' lies outside the folders this cluster allows.",
        code="files.outside_roots",
        status=403,
        details={"path": path},
    )


def invalid_name(path: str, why: str) -> RPCError:
    return RPCError(
        f"Invalid path {path!r}: {why}.",
        code="files.invalid_name",
        status=400,
        details={"path": path},
    )


def no_space(path: str) -> RPCError:
    return RPCError(
        f"No space left on the device (or quota exceeded) while writing '{path}'.",
        code="files.no_space",
        status=507,
        details={"path": path},
    )


def not_directory(path: str) -> RPCError:
    return RPCError(
        f"'{path}' is not a folder.", code="files.not_directory", status=400, details={"path": path}
    )


def is_directory(path: str) -> RPCError:
    return RPCError(
        f"'{path}' is a folder.", code="files.is_directory", status=400, details={"path": path}
    )


#: What a file that is not a regular file or a folder is, by ``stat``'s type bits.
_KINDS = (
    (stat_mod.S_ISFIFO, "a named pipe (FIFO)"),
    (stat_mod.S_ISCHR, "a character device"),
    (stat_mod.S_ISBLK, "a block device"),
    (stat_mod.S_ISSOCK, "a socket"),
)


def is_regular_or_folder(mode: int) -> bool:
    """A file whose bytes can be read and written (or a folder), by its ``st_mode``."""
    return stat_mod.S_ISREG(mode) or stat_mod.S_ISDIR(mode)


def not_regular(path: str, mode: int) -> RPCError:
    """``files.not_regular`` (400): opening a FIFO, a device or a socket as a file would
    wait for a writer, or read for ever."""
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return RPCError(
        f"'{path}' is {kind}, not a regular file: it cannot be opened, downloaded or "
        "overwritten here (it can be renamed or deleted).",
        code="files.not_regular",
        status=400,
        details={"path": path},
    )


def into_itself(path: str, new_path: str) -> RPCError:
    """Moving a folder into itself (or below itself): refused before the system's EINVAL."""
    return RPCError(
        f"'{path}' cannot be moved into itself ('{new_path}' is inside it).",
        code="files.invalid_name",
        status=400,
        details={"path": path, "new_path": new_path},
    )


def conflict(path: str, current: float | None, expected: float) -> RPCError:
    if current is None:
        message = f"'{path}' was deleted since it was read; it was not saved."
    else:
        message = (
            f"'{path}' was changed on the cluster since it was read; it was not saved "
            "(reload it, or save under another name)."
        )
    return Conflict(
        message,
        code="files.conflict",
        details={"path": path, "mtime": current, "expected_mtime": expected},
    )


def unavailable(label: str, why: str) -> RPCError:
    return RemoteUnavailable(
        f"The files on {label} cannot be reached: {why}.",
        code="files.unavailable",
        details={"cluster": label},
    )


def io_error(path: str, why: str) -> RPCError:
    return RPCError(
        f"Cannot access '{path}': {why}.", code="files.io_error", status=500, details={"path": path}
    )


def from_errno(code: int | None, path: str, action: str, why: str = "") -> RPCError:
    """The ``files.*`` error for an OS error number met while doing ``action`` on ``path``."""
    if code == errno.ENOENT:
        return not_found(path)
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return permission(path, action)
    if code in (errno.EEXIST, errno.ENOTEMPTY):
        return exists(path)
    if code in (errno.ENOSPC, errno.EDQUOT):
        return no_space(path)
    if code == errno.ENOTDIR:
        return not_directory(path)
    if code == errno.EISDIR:
        return is_directory(path)
    if code == errno.ENAMETOOLONG:
        return invalid_name(path, "the name is too long")
    if code == errno.ELOOP:
        return invalid_name(path, "too many levels of symbolic links")
    return io_error(path, why or (errno.errorcode.get(code or 0, "unknown error")))


# --- drive paths ----------------------------------------------------------------------


def join_drive(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def temp_name(name: str) -> str:
    """A hidden temporary name beside ``name`` (short enough for NAME_MAX)."""
    stem = name.encode()[:100].decode(errors="ignore")
    return f".{stem}{TEMP_MARK}{secrets.token_hex(6)}"


_ABSOLUTE_ROOT = re.compile(r"^(/|~$|~/|\$HOME$|\$HOME/|\$\{HOME\}$|\$\{HOME\}/)")
_VAR = re.compile(r"\$(?:\{(USER|HOME)\}|(USER|HOME)\b)")


def expand_root(configured: str, *, home: str, user: str) -> str:
    """``~``, ``~/x``, ``$USER``, ``${HOME}`` expanded for the target; an absolute,
    normalized path (``ValueError`` if it is not absolute afterwards)."""
    path = configured.strip()
    if path == "~" or path.startswith("~/"):
        path = home + path[1:]
    path = _VAR.sub(lambda m: user if (m.group(1) or m.group(2)) == "USER" else home, path)
    if not path.startswith("/"):
        raise ValueError(f"root {configured!r} is not an absolute path (nor ~ or $HOME)")
    return posixpath.normpath(path).replace("//", "/")


def is_within(real: str, base: str) -> bool:
    if base == "/":
        return real.startswith("/")
    return real == base or real.startswith(base + "/")


@dataclass
class Parsed:
    """A checked drive path: its root (``None`` at the top level) and the parts below it."""

    drive: str  # normalized drive path
    root: Root | None
    parts: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        if self.parts:
            return self.parts[-1]
        return self.root.name if self.root else ""

    @property
    def is_root(self) -> bool:
        return self.root is not None and not self.parts

    def parent_drive(self) -> str:
        return self.drive.rsplit("/", 1)[0] if "/" in self.drive else ""


class RootsPolicy:
    """The configured roots (ordered, by name) and the rules for drive paths."""

    def __init__(self, roots: dict[str, str]) -> None:
        if not roots:
            raise ValueError("at least one root is needed, e.g. {'home': '~'}")
        self.roots: list[Root] = []
        for name, path in roots.items():
            if not name or "/" in name or name in (".", "..") or "\0" in name:
                raise ValueError(f"invalid root name {name!r}")
            if not isinstance(path, str) or not _ABSOLUTE_ROOT.match(path.strip()) or "\0" in path:
                # Caught here, when the cluster is added, not as a 500 at the first listing.
                raise InvalidRequest(
                    f"The root {name!r} is {path!r}: a root must be an absolute path, or start "
                    "with ~, $HOME or ${HOME}.",
                    code="cluster.config_invalid",
                    details={"key": "roots", "root": name},
                )
            self.roots.append(Root(name=name, path=path))
        self.by_name = {root.name: root for root in self.roots}

    def parse(self, path: str) -> Parsed:
        """Check a drive path (no I/O). ``..`` may go up inside a root, never out of it."""
        if not isinstance(path, str):
            raise invalid_name(repr(path), "not a string")
        if "\0" in path:
            raise invalid_name(path, "it contains a NUL character")
        if path.startswith("/"):
            raise outside_roots(path)
        trimmed = path[:-1] if path.endswith("/") else path
        if trimmed == "":
            return Parsed(drive="", root=None)
        segments = trimmed.split("/")
        if any(seg == "" for seg in segments):
            raise invalid_name(path, "it has an empty segment ('//')")
        root_name, rest = segments[0], segments[1:]
        if root_name in (".", ".."):
            raise outside_roots(path)
        root = self.by_name.get(root_name)
        if root is None:
            names = ", ".join(r.name for r in self.roots)
            raise NotFound(
                f"'{path}': there is no folder '{root_name}' at the top level (roots: {names}).",
                code="files.not_found",
                details={"path": path},
            )
        parts: list[str] = []
        for seg in rest:
            if seg == ".":
                continue
            if seg == "..":
                if not parts:
                    raise outside_roots(path)
                parts.pop()
                continue
            parts.append(seg)
        return Parsed(drive=join_drive(root.name, *parts), root=root, parts=parts)

    def parse_target(self, path: str, action: str = "create files") -> Parsed:
        """Like :meth:`parse`, for a name about to be created: a new name at the top
        level is refused with ``files.permission`` (only the roots live there)."""
        trimmed = path[:-1] if path.endswith("/") else path
        if trimmed and "/" not in trimmed and trimmed not in self.by_name and "\0" not in trimmed:
            if trimmed not in (".", ".."):
                raise permission(trimmed, f"{action} at the top level (only the roots live there)")
        return self.parse(path)

    def parse_new_folder(self, path: str) -> Parsed:
        """:meth:`parse_target` for a folder about to be made: not at the top level, and a
        root's name is taken (``files.exists``)."""
        parsed = self.parse_target(path, "create folders")
        if parsed.root is None:
            raise permission(path, "create folders at the top level (only roots live there)")
        if parsed.is_root:
            raise exists(parsed.drive)
        return parsed

    def parse_movable(self, path: str, action: str) -> Parsed:
        """:meth:`parse_target` for a name to rename, replace or delete: never a root."""
        parsed = self.parse_target(path, action)
        if parsed.root is None or parsed.is_root:
            raise permission(path or "/", f"{action} a root folder")
        return parsed

    def root_of(self, real: str) -> Root | None:
        """The root (longest match) a resolved real path lies under, if any."""
        best: Root | None = None
        for root in self.roots:
            if root.real and is_within(real, root.real):
                if best is None or len(root.real) > len(best.real):
                    best = root
        return best

    def to_drive(self, real: str) -> str | None:
        real = posixpath.normpath(real) if real else real
        root = self.root_of(real)
        if root is None:
            return None
        rel = real[len(root.real) :].lstrip("/") if root.real != "/" else real.lstrip("/")
        return join_drive(root.name, rel)

    def check_inside(self, drive: str, real: str) -> None:
        if self.root_of(real) is None:
            raise outside_roots(drive)


@dataclass
class Upload:
    """A chunked upload in progress: its temporary file beside the target."""

    drive: str
    target: str  # real path it is renamed to
    temp: str  # real path of the temporary file
    offset: int = 0
    touched: float = field(default_factory=time.monotonic)
    mode: int | None = None  # permission bits of the file it replaces


def live_upload(uploads: dict[str, Upload], upload_id: str) -> Upload:
    """The upload ``upload_id`` (marked as used now), or ``files.upload_not_found``."""
    upload = uploads.get(upload_id)
    if upload is None:
        raise NotFound(
            "This upload is unknown or expired; start it again.",
            code="files.upload_not_found",
            details={"upload_id": upload_id},
        )
    upload.touched = time.monotonic()
    return upload


def check_expected_mtime(path: str, current: float | None, expected: float | None) -> None:
    """``files.conflict`` if the file changed since the client read it (to the second)."""
    if expected is None:
        return
    if current is None or abs(current - expected) >= 1.0:
        raise conflict(path, current, expected)

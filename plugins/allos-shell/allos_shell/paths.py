"""Paths whose removal or overwriting wrecks a system: ``/``, ``~``, top-level folders, devices.

Used by the default deny rules (:mod:`allos_shell.safety`). A path may hold expansions the shell
fills in later (``$X``, ``${HOME%/}``, ``$(…)``): :func:`is_dangerous_operand` assumes the worst
value each could take.
"""

from __future__ import annotations

import posixpath
import re

#: top-level folders whose recursive removal or permission change wrecks a system
SYSTEM_DIRS = frozenset(
    {
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/opt",
        "/proc",
        "/root",
        "/sbin",
        "/srv",
        "/sys",
        "/usr",
        "/var",
        "/System",
        "/Users",
        "/Library",
        "/Applications",
    }
)

_HARMLESS_DEVICES = frozenset(
    {
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
        "/dev/stdin",
        "/dev/stdout",
        "/dev/stderr",
        "/dev/tty",
        "/dev/ptmx",
    }
)
_HARMLESS_DEVICE_FOLDERS = ("/dev/fd/", "/dev/pts/", "/dev/tcp/", "/dev/udp/", "/dev/shm/")

_ANSI_C = re.compile(r"\$'((?:[^'\\]|\\.)*)'")
_GLOB = re.compile(r"[*?\[]")
_EXPANSION = re.compile(r"\$\{[^}]*\}|\$\([^)]*\)|`[^`]*`|\$[A-Za-z_][A-Za-z0-9_]*|\$[0-9@*#?$!-]")


def is_dangerous_operand(path: str) -> bool:
    """:func:`is_dangerous_path`, also for a path with expansions the shell fills in later.

    ``$X``, ``${HOME%/}``, ``"$DIR"/*`` and ``$(…)`` may be empty, ``/`` or the home folder when
    the command runs: the path is dangerous when any of those makes it so.
    """
    path = _ANSI_C.sub(_decode_ansi_c, path)  # $'/' and $'\x2f' are /
    if is_dangerous_path(path):
        return True
    if not _EXPANSION.search(path.replace("${HOME}", "~").replace("$HOME", "~")):
        return False
    text = path.replace("${HOME}", "~").replace("$HOME", "~")
    return any(is_dangerous_path(_EXPANSION.sub(value, text)) for value in ("", "/", "~"))


def is_dangerous_path(path: str) -> bool:
    """True for ``/``, ``~``, ``$HOME``, a top-level system folder, or everything in one of them."""
    text = path.strip()
    if not text:
        return False
    text = re.sub(r"^(\$\{HOME\}|\$HOME)(?=/|$)", "~", text)
    if re.match(r"^~[+-]", text):
        return False  # ~+ and ~-: the current and previous folders
    if re.match(r"^~[^/]", text):  # ~user: that user's home folder (~root is /root)
        text = "~" + text[text.find("/") :] if "/" in text else "~"
    if text.endswith("/*"):
        text = text[:-2] or "/"
    elif text == "*" or text.endswith("/.*"):
        return False
    if text.startswith("~"):
        return _normal("/" + text[1:]) == "/"
    if not text.startswith("/"):
        return False
    normal = _normal(text)
    return normal == "/" or normal in SYSTEM_DIRS or _globs_top_level(normal)


def _globs_top_level(normal: str) -> bool:
    """``/*``, ``/e??``, ``/[e]tc``, ``/u*/*``: a pattern that may match a top-level folder."""
    first, *rest = normal.lstrip("/").split("/")
    return bool(_GLOB.search(first)) and all(part in ("*", "") for part in rest)


def unquote_ansi_c(text: str) -> str:
    """``text`` with each ``$'…'`` (bash ANSI-C quoting) as a plain single-quoted word."""
    import shlex

    return _ANSI_C.sub(lambda m: shlex.quote(_decode_ansi_c(m)), text)


def _decode_ansi_c(match: re.Match[str]) -> str:
    try:
        return match.group(1).encode("latin-1", "backslashreplace").decode("unicode_escape")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return "/"  # undecodable: assume the worst


def _normal(path: str) -> str:
    """``path`` with ``.``, ``..`` and repeated slashes resolved (``//`` too, unlike normpath)."""
    normal = posixpath.normpath(path)
    return "/" + normal.lstrip("/") if normal.startswith("//") else normal


def is_device(path: str) -> bool:
    """True for a path under ``/dev`` that is a real device (not ``/dev/null`` and friends)."""
    text = path.strip()
    if not text.startswith("/"):
        return False
    normal = _normal(text)
    if not normal.startswith("/dev/") or normal in _HARMLESS_DEVICES:
        return False
    return not normal.startswith(_HARMLESS_DEVICE_FOLDERS)

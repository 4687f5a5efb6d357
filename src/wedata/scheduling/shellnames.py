"""Which ``${...}`` in a Shell task belong to bash rather than to the scheduler.

WeData's ``${name}`` and bash's ``${name}`` share a spelling. The renderer
(scheduling/parameters.py) first looks a name up among the parameters and time expressions;
what is left is an error (an unknown parameter, a malformed time expression) unless
:func:`shell_foreign` says bash owns it:

- a variable the script itself sets: ``name=``, ``name+=``, ``name[i]=``, ``export`` /
  ``local`` / ``declare`` / ``typeset`` / ``readonly name``, ``for name in``, ``read [opts]
  name...``, ``getopts spec name``, ``mapfile`` / ``readarray name``, ``printf -v name``;
- a variable bash or the engine provides (``HOME``, ``PATH``, ``PWD``, ``RANDOM``, ``BASH_*``,
  ``WEDATA_*`` ...), positional and special parameters (``${1}``, ``${@}``, ``${#}``, ``${?}``);
- an expansion with bash operators (``${x:-default}``, ``${#x}``, ``${!x}``, ``${x[@]}``,
  ``${x%.*}``, ``${x/a/b}``, ``${x^^}``), unless it reads like a time expression
  (``${yyyyMMdd-1x}`` is a malformed time expression, not ``${var-word}``).

Anything else (a variable from a sourced file, a parent environment the sandbox does not pass
on) is written ``$name`` or escaped ``$${name}``. Decision: a heuristic over the script text,
not a bash parser; it errs towards reporting, and the escape always works.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from functools import lru_cache

from wedata.scheduling.parameters import looks_like_time

__all__ = ["SHELL_VARIABLES", "assigned_names", "shell_foreign"]

# Set by bash itself or by the engine's environment (executors: PATH, HOME, LANG, TZ, USER and
# the WEDATA_* variables of the attempt).
SHELL_VARIABLES = frozenset(
    {
        "HOME", "PATH", "PWD", "OLDPWD", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "SHELL", "HOSTNAME",
        "HOSTTYPE", "OSTYPE", "MACHTYPE", "UID", "EUID", "PPID", "GROUPS", "RANDOM", "SRANDOM", "SECONDS",
        "LINENO", "IFS", "PS1", "PS2", "PS3", "PS4", "SHLVL", "TMPDIR", "TERM", "OPTARG", "OPTIND", "OPTERR",
        "REPLY", "FUNCNAME", "PIPESTATUS", "EPOCHSECONDS", "EPOCHREALTIME", "BASH", "BASHPID", "BASHOPTS",
        "SHELLOPTS", "COLUMNS", "LINES", "HISTFILE", "PYTHONUNBUFFERED",
    }
)
_PREFIXES = ("BASH_", "LC_", "WEDATA_", "COMP_")

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_IDENT = re.compile(_NAME)
_SPECIAL = re.compile(r"[0-9]+|[@*#?$!-]")
# Assignments are words at the start of a command (before it, more assignments or a keyword):
# "x=1 y=2 cmd" sets x and y, "echo region=eu" sets nothing.
_COMMANDS = re.compile(r"[\n;&|(){}`]+")
_ASSIGN_WORD = re.compile(rf"({_NAME})(?:\[[^\]]*\])?\+?=")
_KEYWORDS = frozenset({"then", "do", "else", "elif", "if", "while", "until", "!", "time"})
_DECLARE = re.compile(rf"\b(?:export|local|declare|typeset|readonly)((?:[ \t]+-[A-Za-z]+)*(?:[ \t]+{_NAME}(?:=[^\s;&|]*)?)+)")
_FOR = re.compile(rf"\bfor\s+({_NAME})\s+in\b|\bselect\s+({_NAME})\s+in\b")
_READ = re.compile(r"\bread((?:[ \t]+(?:-[A-Za-z]+(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s-]\S*))?|[A-Za-z_][A-Za-z0-9_]*))+)")
_GETOPTS = re.compile(rf"\bgetopts[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|\S+)[ \t]+({_NAME})")
_MAPFILE = re.compile(rf"\b(?:mapfile|readarray)(?:[ \t]+-[A-Za-z]+(?:[ \t]+\S+)?)*[ \t]+({_NAME})")
_PRINTF_V = re.compile(rf"\bprintf\s+-v\s+({_NAME})")
# ${#x} ${!x} ${x[...]} ${x:-w} ${x-w} ${x#p} ${x%p} ${x/a/b} ${x^} ${x,} ${x@Q} ${1} ${@} ...
_EXPANSION = re.compile(rf"[#!]?(?:{_NAME}|[0-9]+|[@*#?$!-])(?:\[[^\]]*\])?(?:(?::?[-=?+]|:|##?|%%?|//?|\^\^?|,,?|@).*)?",
                        re.DOTALL)


@lru_cache(maxsize=512)
def assigned_names(script: str) -> frozenset[str]:
    """The variables a bash script sets itself (see the module docstring)."""
    names: set[str] = set()
    for command in _COMMANDS.split(script):
        words = command.split()
        while words and words[0] in _KEYWORDS:
            words.pop(0)
        for w in words:
            m = _ASSIGN_WORD.match(w)
            if m is None:
                break
            names.add(m.group(1))
    for m in _DECLARE.finditer(script):
        names.update(w.split("=", 1)[0] for w in m.group(1).split() if not w.startswith("-"))
    for m in _FOR.finditer(script):
        names.add(m.group(1) or m.group(2))
    for m in _READ.finditer(script):
        try:
            words = shlex.split(m.group(1))
        except ValueError:
            words = m.group(1).split()
        names.update(_read_names(words))
    names.update(m.group(1) for m in _GETOPTS.finditer(script))
    names.update(m.group(1) for m in _MAPFILE.finditer(script))
    names.update(m.group(1) for m in _PRINTF_V.finditer(script))
    return frozenset(n for n in names if _IDENT.fullmatch(n))


def _read_names(words: list[str]) -> list[str]:
    """The variables of ``read [-opts] name...``: ``-a NAME`` is one, the values of ``-d -p -n
    -N -t -u`` are not."""
    out: list[str] = []
    take_next = skip_next = False
    for w in words:
        if skip_next or take_next:
            if take_next and _IDENT.fullmatch(w):
                out.append(w)
            skip_next = take_next = False
        elif w.startswith("-"):
            take_next = w.endswith("a")
            skip_next = not take_next and w[-1] in "dpntNu"
        elif _IDENT.fullmatch(w):
            out.append(w)
    return out


def _known(name: str, assigned: frozenset[str]) -> bool:
    return name in assigned or name in SHELL_VARIABLES or name.startswith(_PREFIXES)


def shell_foreign(script: str) -> Callable[[str], bool]:
    """The predicate for ``RenderContext.foreign`` of a Shell task with this code."""
    assigned = assigned_names(script)

    def foreign(inner: str) -> bool:
        if inner != inner.strip():
            return False  # "${ x }" is a bad substitution for bash: ours (or an error)
        if _IDENT.fullmatch(inner):
            return _known(inner, assigned)
        if _SPECIAL.fullmatch(inner):
            return True
        if _EXPANSION.fullmatch(inner) is None:
            return False
        head = re.match(rf"[#!]?({_NAME})", inner)
        if head is not None and _known(head.group(1), assigned):
            return True
        return not looks_like_time(inner.lstrip("#!"))

    return foreign

"""The CLI's one-line errors: what a failure says when ``--debug`` is not given."""

from __future__ import annotations

import click


class CliError(click.ClickException):
    """A failure the user can act on, shown as ``Error: <message>`` with exit code 1."""


def one_line(exc: BaseException) -> str:
    """One line for an unexpected exception (its type, its first line, where to see more)."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    name = type(exc).__name__
    return f"{name}: {first} (run with --debug for the traceback)" if first else f"{name} (run with --debug for the traceback)"

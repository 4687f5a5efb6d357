"""``wedata completion bash|zsh``: print click's shell completion script for ``wedata``.

Enable it with ``eval "$(wedata completion bash)"`` in ``~/.bashrc`` (or ``zsh`` in ``~/.zshrc``).
The script calls ``wedata`` back (``_WEDATA_COMPLETE=..._complete``) to complete commands and
options; subcommand modules are imported only for the command being completed.
"""

from __future__ import annotations

import click


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the completion script for SHELL; enable it with: eval "$(wedata completion bash)"."""
    from click.shell_completion import get_completion_class

    from wedata.cli.main import main

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(main, {}, "wedata", "_WEDATA_COMPLETE").source())

"""``wedata``: the command group, its global options, lazy loading of the subcommands, and the
rule that every failure is one line on stderr and a non-zero exit.

Only click is imported here. Each subcommand lives in a module that is imported when the
command runs (``COMMANDS`` maps its name to the module), and the short help shown by
``wedata --help`` is kept in the same table, so listing the commands imports none of them:
``wedata --help`` stays well under 0.3 s (``tools/bench/cli.py`` measures it). The modules
themselves import their heavy dependencies (SQLAlchemy, the app, rich) inside the functions.

Errors: a command raises :class:`click.ClickException` (or ``CliError``) with one line; anything
else is caught here and shown as one line too, unless ``--debug`` (or ``WEDATA_DEBUG=1``) asks
for the traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

# name -> (module, attribute, short help). The order is the order of `wedata --help`.
COMMANDS: dict[str, tuple[str, str, str]] = {
    # Talking to a server (the signed API, as the SDK does).
    "login": ("wedata.cli.commands.session", "login", "Save the server's endpoint and a credential in your profile."),
    "logout": ("wedata.cli.commands.session", "logout", "Forget the saved endpoint and credential."),
    "projects": ("wedata.cli.commands.projects", "projects", "List, create and choose projects."),
    "workflows": ("wedata.cli.commands.workflows", "workflows", "List, create and show workflows (with their DAG)."),
    "tasks": ("wedata.cli.commands.tasks", "tasks", "List, show, create, edit, submit, pause and resume tasks."),
    "run": ("wedata.cli.commands.run", "run", "Run a task once now and follow it to the end."),
    "instances": ("wedata.cli.commands.instances", "instances", "List and show task instances."),
    "logs": ("wedata.cli.commands.instances", "logs", "Print an instance's log; -f follows it while it runs."),
    "rerun": ("wedata.cli.commands.instances", "rerun", "Rerun finished instances."),
    "kill": ("wedata.cli.commands.instances", "kill", "Kill waiting or running instances."),
    "set-success": ("wedata.cli.commands.instances", "set_success", "Mark instances as successful."),
    "backfill": ("wedata.cli.commands.backfill", "backfill", "Backfill tasks over a range of dates, with progress."),
    "alarms": ("wedata.cli.commands.alarms", "alarms", "List alarm rules."),
    "resources": ("wedata.cli.commands.resources", "resources", "Upload and list resource files tasks can use."),
    "cron": ("wedata.cli.commands.cron", "cron", "Explain a cron expression offline (no server needed)."),
    "completion": ("wedata.cli.commands.completion", "completion", "Print the shell completion script (bash, zsh)."),
    # Local administration (this machine's WEDATA_HOME and database).
    "server": ("wedata.cli.admin", "server", "Run the API server (with the scheduler and local executor)."),
    "scheduler": ("wedata.cli.admin", "scheduler", "Run the scheduler engine alone (no API) against the same database."),
    "worker": ("wedata.cli.worker", "worker", "Run a Celery worker for remote resource groups (WEDATA_REMOTE_GROUPS)."),
    "credentials": ("wedata.cli.admin", "credentials", "Manage API credentials (SecretId/SecretKey -> Uin)."),
    "db": ("wedata.cli.admin", "db", "Database commands."),
    "datasources": ("wedata.cli.admin", "datasources", "Data source commands (test a source's connections)."),
    "setup-sandbox": ("wedata.cli.admin", "setup_sandbox",
                      "Prepare task isolation: create the run-as user (as root) and report what auto mode gets."),
}

_SECTIONS = (
    ("Working with a server", ("login", "logout", "projects", "workflows", "tasks", "run", "instances", "logs",
                               "rerun", "kill", "set-success", "backfill", "alarms", "resources")),
    ("Offline", ("cron", "completion")),
    ("Local administration (WEDATA_HOME)", ("server", "scheduler", "worker", "credentials", "db", "datasources",
                                             "setup-sandbox")),
)


def debug_enabled(ctx: click.Context | None = None) -> bool:
    ctx = ctx or click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    if root is not None and root.meta.get("wedata.debug"):
        return True
    return os.environ.get("WEDATA_DEBUG", "") not in ("", "0", "false", "no")


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when one of them is run (or completed)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attr, _ = entry
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for title, names in _SECTIONS:
            rows = [(name, COMMANDS[name][2]) for name in names]
            with formatter.section(title):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            raise click.exceptions.Exit(130) from None
        except Exception as exc:  # one line, the traceback only with --debug
            if debug_enabled(ctx):
                raise
            from wedata.cli.errors import one_line

            raise click.ClickException(one_line(exc)) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wedata-server")
@click.option("--debug", is_flag=True, envvar="WEDATA_DEBUG",
              help="Show the full traceback of an error (also WEDATA_DEBUG=1).")
@click.option("--tz", "tz", default=None, envvar="WEDATA_TZ", metavar="ZONE",
              help="Zone to show times in, e.g. UTC+8 (default: this machine's current UTC offset; also WEDATA_TZ).")
@click.pass_context
def main(ctx: click.Context, debug: bool, tz: str | None) -> None:
    """wedata-server: a self-hosted WeData (API 2025-08-06) scheduler.

    Commands that talk to a server use the profile saved by `wedata login` (or the
    WEDATA_ENDPOINT / WEDATA_SECRET_ID / WEDATA_SECRET_KEY variables) and sign every call as the
    SDK does, so the credential's permissions apply. Local administration commands work on this
    machine's WEDATA_HOME (--home, then $WEDATA_HOME, then ~/.wedata) and say which one they use.
    """
    # Every command writes only under WEDATA_HOME (database, key file, logs, run directories) or
    # the user's profile: whatever it creates is for its own user alone (files 0600, dirs 0700).
    os.umask(0o077)
    ctx.meta["wedata.debug"] = debug
    ctx.meta["wedata.tz"] = tz


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(prog_name="wedata"))

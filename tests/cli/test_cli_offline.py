"""The CLI without a server: `cron explain`, local admin commands that cannot surprise (the home
they use is named; a read never creates a home or a database), help text everywhere, lazy
loading, shell completion."""

from __future__ import annotations

import subprocess
from pathlib import Path

import click

from tests.cli.clitools import Cli
from tests.support import ROOT, ServerProcess, clean_env, wedata_cli


def test_cron_explain_in_words_with_the_next_fire_times(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "cfg")
    out = cli.ok("cron", "explain", "0 30 9 ? * MON-FRI", "-n", "3", "--after", "2025-03-07 10:00:00")
    assert out.splitlines() == [
        "At 09:30, on Monday through Friday (UTC+8)",
        "Next 3 fire times in UTC+8, after 2025-03-07 10:00:00:",
        "  2025-03-10 09:30:00 Mon  UTC+8",
        "  2025-03-11 09:30:00 Tue  UTC+8",
        "  2025-03-12 09:30:00 Wed  UTC+8",
    ]
    words = {
        "0 */5 * * * ?": "Every 5 minutes",
        "0 0 1 ? * 6#3": "At 01:00, on the third Friday of the month",
        "0 0 0 L * ?": "At 00:00, on the last day of the month",
        "0 15 9-17 * * ?": "Every hour from 09:15 through 17:15",
        "0 0 8 1 1 ? 2026-2030": "At 08:00, on day 1 of the month, in January, from 2026 through 2030",
    }
    for expr, text in words.items():
        assert cli.ok("cron", "explain", expr, "-n", "0").strip() == f"{text} (UTC+8)", expr
    # A zone with DST: 02:30 does not exist on 2025-03-09 in New York and runs at 03:30 EDT.
    out = cli.ok("cron", "explain", "0 30 2 * * ?", "--tz", "America/New_York", "-n", "3",
                 "--after", "2025-03-08 00:00:00")
    assert out.splitlines()[2:] == ["  2025-03-08 02:30:00 Sat  UTC-5", "  2025-03-09 03:30:00 Sun  UTC-4",
                                    "  2025-03-10 02:30:00 Mon  UTC-4"]
    assert "(no more fire times)" in cli.ok("cron", "explain", "0 0 0 1 1 ? 2020", "-n", "2")
    assert "Next 10 fire times" in cli.ok("cron", "explain", "0 0 0 * * ?")  # from now


def test_cron_explain_bad_input(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "cfg")
    line = cli.fails("cron", "explain", "0 0 0 ? * MON-FRI/2")
    assert line.startswith("Error: syntax error: invalid cron expression") and "day-of-week" in line
    assert "expected 6 or 7 fields" in cli.fails("cron", "explain", "* * *")
    assert "unknown time zone" in cli.fails("cron", "explain", "0 0 0 * * ?", "--tz", "Mars/Base")
    assert not (tmp_path / "cfg").exists()


def _admin(home: Path, *args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in clean_env().items() if not k.startswith("WEDATA_")}
    env.update(extra or {})
    return subprocess.run([*wedata_cli(), *args], env=env, capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_credentials_list_on_a_missing_home_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "nowhere"
    for args, extra in ((["credentials", "list", "--home", str(home)], None),
                        (["credentials", "list"], {"WEDATA_HOME": str(home)}),
                        (["credentials", "delete", "AKIDX", "--home", str(home)], None)):
        res = _admin(home, *args, extra=extra)
        assert res.returncode == 1, res
        assert res.stderr.splitlines() == [
            f"wedata home: {home}, not created yet (database sqlite:///{home}/wedata.db)",
            f"Error: no wedata home at {home} (start the server once or pass --home)",
        ]
        assert not home.exists()
    # A home without a database (an empty directory): still nothing created.
    home.mkdir()
    res = _admin(home, "credentials", "list", "--home", str(home))
    assert res.returncode == 1 and f"no database at {home / 'wedata.db'}" in res.stderr
    assert list(home.iterdir()) == []


def test_credentials_commands_say_which_home_they_use(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "home", migrated=False)
    srv.home.mkdir()
    env = srv.env()
    res = subprocess.run([*wedata_cli(), "credentials", "create", "--uin", "7"], env=env, capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    assert res.returncode == 0 and res.stderr.startswith(f"wedata home: {srv.home} (database sqlite:///")
    res = subprocess.run([*wedata_cli(), "credentials", "list", "-o", "json"], env=env, capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    import json

    assert res.returncode == 0 and [c["Uin"] for c in json.loads(res.stdout)] == ["7"]
    assert res.stderr.splitlines() == [f"wedata home: {srv.home} (database sqlite:///{srv.home}/wedata.db)"]
    # A PostgreSQL URL is named without its password.
    res = _admin(tmp_path, "credentials", "list", "--home", str(srv.home),
                 extra={"WEDATA_DATABASE_URL": "postgresql+psycopg://user:s3cret@127.0.0.1:1/db"})
    assert res.returncode == 1 and "s3cret" not in res.stderr and "user:***@127.0.0.1:1" in res.stderr
    assert "Traceback" not in res.stderr and res.stderr.count("Error:") == 1


def _walk(command: click.Command, path: str) -> list[tuple[str, click.Command]]:
    out = [(path, command)]
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"{path} {name}"
            out += _walk(sub, f"{path} {name}")
    return out


def test_every_command_and_option_has_help_text() -> None:
    from wedata.cli.main import COMMANDS, main

    commands = _walk(main, "wedata")
    assert len(commands) > 30
    for path, command in commands:
        assert (command.help or "").strip(), f"{path} has no help text"
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in ("help", "version"):
                assert (param.help or "").strip(), f"{path} {param.opts} has no help text"
    # The short help `wedata --help` shows (kept in a table so listing imports nothing) names a
    # command that exists.
    for name in COMMANDS:
        assert main.get_command(click.Context(main), name) is not None


def test_help_imports_no_command_module() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from wedata.cli.main import main; "
        "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0 and 'backfill' in r.output; "
        "print(sorted(m for m in sys.modules if m.startswith(('wedata.cli.', 'rich', 'sqlalchemy', 'wedata.app'))))"
    )
    res = subprocess.run([*wedata_cli()[:1], "-c", code], env=clean_env(), capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "['wedata.cli.main']"


def test_shell_completion(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "cfg")
    assert "_WEDATA_COMPLETE=bash_complete" in cli.ok("completion", "bash")
    assert "compdef _wedata_completion wedata" in cli.ok("completion", "zsh")
    env = {"_WEDATA_COMPLETE": "bash_complete", "COMP_WORDS": "wedata ta", "COMP_CWORD": "1"}
    assert "plain,tasks" in cli.ok(env=env).splitlines()
    env = {"_WEDATA_COMPLETE": "bash_complete", "COMP_WORDS": "wedata instances list --st", "COMP_CWORD": "3"}
    assert "plain,--state" in cli.ok(env=env).splitlines()

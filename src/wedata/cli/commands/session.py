"""``wedata login`` and ``wedata logout``: the profile's endpoint and credential."""

from __future__ import annotations

import click

from wedata.cli.errors import CliError


@click.command()
@click.option("--endpoint", required=True, metavar="URL",
              help="The server, e.g. http://127.0.0.1:8080 (http:// is assumed without a scheme).")
@click.option("--secret-id", default=None, help="SecretId of your credential (prompted for if missing).")
@click.option("--secret-key", default=None,
              help="SecretKey of your credential (prompted for, hidden, if missing; avoid it on a shared shell).")
@click.option("--token", default=None, help="X-TC-Token, for a credential created with --token.")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Check the credential against the server before saving it.")
def login(endpoint: str, secret_id: str | None, secret_key: str | None, token: str | None, verify: bool) -> None:
    """Save the server's endpoint and a credential in your profile.

    The profile is $XDG_CONFIG_HOME/wedata/profile.json (default ~/.config/wedata/), readable by
    you alone (0600). The current project chosen with `wedata projects use` is kept.
    """
    from wedata.cli.client import Client
    from wedata.cli.profile import load_file, normalise_endpoint, profile_path, save_file

    url = normalise_endpoint(endpoint)
    if not secret_id:
        secret_id = click.prompt("SecretId").strip()
    if not secret_key:
        secret_key = click.prompt("SecretKey", hide_input=True).strip()
    if not secret_id or not secret_key:
        raise CliError("a SecretId and a SecretKey are both needed")
    if verify:
        Client(url, secret_id, secret_key, token).data("ListProjects", {"PageSize": 10})
    path = profile_path()
    data = load_file(path)
    if data.get("endpoint") not in (None, url):
        data.pop("project_id", None)  # another server: its projects are not this one's
    data.update(endpoint=url, secret_id=secret_id, secret_key=secret_key)
    if token:
        data["token"] = token
    else:
        data.pop("token", None)
    save_file(data, path)
    checked = "checked" if verify else "not checked"
    click.echo(f"logged in to {url} as {secret_id} (credential {checked}; saved in {path})")


@click.command()
def logout() -> None:
    """Forget the saved endpoint, credential and current project (removes the profile file)."""
    from wedata.cli.profile import profile_path

    path = profile_path()
    if not path.exists():
        click.echo(f"not logged in (no {path})")
        return
    path.unlink()
    click.echo(f"logged out (removed {path})")

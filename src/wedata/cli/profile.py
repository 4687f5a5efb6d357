"""The CLI profile: which server to talk to, as whom, and the current project.

Stored as JSON in ``$XDG_CONFIG_HOME/wedata/profile.json`` (default ``~/.config/wedata/``), the
file 0600 and its directory 0700, written atomically. Environment variables win over the file,
so a script or CI job needs no file at all:

- endpoint: ``WEDATA_ENDPOINT``;
- credential (a SecretId and its SecretKey, always taken together from one source):
  ``WEDATA_SECRET_ID``/``WEDATA_SECRET_KEY``, then ``TENCENTCLOUD_SECRET_ID``/``TENCENTCLOUD_SECRET_KEY``
  (the SDK's and tccli's variables); an optional token from ``WEDATA_TOKEN``;
- project: the ``--project`` option, then ``WEDATA_PROJECT``, then ``wedata projects use``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wedata.cli.errors import CliError


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "wedata"


def profile_path(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / "profile.json"


def load_file(path: Path | None = None) -> dict[str, Any]:
    path = path or profile_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CliError(f"cannot read the profile {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CliError(f"the profile {path} is not valid JSON ({exc}); fix it or run `wedata login` again") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise CliError(f"the profile {path} is not a JSON object of strings; run `wedata login` again")
    return data


def save_file(data: Mapping[str, Any], path: Path | None = None) -> Path:
    """Write the profile atomically: a 0600 file in a 0700 directory."""
    path = path or profile_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.parent.chmod(0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(dict(data), f, indent=2)
        f.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def normalise_endpoint(value: str) -> str:
    """``host:port`` or a URL -> ``http(s)://host:port`` (no trailing slash)."""
    text = value.strip().rstrip("/")
    if not text:
        raise CliError("the endpoint is empty: pass --endpoint http://HOST:PORT")
    if "://" not in text:
        text = "http://" + text
    scheme = text.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise CliError(f"the endpoint must be http:// or https://, got {value!r}")
    return text


@dataclass(frozen=True)
class Profile:
    endpoint: str | None
    secret_id: str | None
    secret_key: str | None
    token: str | None
    project_id: str | None
    path: Path
    credential_source: str  # where the credential came from, for error messages

    def require_server(self) -> tuple[str, str, str]:
        if not self.endpoint:
            raise CliError("no server configured: run `wedata login --endpoint http://HOST:PORT` "
                           "or set WEDATA_ENDPOINT")
        if not self.secret_id or not self.secret_key:
            raise CliError("no credential configured: run `wedata login` or set WEDATA_SECRET_ID and "
                           "WEDATA_SECRET_KEY")
        return self.endpoint, self.secret_id, self.secret_key


def resolve(env: Mapping[str, str] | None = None) -> Profile:
    env = os.environ if env is None else env
    path = profile_path(env)
    data = load_file(path)
    endpoint = env.get("WEDATA_ENDPOINT") or data.get("endpoint")
    sid, key, token, source = data.get("secret_id"), data.get("secret_key"), data.get("token"), str(path)
    for id_var, key_var in (("WEDATA_SECRET_ID", "WEDATA_SECRET_KEY"),
                            ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY")):
        if env.get(id_var) and env.get(key_var):
            sid, key, token, source = env[id_var], env[key_var], None, f"${id_var}"
            break
    token = env.get("WEDATA_TOKEN") or token
    return Profile(
        endpoint=normalise_endpoint(endpoint) if endpoint else None,
        secret_id=sid,
        secret_key=key,
        token=token,
        project_id=env.get("WEDATA_PROJECT") or data.get("project_id"),
        path=path,
        credential_source=source,
    )

"""Who is calling: a credential (SecretId/SecretKey) and the user (Uin) it stands for.

At the bottom of the house with ``clock.py`` and ``config.py``: the protocol layer builds a
``Caller`` from the credential it verified, the services decide with it, the credential store
loads ``Credential`` rows. None of them needs the others to name a principal.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Credential:
    """A stored credential: what signature verification needs, and whose it is."""

    secret_id: str
    secret_key: str
    uin: str
    token: str | None = None
    is_admin: bool = False


@dataclass(slots=True)
class Caller:
    """The authenticated principal: the credential used and the user (Uin) it stands for."""

    secret_id: str
    uin: str
    is_admin: bool = False

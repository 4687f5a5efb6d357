"""The console's session rules without a server: signed cookies, CSRF tokens, the brake."""

from __future__ import annotations

import os

from wedata.console.client import error_field
from wedata.console.session import SessionCodec, SignInBrake, credential_matches, csrf_ok
from wedata.principal import Credential

KEY = os.urandom(32)
CRED = Credential("AKIDxyz", "the-secret-key", "100000000009")


def test_a_cookie_round_trips_and_holds_no_secret_key() -> None:
    codec = SessionCodec(KEY)
    session, cookie = codec.issue(CRED, now=1_000_000)
    assert "the-secret-key" not in cookie
    assert codec.read(cookie, now=1_000_100) == session
    assert codec.still_valid(session, CRED)


def test_forged_foreign_expired_and_malformed_cookies_are_refused() -> None:
    codec = SessionCodec(KEY)
    _, cookie = codec.issue(CRED, now=1_000_000)
    payload, sig = cookie.split(".")
    assert codec.read(payload + "." + sig[:-2] + "AA", now=1_000_001) is None
    assert SessionCodec(os.urandom(32)).read(cookie, now=1_000_001) is None
    assert codec.read(cookie, now=1_000_000 + codec.max_age + 1) is None
    for bad in ("", "x", "a.b.c", "." * 5000):
        assert codec.read(bad) is None


def test_a_changed_or_deleted_credential_ends_its_sessions() -> None:
    codec = SessionCodec(KEY)
    session, _ = codec.issue(CRED)
    assert not codec.still_valid(session, Credential("AKIDxyz", "another-key", "100000000009"))
    assert not codec.still_valid(session, None)


def test_csrf_and_sign_in_tokens() -> None:
    codec = SessionCodec(KEY)
    session, _ = codec.issue(CRED)
    assert csrf_ok(session, session.csrf)
    assert not csrf_ok(session, None) and not csrf_ok(session, "") and not csrf_ok(session, session.csrf + "x")
    token = codec.pre_token(now=5_000)
    assert codec.pre_token_ok(token, token, now=5_010)
    assert not codec.pre_token_ok(token, "other", now=5_010)
    assert not codec.pre_token_ok(token, token, now=5_000 + 7200)
    assert not SessionCodec(os.urandom(32)).pre_token_ok(token, token, now=5_010)


def test_credentials_match_in_full_and_tokens_cannot_sign_in() -> None:
    assert credential_matches(CRED, "the-secret-key")
    assert not credential_matches(CRED, "the-secret-ke")
    assert not credential_matches(None, "x")
    assert not credential_matches(Credential("AKIDt", "k", "1", token="tok"), "k")


def test_the_brake_doubles_per_recent_failure_and_forgets() -> None:
    brake = SignInBrake(base=1, maximum=8, window=60)
    assert [brake.failed("a", now=t) for t in (0, 1, 2, 3, 4)] == [1, 2, 4, 8, 8]
    assert brake.failed("b", now=5) == 1
    assert brake.failed("a", now=200) == 1
    brake.failed("a", now=201)
    brake.succeeded("a")
    assert brake.failed("a", now=202) == 1


def test_the_field_an_error_names() -> None:
    assert error_field("Invalid value for `ScheduleTimeFrom`: bad") == "ScheduleTimeFrom"
    assert error_field("The parameter `Task.TaskBaseAttribute.TaskName` is required.") == "Task"
    assert error_field("InstanceState must be one of ...") == "InstanceState"
    assert error_field("something else") is None

"""Sign-in and sign-out (console/session.py holds the rules: cookie, CSRF, brake)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import RedirectResponse, Response

from wedata.console.frame import PREFIX, Pages, View
from wedata.console.session import PRE_COOKIE, PRE_MAX_AGE, credential_matches

pages = Pages()

WRONG = "The SecretId or SecretKey is wrong."


def _next(target: str) -> str:
    """Only a path of the console itself (no open redirect to another site)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(PREFIX + "/") or target.startswith("//"):
        return PREFIX + "/"
    return target


def _form(v: View, *, error: str | None = None, secret_id: str = "", status: int = 200) -> Response:
    token = v.console.codec.pre_token()
    response = v.render("signin.html", status=status, error=error, secret_id=secret_id, pre_token=token,
                        next=_next(v.arg("next") or v.form.get("next", "")))
    response.set_cookie(PRE_COOKIE, token, max_age=PRE_MAX_AGE, path=PREFIX + "/signin", httponly=True,
                        samesite="strict", secure=v.request.url.scheme == "https")
    return response


@pages.get("/signin", public=True)
def signin_form(v: View) -> Response:
    return _form(v)


@pages.post("/signin", public=True)
def signin(v: View) -> Response:
    console = v.console
    if not console.codec.pre_token_ok(v.request.cookies.get(PRE_COOKIE), v.form.get("pre_token")):
        return _form(v, error="The sign-in form expired; please try again.", status=403)
    secret_id = v.form.get("secret_id", "").strip()
    secret_key = v.form.get("secret_key", "")
    client = v.request.client.host if v.request.client else "-"
    if not secret_id or not secret_key:
        return _form(v, error="Enter both the SecretId and the SecretKey.", secret_id=secret_id, status=400)
    credential = console.credentials.lookup(secret_id) if len(secret_id) <= 128 else None
    if not credential_matches(credential, secret_key):
        v.delay = console.brake.failed(client)
        return _form(v, error=WRONG, secret_id=secret_id, status=401)
    assert credential is not None
    console.brake.succeeded(client)
    _, cookie = console.codec.issue(credential)
    response = RedirectResponse(_next(v.form.get("next", "")), status_code=303)
    console.sign_in_cookie(response, v.request, cookie)
    response.delete_cookie(PRE_COOKIE, path=PREFIX + "/signin")
    return response


@pages.post("/signout")
def signout(v: View) -> Response:
    response: Response
    if v.htmx:
        response = Response(status_code=204, headers={"HX-Redirect": PREFIX + "/signin"})
    else:
        response = RedirectResponse(PREFIX + "/signin", status_code=303)
    v.console.sign_out_cookie(response, v.request)
    return response


@pages.get("/")
def home(v: View) -> Response:
    return v.redirect("/projects")

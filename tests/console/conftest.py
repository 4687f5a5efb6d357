"""Browser fixtures: Playwright (the PyPI package) driving Debian's Chromium, never a
downloaded browser. Without /usr/bin/chromium the browser tests skip, and fail under CI
(tools/ci/install-chromium.sh installs it; `make test` runs that first)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ADMIN_ID, ADMIN_KEY, ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_chromium() -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (required in CI: tools/ci/install-chromium.sh installs it)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium, or tools/ci/install-chromium.sh)")


# Module scope: Playwright's sync API keeps an event loop running in this thread while it is
# open, which breaks any later test of the same worker that calls asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def base_url(server: ServerProcess) -> str:
    return f"http://{server.endpoint}"


@pytest.fixture
def context(browser: Any, server: ServerProcess) -> Iterator[Any]:
    ctx = browser.new_context(base_url=base_url(server), viewport={"width": 1400, "height": 900})
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    pg = context.new_page()
    pg.on("dialog", lambda dialog: dialog.accept())  # hx-confirm: the user says yes
    return pg


def sign_in(page: Any, secret_id: str = ADMIN_ID, secret_key: str = ADMIN_KEY) -> None:
    page.goto("/console/")
    page.get_by_label("SecretId").fill(secret_id)
    page.get_by_label("SecretKey").fill(secret_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/projects")


def csrf_token(page: Any) -> str:
    import json

    return str(json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRF-Token"])

"""The real databases of the machine, as the data-source tests use them."""

from __future__ import annotations

from tests.actions.datasources.conftest import postgres

__all__ = ["postgres"]

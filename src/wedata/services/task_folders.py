"""TODO: being written."""

from __future__ import annotations

from wedata.config import Settings
from wedata.services.common import Clock
from wedata.storage.db import Database


class TaskFolderService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

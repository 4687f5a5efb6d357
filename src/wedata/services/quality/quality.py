"""The quality service: the eleven actions' doors and the check worker.

Decisions are listed in the package docstring (``services/quality/__init__.py``).
"""

from __future__ import annotations

from typing import Any

from wedata.clock import Clock
from wedata.config import Settings
from wedata.principal import Caller
from wedata.scheduler.api import SchedulerApi
from wedata.services.alarms.alarms import AlarmService
from wedata.services.catalog.catalog import CatalogService
from wedata.services.common import Paged
from wedata.services.datasources.datasources import DataSourceService
from wedata.services.quality import listing
from wedata.services.quality.checks import Checker, QualityWorker
from wedata.services.quality.execution import Executor
from wedata.services.quality.groups import GroupService
from wedata.services.quality.rules import RuleService
from wedata.services.quality.targets import Targets
from wedata.services.quality.templates import Template
from wedata.spec import models as M
from wedata.storage.db import Database


class QualityService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, scheduler: SchedulerApi,
                 datasources: DataSourceService, catalog: CatalogService, alarms: AlarmService) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.targets = Targets(db, settings, datasources, catalog)
        self.groups = GroupService(db, clock, self.targets, scheduler)
        self.rules = RuleService(db, clock, self.targets, self.groups)
        self.executor = Executor(db, clock, self.targets)
        self.checker = Checker(db, clock, self.executor, scheduler, alarms)
        self.worker = QualityWorker(self.checker)

    # -- rules and groups -------------------------------------------------------------------------

    def create_rules(self, caller: Caller, req: M.CreateQualityRuleRequest) -> list[dict[str, Any]]:
        return self.rules.create(caller, req)

    def modify_rule(self, caller: Caller, req: M.ModifyQualityRuleRequest) -> None:
        self.rules.modify(caller, req)

    def delete_rule(self, project_id: str, rule_id: int) -> None:
        self.rules.delete(project_id, rule_id)

    def create_groups(self, caller: Caller, req: M.CreateQualityRuleGroupRequest) -> list[dict[str, Any]]:
        return self.groups.create(caller, req)

    def modify_groups(self, caller: Caller, req: M.ModifyQualityRuleGroupRequest) -> None:
        self.groups.modify(caller, req)

    def delete_groups(self, caller: Caller, req: M.DeleteQualityRuleGroupRequest) -> list[tuple[int, str]]:
        return self.groups.delete(caller, req)

    # -- lists ------------------------------------------------------------------------------------

    def list_rules(self, req: M.ListQualityRulesRequest) -> Paged[Any]:
        with self.db.read() as conn:
            return listing.list_rules(conn, req)

    def list_groups(self, req: M.ListQualityRuleGroupsRequest) -> Paged[Any]:
        with self.db.read() as conn:
            return listing.list_groups(conn, req)

    def list_tables(self, req: M.ListQualityRuleGroupsTableRequest) -> Paged[Any]:
        with self.db.read() as conn:
            return listing.list_tables(conn, req)

    def list_execs(self, req: M.ListQualityRuleGroupExecResultsByPageRequest) -> listing.ExecPage:
        with self.db.read() as conn:
            return listing.list_execs(conn, req)

    def list_templates(self, req: M.ListQualityRuleTemplatesRequest) -> Paged[tuple[Template, int]]:
        with self.db.read() as conn:
            return listing.list_templates(conn, req)

    # -- the worker -------------------------------------------------------------------------------

    def start_worker(self) -> None:
        self.worker.start()

    def stop_worker(self) -> None:
        self.worker.stop()

"""The services of one process, built once by the composition root and handed to handlers."""

from __future__ import annotations

from dataclasses import dataclass, field

from wedata.config import Settings
from wedata.services.alarms import AlarmService
from wedata.services.common import Clock, SystemClock
from wedata.services.events import EventService
from wedata.services.instances import InstanceService
from wedata.services.ops_tasks import OpsTaskService
from wedata.services.ops_workflows import OpsWorkflowService
from wedata.services.projects import ProjectService
from wedata.services.resource_groups import ResourceGroupService
from wedata.services.task_dependencies import TaskDependencyService
from wedata.services.task_folders import TaskFolderService
from wedata.services.tasks import TaskService
from wedata.services.workflows import WorkflowService
from wedata.storage.db import Database


@dataclass
class Services:
    db: Database
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)

    def __post_init__(self) -> None:
        self.projects = ProjectService(self.db, self.clock, self.settings)
        self.resource_groups = ResourceGroupService(self.db, self.clock, self.settings)
        self.workflows = WorkflowService(self.db, self.clock, self.settings)
        self.tasks = TaskService(self.db, self.clock, self.settings)
        # A workflow's unified schedule overwrites its tasks' schedules (spec §6.32).
        self.workflows.add_schedule_listener(self.tasks.apply_workflow_schedule)
        self.task_folders = TaskFolderService(self.db, self.clock, self.settings)
        self.task_dependencies = TaskDependencyService(self.db, self.clock, self.settings)
        self.instances = InstanceService(self.db, self.clock, self.settings)
        self.ops_tasks = OpsTaskService(self.db, self.clock, self.settings)
        self.ops_workflows = OpsWorkflowService(self.db, self.clock, self.settings)
        self.events = EventService(self.db, self.clock, self.settings)
        # Alarm rules; observes instance state changes (services/alarms.py).
        self.alarms = AlarmService(self.db, self.clock, self.settings)
        # Instances an event released can run now: wake an in-process engine.
        self.events.add_release_listener(lambda _ids: self.instances.notify_changed(plan=False))

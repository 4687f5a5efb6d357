"""The services of one process, built once by the composition root and handed to handlers."""

from __future__ import annotations

from dataclasses import dataclass, field

from wedata.clock import Clock, SystemClock
from wedata.config import Settings
from wedata.scheduler.api import SchedulerApi
from wedata.services.alarms.alarms import AlarmService
from wedata.services.backfill.plans import BackfillService
from wedata.services.catalog.catalog import CatalogService
from wedata.services.code.files import CodeFileService
from wedata.services.code.folders import CodeFolderService
from wedata.services.code.grants import CodePermissionService
from wedata.services.datasources.datasources import DataSourceService
from wedata.services.events.events import EventService
from wedata.services.instances.instances import InstanceService
from wedata.services.instances.lineage import InstanceLineageService
from wedata.services.instances.workflow_runs import WorkflowRunReads
from wedata.services.jobs import OpsJobService
from wedata.services.lineage.lineage import LineageService
from wedata.services.ops.instance_control import InstanceOpsService
from wedata.services.ops.rerun import RerunService
from wedata.services.ops.task_reads import OpsTaskService
from wedata.services.ops.task_status import TaskOpsService
from wedata.services.ops.workflow_reads import OpsWorkflowService
from wedata.services.permissions.authorize import Authorizer
from wedata.services.permissions.catalog import CatalogPrivileges
from wedata.services.permissions.workflows import WorkflowGrants
from wedata.services.projects.lake_engines import LakeEngineService
from wedata.services.projects.projects import ProjectService
from wedata.services.projects.resource_groups import ResourceGroupService
from wedata.services.quality.quality import QualityService
from wedata.services.resources.files import ResourceFileService
from wedata.services.resources.folders import ResourceFolderService
from wedata.services.sql.folders import SqlFolderService
from wedata.services.sql.runs import SqlRunService
from wedata.services.sql.scripts import SqlScriptService
from wedata.services.tasks.folders import TaskFolderService
from wedata.services.tasks.lineage import TaskDependencyService
from wedata.services.tasks.sql_targets import SqlTargets
from wedata.services.tasks.tasks import TaskService
from wedata.services.triggers.concurrency import RunQueueWorker
from wedata.services.triggers.firing import TriggerFiring
from wedata.services.triggers.nodes import ControlNodes
from wedata.services.triggers.ops import TriggerOpsService
from wedata.services.triggers.rerun import TriggerRerunService
from wedata.services.triggers.run_reads import TriggerRunReads
from wedata.services.triggers.runs import TriggerRunService
from wedata.services.triggers.tasks import TriggerTaskService
from wedata.services.triggers.workflows import TriggerWorkflowService
from wedata.services.workflows.workflows import WorkflowService
from wedata.storage.db import Database
from wedata.storage.secrets import SecretBox


@dataclass
class Services:
    db: Database
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    # Encrypts the secrets services store (data-source passwords). The composition root passes
    # the box of the key file (app.py); a Services built without one (a bench, a unit test)
    # gets a throwaway in-memory key, so what it stores does not outlive the process.
    secrets: SecretBox | None = None

    def __post_init__(self) -> None:
        box = self.secrets or SecretBox.generate()
        # The one door into the engine (scheduler/api.py): notifications, the shared cache.
        self.scheduler = SchedulerApi(self.db, self.settings)
        self.projects = ProjectService(self.db, self.clock, self.settings)
        self.resource_groups = ResourceGroupService(self.db, self.clock, self.settings)
        self.workflows = WorkflowService(self.db, self.clock, self.settings)
        self.tasks = TaskService(self.db, self.clock, self.settings, self.scheduler)
        # A workflow's unified schedule overwrites its tasks' schedules (spec §6.32).
        self.workflows.add_schedule_listener(self.tasks.apply_workflow_schedule)
        self.task_folders = TaskFolderService(self.db, self.clock, self.settings)
        self.task_dependencies = TaskDependencyService(self.db, self.clock, self.settings)
        self.instances = InstanceService(self.db, self.clock, self.settings, self.scheduler)
        self.instance_lineage = InstanceLineageService(self.db, self.clock, self.settings)
        # A whole workflow's latest runs and grid window in one query each (the console's graph).
        self.workflow_runs = WorkflowRunReads(self.db, self.clock, self.settings)
        self.ops_tasks = OpsTaskService(self.db, self.clock, self.settings)
        self.ops_workflows = OpsWorkflowService(self.db, self.clock, self.settings)
        self.events = EventService(self.db, self.clock, self.settings, self.scheduler)
        # Alarm rules; observes instance state changes (services/alarms/alarms.py).
        self.alarms = AlarmService(self.db, self.clock, self.settings)
        # Async ops jobs (kill, rerun, set success, pause, stop) and their worker, which wakes
        # an in-process engine after each change (services/jobs.py).
        self.ops_jobs = OpsJobService(self.db, self.clock, self.settings, self.scheduler)
        self.instance_ops = InstanceOpsService(self.db, self.clock, self.settings, self.ops_jobs)
        self.ops_rerun = RerunService(self.db, self.clock, self.settings, self.ops_jobs, self.scheduler)
        self.task_ops = TaskOpsService(self.db, self.clock, self.settings, self.ops_jobs, self.scheduler)
        # Data backfill plans; observe instance state changes to release their next instances,
        # and delete through an async job (services/backfill/plans.py).
        self.backfill = BackfillService(self.db, self.clock, self.settings, self.scheduler, self.ops_jobs)
        # Data sources: connection properties encrypted with the key file's box, one small
        # connection pool per source (services/datasources/).
        self.datasources = DataSourceService(self.db, self.clock, self.settings, box)
        # Lake engines bound to projects (AddCalcEnginesToProject), and where SQL tasks run:
        # SubmitTask's check, and the resolver the composition root gives the engine.
        self.lake_engines = LakeEngineService(self.db, self.clock, self.settings, self.projects)
        self.sql_targets = SqlTargets(self.db, self.settings, self.datasources, self.lake_engines)
        self.tasks.sql_targets = self.sql_targets
        # Workflow-scheduling projects: trigger workflows, their tasks (a TaskService through its
        # extension points) and workflow runs, whose state follows instance changes as an
        # observer (services/triggers/).
        self.trigger_workflows = TriggerWorkflowService(self.db, self.clock, self.settings, self.workflows)
        self.trigger_tasks = TriggerTaskService(self.db, self.clock, self.settings, self.scheduler)
        self.trigger_tasks.sql_targets = self.sql_targets
        self.trigger_runs = TriggerRunService(self.db, self.clock, self.settings, self.scheduler)
        # Control-flow nodes end in the engine's transactions (after the run-state observer).
        self.trigger_nodes = ControlNodes(self.db, self.settings, self.scheduler, self.trigger_runs)
        self.trigger_run_reads = TriggerRunReads(self.db, self.clock, self.settings)
        # Reruns of finished runs (an async job), the production views, and the worker that
        # expires runs queued too long behind MaxConcurrentNum and re-admits (concurrency.py).
        self.trigger_rerun = TriggerRerunService(self.db, self.clock, self.settings, self.ops_jobs, self.scheduler)
        self.trigger_ops = TriggerOpsService(self.db, self.clock, self.settings)
        self.trigger_queue = RunQueueWorker(self.db, self.clock, self.settings, self.scheduler)
        # Time and file-arrival triggers start runs from a worker of this process (firing.py).
        self.trigger_firing = TriggerFiring(self.db, self.clock, self.settings, self.trigger_runs)
        # The catalog of the data sources and the lake, cached with stable GUIDs, and its refresh
        # worker (services/catalog/).
        self.catalog = CatalogService(self.db, self.clock, self.settings, self.datasources)
        # SQL scripts of data exploration: folders, scripts, and runs executed by a worker of
        # this process on the sources' pools (services/sql/).
        self.sql_folders = SqlFolderService(self.db, self.clock, self.settings)
        self.sql_scripts = SqlScriptService(self.db, self.clock, self.settings, self.datasources)
        self.sql_runs = SqlRunService(self.db, self.clock, self.settings, self.datasources, self.sql_scripts)
        # Resource files and folders; their bytes in the object store (services/resources/).
        self.resource_folders = ResourceFolderService(self.db, self.clock, self.settings)
        self.resource_files = ResourceFileService(self.db, self.clock, self.settings)
        # Code studio: folders, files and their versions, code permissions (services/code/).
        self.code_folders = CodeFolderService(self.db, self.clock, self.settings)
        self.code_files = CodeFileService(self.db, self.clock, self.settings)
        self.code_permissions = CodePermissionService(self.db, self.clock, self.settings)
        # Table and column lineage: registered, and computed from the SQL that ran by a worker of
        # this process (services/lineage/).
        self.lineage = LineageService(self.db, self.clock, self.settings, self.catalog)
        # Permissions: workflow grants, catalog privileges (checked on the tables SQL scripts and
        # SQL tasks read and write), and the one check every action passes (services/permissions/).
        self.workflow_grants = WorkflowGrants(self.db, self.clock, self.settings, self.projects.access)
        self.authorizer = Authorizer(self.db, self.projects.access, self.workflow_grants)
        self.catalog_privileges = CatalogPrivileges(self.db, self.clock, self.settings, self.catalog)
        self.sql_runs.privileges = self.catalog_privileges
        self.sql_targets.privileges = self.catalog_privileges
        # Data quality: rules, monitoring tasks attached to production tasks, and the worker that
        # checks after their successful attempts, holds downstream instances, raises alarms
        # (services/quality/).
        self.quality = QualityService(self.db, self.clock, self.settings, self.scheduler, self.datasources,
                                      self.catalog, self.alarms)

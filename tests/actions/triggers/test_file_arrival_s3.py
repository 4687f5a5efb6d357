"""A FILE_ARRIVAL trigger watching an fsspec URL: an S3-compatible bucket (moto's standalone
server), the one the server's object store is configured with, through the official SDK."""

from __future__ import annotations

import json
import time

import boto3

from tests.actions.resources.conftest import BUCKET, REGION, moto, s3_server  # noqa: F401 (fixtures)
from tests.actions.triggers.firing_support import file_trigger, runs, set_triggers, workflow_with_task
from tests.support import ServerProcess, unique
from tests.waiting import wait_until


def test_an_object_put_under_a_watched_prefix_starts_one_run(s3_server: ServerProcess, moto: str) -> None:  # noqa: F811
    api = s3_server.admin()
    prefix = f"incoming/{unique('p')}"
    space, _ = workflow_with_task(api)
    set_triggers(api, space, file_trigger(f"s3://{BUCKET}/{prefix}", FileNamePattern="*.json",
                                          TriggerWaitTimeSecond=1, TriggerMinimumIntervalSecond=1),
                 mode="FILE_ARRIVAL")
    s3 = boto3.client("s3", endpoint_url=moto, region_name=REGION, aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/day=1/a.json", Body=b"{}")  # Recursive defaults to 1
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/skip.csv", Body=b"x")
    (run,) = wait_until(lambda: runs(api, space), lambda rs: len(rs) >= 1, what="a run", progress=len)
    params = {p["ParamKey"]: p["ParamValue"] for p in json.loads(run["WorkflowParams"])}
    assert params["trigger_files"] == f"s3://{BUCKET}/{prefix}/day=1/a.json" and params["trigger_file_count"] == "1"
    # A URL outside the watch roots (another bucket) is refused.
    err = api.error("UpdateTriggerWorkflow", {"ProjectId": space.project, "WorkflowId": space.workflow,
                                              "TriggerWorkflowSchedulerConfigurations": [
                                                  file_trigger("s3://another-bucket/x")]})
    assert err.code == "InvalidParameterValue" and "watch root" in err.message
    time.sleep(2.5)
    assert len(runs(api, space)) == 1  # the same object never starts a second run

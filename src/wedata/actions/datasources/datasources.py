"""Data sources (WeData 2025-08-06: CreateDataSource ... GetDataSourceRelatedTasks).

Rules: ``services/datasources/``. The grant and reference actions carry no ``ProjectId``: the
service checks the caller against the project that owns the source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.datasources import wire
from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("CreateDataSource")
def create_data_source(
    services: Services, ctx: RequestContext, req: M.CreateDataSourceRequest
) -> M.CreateDataSourceResponse:
    source_id = services.datasources.create(ctx.caller, req)
    return M.CreateDataSourceResponse(data=M.DataSourceResult(status=True, data_source_id=source_id))


@action("GetDataSource")
def get_data_source(services: Services, ctx: RequestContext, req: M.GetDataSourceRequest) -> M.GetDataSourceResponse:
    return M.GetDataSourceResponse(data=wire.source(services.datasources.get(ctx.caller, req.project_id, req.id)))


@action("ListDataSources")
def list_data_sources(
    services: Services, ctx: RequestContext, req: M.ListDataSourcesRequest
) -> M.ListDataSourcesResponse:
    return M.ListDataSourcesResponse(data=wire.source_page(services.datasources.list_sources(ctx.caller, req)))


@action("UpdateDataSource")
def update_data_source(
    services: Services, ctx: RequestContext, req: M.UpdateDataSourceRequest
) -> M.UpdateDataSourceResponse:
    services.datasources.update(ctx.caller, req)
    return M.UpdateDataSourceResponse(data=M.DataSourceStatus(status=True))


@action("DeleteDataSource")
def delete_data_source(
    services: Services, ctx: RequestContext, req: M.DeleteDataSourceRequest
) -> M.DeleteDataSourceResponse:
    services.datasources.delete(ctx.caller, req.project_id, req.id)
    return M.DeleteDataSourceResponse(data=M.DataSourceStatus(status=True))


@action("AuthorizeDataSource", project_scoped=False)
def authorize_data_source(
    services: Services, ctx: RequestContext, req: M.AuthorizeDataSourceRequest
) -> M.AuthorizeDataSourceResponse:
    services.datasources.authorize(ctx.caller, req)
    return M.AuthorizeDataSourceResponse(data=M.DataSourceStatus(status=True))


@action("RevokeDataSourceAuthorization", project_scoped=False)
def revoke_data_source_authorization(
    services: Services, ctx: RequestContext, req: M.RevokeDataSourceAuthorizationRequest
) -> M.RevokeDataSourceAuthorizationResponse:
    services.datasources.revoke(ctx.caller, req)
    return M.RevokeDataSourceAuthorizationResponse(data=M.DataSourceStatus(status=True))


@action("DescribeDataSourceAuthority", project_scoped=False)
def describe_data_source_authority(
    services: Services, ctx: RequestContext, req: M.DescribeDataSourceAuthorityRequest
) -> M.DescribeDataSourceAuthorityResponse:
    return M.DescribeDataSourceAuthorityResponse(data=wire.authority(services.datasources.authority(ctx.caller, req.id)))


@action("GetDataSourceRelatedTasks", project_scoped=False)
def get_data_source_related_tasks(
    services: Services, ctx: RequestContext, req: M.GetDataSourceRelatedTasksRequest
) -> M.GetDataSourceRelatedTasksResponse:
    return M.GetDataSourceRelatedTasksResponse(
        data=wire.related(services.datasources.related_tasks(ctx.caller, req.id))
    )

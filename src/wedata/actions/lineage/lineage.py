"""RegisterLineage, DeleteLineage, ListLineage, ListColumnLineage, ListProcessLineage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.lineage import wire
from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("RegisterLineage", project_scoped=False)
def register_lineage(services: Services, ctx: RequestContext, req: M.RegisterLineageRequest
                     ) -> M.RegisterLineageResponse:  # fmt: skip
    services.lineage.register(ctx.caller, req)
    return M.RegisterLineageResponse(data=M.OperateResult(status=1))


@action("DeleteLineage", project_scoped=False)
def delete_lineage(services: Services, ctx: RequestContext, req: M.DeleteLineageRequest) -> M.DeleteLineageResponse:
    services.lineage.delete(ctx.caller, req)
    return M.DeleteLineageResponse(data=M.OperateResult(status=1))


@action("ListLineage", project_scoped=False)
def list_lineage(services: Services, ctx: RequestContext, req: M.ListLineageRequest) -> M.ListLineageResponse:
    return M.ListLineageResponse(data=wire.hop_page(services.lineage.list_lineage(ctx.caller, req)))


@action("ListColumnLineage", project_scoped=False)
def list_column_lineage(services: Services, ctx: RequestContext, req: M.ListColumnLineageRequest
                        ) -> M.ListColumnLineageResponse:  # fmt: skip
    return M.ListColumnLineageResponse(data=wire.hop_page(services.lineage.list_column_lineage(ctx.caller, req)))


@action("ListProcessLineage", project_scoped=False)
def list_process_lineage(services: Services, ctx: RequestContext, req: M.ListProcessLineageRequest
                         ) -> M.ListProcessLineageResponse:  # fmt: skip
    return M.ListProcessLineageResponse(data=wire.pair_page(services.lineage.list_process_lineage(ctx.caller, req)))

"""The eleven data-quality actions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wedata.actions.quality import wire
from wedata.actions.registry import action
from wedata.protocol.context import RequestContext
from wedata.services.errors import InvalidValue
from wedata.spec import models as M

if TYPE_CHECKING:
    from wedata.services.container import Services


@action("CreateQualityRule")
def create_quality_rule(services: Services, ctx: RequestContext, req: M.CreateQualityRuleRequest
                        ) -> M.CreateQualityRuleResponse:  # fmt: skip
    made = services.quality.create_rules(ctx.caller, req)
    return M.CreateQualityRuleResponse(data=M.CreateQualityRuleVO(
        msg="success", sum_count=len(made), success_count=len(made), failed_count=0,
        success_rule_ids=[m["rule_id"] for m in made],
        results=[M.QualityRuleCreateResult(msg="success", success=True, name=m["name"], rule_group_id=m["group_id"],
                                           rule_group_table_id=m["table_id"], rule_id=m["rule_id"]) for m in made]))


@action("ModifyQualityRule")
def modify_quality_rule(services: Services, ctx: RequestContext, req: M.ModifyQualityRuleRequest
                        ) -> M.ModifyQualityRuleResponse:  # fmt: skip
    services.quality.modify_rule(ctx.caller, req)
    return M.ModifyQualityRuleResponse(data=True)


@action("DeleteQualityRule")
def delete_quality_rule(services: Services, ctx: RequestContext, req: M.DeleteQualityRuleRequest
                        ) -> M.DeleteQualityRuleResponse:  # fmt: skip
    services.quality.delete_rule(req.project_id, req.rule_id)
    return M.DeleteQualityRuleResponse(data=True)


@action("ListQualityRules")
def list_quality_rules(services: Services, ctx: RequestContext, req: M.ListQualityRulesRequest
                       ) -> M.ListQualityRulesResponse:  # fmt: skip
    return M.ListQualityRulesResponse(data=wire.rule_page(services.quality.list_rules(req)))


@action("CreateQualityRuleGroup")
def create_quality_rule_group(services: Services, ctx: RequestContext, req: M.CreateQualityRuleGroupRequest
                              ) -> M.CreateQualityRuleGroupResponse:  # fmt: skip
    made = services.quality.create_groups(ctx.caller, req)
    return M.CreateQualityRuleGroupResponse(data=M.CreateQualityRuleGroupResultVO(rule_group_result_list=[
        M.QualityRuleGroupResult(id=m["id"], name=m["name"], rule_group_table_id=m["table_id"],
                                 datasource_id=str(m["ref"].datasource_id), database_name=m["ref"].database,
                                 schema_name=m["ref"].schema or None, table_name=m["ref"].table,
                                 monitor_type=m["monitor_type"],
                                 catalog_name="DataLakeCatalog" if m["ref"].source_key == "lake" else None)
        for m in made]))


@action("ModifyQualityRuleGroup")
def modify_quality_rule_group(services: Services, ctx: RequestContext, req: M.ModifyQualityRuleGroupRequest
                              ) -> M.ModifyQualityRuleGroupResponse:  # fmt: skip
    if not req.project_id:
        raise InvalidValue("ProjectId is required")
    services.quality.modify_groups(ctx.caller, req)
    return M.ModifyQualityRuleGroupResponse(data=M.ModifyQualityRuleGroupResultVO(result=True))


@action("DeleteQualityRuleGroup")
def delete_quality_rule_group(services: Services, ctx: RequestContext, req: M.DeleteQualityRuleGroupRequest
                              ) -> M.DeleteQualityRuleGroupResponse:  # fmt: skip
    gone = services.quality.delete_groups(ctx.caller, req)
    return M.DeleteQualityRuleGroupResponse(data=M.DeleteQualityRuleGroupResultVO(
        sum_count=len(gone), success_count=len(gone), failed_count=0,
        results=[M.CommonQualityOperateResult(id=i, name=name, msg="success", success=True) for i, name in gone]))


@action("ListQualityRuleGroups")
def list_quality_rule_groups(services: Services, ctx: RequestContext, req: M.ListQualityRuleGroupsRequest
                             ) -> M.ListQualityRuleGroupsResponse:  # fmt: skip
    return M.ListQualityRuleGroupsResponse(data=wire.group_page(services.quality.list_groups(req)))


@action("ListQualityRuleGroupsTable")
def list_quality_rule_groups_table(services: Services, ctx: RequestContext, req: M.ListQualityRuleGroupsTableRequest
                                   ) -> M.ListQualityRuleGroupsTableResponse:  # fmt: skip
    return M.ListQualityRuleGroupsTableResponse(data=wire.table_page(services.quality.list_tables(req)))


@action("ListQualityRuleGroupExecResultsByPage")
def list_quality_rule_group_exec_results(services: Services, ctx: RequestContext,
                                         req: M.ListQualityRuleGroupExecResultsByPageRequest
                                         ) -> M.ListQualityRuleGroupExecResultsByPageResponse:  # fmt: skip
    return M.ListQualityRuleGroupExecResultsByPageResponse(data=wire.exec_page(services.quality.list_execs(req)))


@action("ListQualityRuleTemplates")
def list_quality_rule_templates(services: Services, ctx: RequestContext, req: M.ListQualityRuleTemplatesRequest
                                ) -> M.ListQualityRuleTemplatesResponse:  # fmt: skip
    return M.ListQualityRuleTemplatesResponse(data=wire.template_page(services.quality.list_templates(req)))

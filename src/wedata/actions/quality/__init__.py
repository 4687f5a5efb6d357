"""Data quality (WeData 2025-08-06): CreateQualityRule, ModifyQualityRule, DeleteQualityRule,
ListQualityRules, CreateQualityRuleGroup, ModifyQualityRuleGroup, DeleteQualityRuleGroup,
ListQualityRuleGroups, ListQualityRuleGroupsTable, ListQualityRuleGroupExecResultsByPage,
ListQualityRuleTemplates.

Rules: ``services/quality/``. Every action carries a ``ProjectId``: the registry checks that the
caller is a member of the project.
"""

"""Rule configuration: every threshold of rules.md is a setting with its documented default.

PLACEHOLDER — the rules engineer owns this file and completes it (see the issue for the
list of keys). The API below is fixed: ``RuleConfig`` (frozen pydantic model) and
``load_rules(path) -> RuleConfig`` which raises ``RulesFileError`` naming the bad key.
"""

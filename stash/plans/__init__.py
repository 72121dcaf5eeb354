"""Analysis plans: building them (analysis jobs), reviewing them (pages, API) and applying them to Stash
(the apply_plan job). The models are in models.py, the rules here; the pages and API are views.py, api.py,
admin.py and urls.py.

- values: the allowed field/action pairs and value shapes; PlanError / PlanStateError.
- review: create_plan, add_changes, finish_plan, the review operations, cancel_plan and the one
  plan-status rule (refresh_status).
- lookup: tag/performer/studio names to Stash ids (exact match, creation only when allowed).
- apply: the apply itself (apply_plan), scene by scene.
"""

from stash.plans.review import (
    add_changes,
    cancel_plan,
    create_plan,
    edit_proposed_value,
    finish_plan,
    refresh_status,
    review_by_confidence,
    review_by_field,
    review_plan,
    review_scene,
    review_status,
    review_where,
    set_change_status,
    use_existing_name,
)
from stash.plans.values import PlanError, PlanStateError

__all__ = [
    "PlanError",
    "PlanStateError",
    "add_changes",
    "cancel_plan",
    "create_plan",
    "edit_proposed_value",
    "finish_plan",
    "refresh_status",
    "review_by_confidence",
    "review_by_field",
    "review_plan",
    "review_scene",
    "review_status",
    "review_where",
    "set_change_status",
    "use_existing_name",
]

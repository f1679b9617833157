"""The expert pool and each application's review panel (第十八条 组织专家评审, docs/expert-panel.md).

Importing registers the tables and the service tasks ``draw_expert_panel`` and ``settle_expert_panel``.
"""
from __future__ import annotations

from handlers.experts.draw import avoidance, candidates, draw_expert_panel, order
from handlers.experts.models import ExpertPanelDraw, ExpertPanelSeat, ExpertProfile
from handlers.experts.panel import panel_result, settle_expert_panel
from handlers.experts.pool import (
    PanelSettings,
    PoolEntry,
    entry,
    expert_users,
    field_choices,
    field_label,
    pool,
    save_profile,
    settings,
)
from handlers.experts.views import panel_view, panels_waiting

__all__ = [
    "ExpertProfile", "ExpertPanelDraw", "ExpertPanelSeat",
    "PanelSettings", "PoolEntry", "settings", "pool", "entry", "save_profile", "expert_users",
    "field_choices", "field_label",
    "order", "candidates", "avoidance", "draw_expert_panel",
    "panel_result", "settle_expert_panel",
    "panel_view", "panels_waiting",
]

"""The green-manufacturing domain: reference data, records, rules with articles, service tasks.

Importing ``handlers`` registers its service tasks and script functions with
``engine.services`` (the modules register themselves on import) and its tables with
``engine.db.Base.metadata``.  What other packages may use is listed in ``__all__``.
"""
from __future__ import annotations

from handlers.application import normalise_application
from handlers.campaign import (
    close_campaign,
    notify,
    open_campaign,
    record_filing,
    remind_campaign,
    supervisor_of,
    supervisor_scope_of,
)
from handlers.divisions import PROVINCE, Division, cities, city_of, counties_of, division, is_county
from handlers.industries import Industry, industry, industry_table
from handlers.notices import close_notice, open_notice, record_objection
from handlers.records import (
    AnnualFiling,
    ApplicationRecord,
    Campaign,
    CultivationRecord,
    Evaluator,
    EvaluatorBan,
    Listing,
    NegativeRecord,
    Notice,
    Objection,
    Unit,
)
from handlers.rules import EligibilityResult, Violation, check_application
from handlers.services import OUTCOMES, check_eligibility, record_listing, record_outcome
from handlers.uscc import make_uscc, validate_uscc

# The processes after the application: each module registers its start hook, service tasks and
# tables on import (complaints 第三十二条; changes and incidents 第二十六–二十九条; the filing
# review and green codes 第二十四、二十五条; list publication and national recommendation
# 第二十、二十一、二十七条; evaluators and cultivation 第九–十三、三十、三十一条).
from handlers import start as _start  # noqa: F401,E402
from handlers import complaints as _complaints  # noqa: F401,E402
from handlers import changes as _changes, unit_incidents as _unit_incidents  # noqa: F401,E402
from handlers import filing_review as _filing_review, green_codes as _green_codes  # noqa: F401,E402
from handlers import list_publication as _list_publication  # noqa: F401,E402
from handlers import national_recommendation as _national_recommendation  # noqa: F401,E402
from handlers import evaluators as _evaluators, cultivation as _cultivation  # noqa: F401,E402
from handlers import deadlines as _deadlines  # noqa: F401,E402  (办理时限, config/deadlines.toml)
from handlers import application_windows as _application_windows  # noqa: F401,E402  (申报通知, 第十四条)
from handlers import credit_records as _credit_records  # noqa: F401,E402  (信用记录, 第二十七条第2—6项)
from handlers import park_members as _park_members  # noqa: F401,E402  (入园企业, 第二十三、二十七条)
from handlers import spot_checks as _spot_checks  # noqa: F401,E402  (现场抽查复核, 第二十六条)
from handlers import interchange as _interchange  # noqa: F401,E402  (与绿色发展管理平台交换, 第八条)
from handlers import experts as _experts  # noqa: F401,E402  (专家库与评审组, 第十八条)

__all__ = [
    # reference data
    "PROVINCE", "Division", "division", "city_of", "is_county", "counties_of", "cities",
    "Industry", "industry", "industry_table",
    "validate_uscc", "make_uscc",
    "normalise_application",
    # records
    "Unit", "ApplicationRecord", "Listing", "Evaluator", "EvaluatorBan", "NegativeRecord",
    "CultivationRecord", "Notice", "Objection", "Campaign", "AnnualFiling",
    # rules
    "Violation", "EligibilityResult", "check_application",
    # service tasks (registered on import) and the objection intake
    "OUTCOMES", "check_eligibility", "record_outcome", "record_listing",
    "open_notice", "close_notice", "record_objection",
    # deadlines and the annual campaign (第十八、二十四、二十七条)
    "supervisor_of", "supervisor_scope_of",
    "notify", "open_campaign", "record_filing", "remind_campaign", "close_campaign",
]

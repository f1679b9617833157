"""公告: a published list shows who is listed and who was removed on which ground (第二十、二十七条)."""
from __future__ import annotations

from handlers import demo
from tests.scenarios.test_list_publication import negative, put_on_list, start_publication

U2, U6 = demo.UNITS[1], demo.UNITS[5]


def test_a_published_provincial_list_shows_its_removals_with_the_ground(site):
    green = site.scenario
    put_on_list(site.engine, U6.credit_code, U6.name, U6.county, "province")
    put_on_list(site.engine, U2.credit_code, U2.name, U2.county, "province")
    negative(site.engine, U2.credit_code, 7, "2025-04-16", "未按时填报动态管理表")
    client = site.client()
    assert site.client().get("/public/announcements/province/520000/2026").status_code == 404  # not yet
    iid = start_publication(green, "province", "520000", as_user="province")
    green.step(iid, "confirm_publication", {"publication_decision": "publish", "publication_ref": "黔工信节〔2026〕9号"})
    index = client.get("/public/announcements/").get_data(as_text=True)
    assert "/public/announcements/province/520000/2026" in index
    page = client.get("/public/announcements/province/520000/2026").get_data(as_text=True)
    listed = page[page.index('data-testid="listed"'):page.index('data-testid="removed"')]
    removed = page[page.index('data-testid="removed"'):]
    assert U6.name in listed and U2.name not in listed
    assert U2.name in removed and "第二十七条第7项" in removed


def test_unknown_level_is_404(site):
    assert site.client().get("/public/announcements/county/520302/2026").status_code == 404

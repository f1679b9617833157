"""The timer sweep fires due timers through the engine, once."""
from __future__ import annotations

from engine.scheduler import sweep
from tests.scenarios.driver import PASS
from handlers import demo


def test_sweep_fires_the_due_notice_timer_once(green):
    iid = green.apply(demo.UNITS[0])
    green.step(iid, "review", PASS)
    green.step(iid, "review", PASS)
    green.consult(iid)
    assert sweep(green.engine) == 0  # not due yet
    green.engine.clock.advance(days=8)
    assert sweep(green.engine) == 1
    assert sweep(green.engine) == 0
    assert green.view(iid)["data"]["outcome"] == "listed_city"

"""The worker's notification job: deadline watch, fan-out to the centre, and mail in its own thread.

``NotificationJob(engine, mail_settings)`` is appended to ``TimerWorker.jobs`` (leader only) by
``greenflow worker`` and ``greenflow serve``. Each call queues due reminders and escalations
(``engine.deadlines.sweep``), fans unsettled outbox notifications out (``fanout.fan_out``) and,
when mail is on, starts a mail round (``mail.deliver_due``) in a background thread unless the
previous round is still running — so SMTP never delays the timers.
"""
from __future__ import annotations

import logging
import threading

from engine import deadlines
from engine.notifications import fanout, mail

log = logging.getLogger(__name__)


class NotificationJob:
    __name__ = "notifications"

    def __init__(self, engine, mail_settings: mail.MailSettings | None = None):
        self.engine = engine
        self.mail = mail_settings or mail.MailSettings()
        self._round: threading.Thread | None = None

    def __call__(self) -> dict:
        queued = deadlines.sweep(self.engine.db, self.engine.clock)
        spread = fanout.fan_out(self.engine.db, self.engine.clock, mail=self.mail.enabled)
        if self.mail.enabled and (self._round is None or not self._round.is_alive()):
            self._round = threading.Thread(target=self._mail_round, name="greenflow-mail", daemon=True)
            self._round.start()
        return {**queued, **spread}

    def _mail_round(self) -> None:
        try:
            counts = mail.deliver_due(self.engine.db, self.engine.clock, self.mail)
            if any(counts.values()):
                log.info("mail: %(sent)d sent, %(retry)d to retry, %(failed)d given up", counts)
        except Exception:  # a failing round must not kill the thread's caller; the next tick tries again
            log.exception("mail round failed")

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the running mail round (tests, shutdown)."""
        if self._round is not None:
            self._round.join(timeout)

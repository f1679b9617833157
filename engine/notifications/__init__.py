"""Notifications: the centre (one row per recipient), mail through SMTP, and the worker job.

Public surface: ``fanout.fan_out`` (outbox → notifications and mails), ``mail.deliver_due`` and
``mail.MailSettings``, ``centre`` (queries of the web pages), ``jobs.NotificationJob`` (the
worker), and the tables in ``models``. See docs/notifications.md.
"""

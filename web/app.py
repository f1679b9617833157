"""The Flask application factory. Importing ``web`` connects to nothing and starts nothing."""
from __future__ import annotations

import secrets

from flask import Flask

import config as _config


def create_app(settings: dict | _config.Settings | None = None) -> Flask:
    """Build the app: config defaults, then GREENFLOW_* environment, then ``settings`` (tests)."""
    if not isinstance(settings, _config.Settings):
        settings = _config.Settings.load(settings)
    app = Flask(__name__, instance_path=str(_config.PROJECT_DIR / "instance"))
    app.config.update(
        SECRET_KEY=settings.secret_key or secrets.token_hex(32),
        GREENFLOW=settings,
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
    )
    app.json.ensure_ascii = False

    from web import extensions

    extensions.init_app(app, settings)

    from web import security

    security.init_app(app, settings)  # headers on every response, Secure cookies, ProxyFix

    from web import errors, i18n, navigation
    from web.blueprints import admin, announcements, auth, home, inbox, instances, portal, processes, public, tasks

    i18n.init_app(app)
    navigation.init_app(app)
    errors.register(app)
    app.register_blueprint(home.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(instances.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(processes.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(announcements.bp)
    from web.blueprints import modeler  # 流程建模: process owners edit and deploy (docs/modeler.md)

    app.register_blueprint(modeler.bp)
    from web.blueprints import migrations  # 实例迁移: move running instances between versions (issue 12)

    app.register_blueprint(migrations.bp)
    from web.blueprints import audit, audit_evidence  # 审计: search, replay, verification, exports

    app.register_blueprint(audit.bp)
    app.register_blueprint(audit_evidence.bp)
    from web.blueprints import notifications  # 通知中心: the bell, the list, mark read (issue 15)
    app.register_blueprint(notifications.bp)
    from web.blueprints import records  # 名单事务: application notices, credit records, national platform (issue 16)
    app.register_blueprint(records.bp)
    from web.blueprints import parks, spot_checks  # 入园企业 (第二十三、二十七条), 现场抽查复核 (第二十六条), issue 16
    app.register_blueprint(parks.bp)
    app.register_blueprint(spot_checks.bp)
    from web.blueprints import experts  # 专家库与评审组 (第十八条), issue 16 item 4
    app.register_blueprint(experts.bp)
    from web.api import init_app as init_api  # REST API /api/v1 (CSRF-exempt) + `greenflow tokens`
    init_api(app)

    from web import cli

    cli.register(app)
    return app

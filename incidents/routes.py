"""Every blueprint of the application, registered in one place."""

from __future__ import annotations

from flask import Flask

from incidents.api.v1 import blueprint as api_v1
from incidents.views import (
    account,
    actors,
    admin,
    auth,
    cases,
    custody,
    main,
    research,
    review,
    submit,
)
from incidents.views import incidents as incidents_views

BLUEPRINTS = (main.blueprint, auth.blueprint, account.blueprint, admin.blueprint,
              custody.blueprint, submit.blueprint, research.blueprint, review.blueprint,
              incidents_views.blueprint, cases.blueprint, actors.blueprint, api_v1)


def register_blueprints(app: Flask) -> None:
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)

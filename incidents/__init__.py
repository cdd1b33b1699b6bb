"""The evidence platform (Kazakhstan, January 2022): witnesses, reviewers, researchers.

Docstring only, on purpose: importing a service must not load Flask. The application is
built by `incidents.app.create_app`; docs/architecture.md maps the layers.
"""

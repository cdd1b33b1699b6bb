"""The innermost layer: settings, errors, clock, field checks and the Flask-free database half.

Nothing here imports Flask, the models or the services (import-linter checks it).
"""

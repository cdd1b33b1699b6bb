"""Blueprints of the web pages, one per area."""

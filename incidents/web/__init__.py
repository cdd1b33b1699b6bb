"""Flask plumbing shared by every face (views, API, CLI); no routes live here."""

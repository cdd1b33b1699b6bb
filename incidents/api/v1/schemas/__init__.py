"""Request and answer models of /api/v1, one module per resource (see `base` for the pattern).

They are the one source of the API's shapes: they validate what comes in, serialise what
goes out, and `incidents.api.v1.openapi` turns them into /api/v1/openapi.json.
"""

"""Request and response shapes of the API as pydantic v2 models, one module per resource."""

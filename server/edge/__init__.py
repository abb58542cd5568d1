"""The edge: the app factory and its components, settings, the CLI, authentication and
tokens, errors mapped to HTTP and WebSocket codes, request bodies and JSON, the SQL port,
metrics, the OpenAPI document and the web pages."""

"""The REST API's OpenAPI 3.1 document: wire models, the operation table, and the route serving it."""

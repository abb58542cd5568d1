"""The server, one package per capability plus the edge:

- ``edge``: app factory, components, settings, CLI, auth and tokens, errors, SQL port, metrics,
  OpenAPI document, web pages;
- ``lessons``, ``live`` (WHIP/WHEP and the lesson channel), ``replay``, ``training``, ``directory``,
  ``presence``, ``attendance``, ``credits``, ``ledger``: each holds its service, its store and its
  routes.
"""

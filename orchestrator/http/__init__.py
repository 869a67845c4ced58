"""The HTTP API: the aiohttp app and its composition root, routes, schemas and OpenAPI.

Handlers only translate (JSON in through ``schemas``, one ``orchestrator.service`` call, JSON
out); the rules live in the service layer below.
"""

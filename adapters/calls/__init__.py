"""The call machinery every platform adapter shares, apart from any one platform's payloads.

``http`` sends one attempt and decides whether a failed request was *certainly not sent*;
``answers`` caps an answer's size and checks its amounts; ``statuses`` is the one table from an
HTTP status to the error taxonomy; ``line_refusals`` names an error's SKUs and refuses a catalog
reference a platform cannot take; ``policy`` holds the timeouts and retry rules; ``retry`` runs
the attempts; ``resilience`` keeps bulkheads, circuit breakers and call counters; ``caller`` puts
them together for one merchant store, with two seams a platform fills in: ``classify`` (which
answers are errors, including a 200 that says so) and an ``Auth`` (the headers, refreshed once
on a 401). ``boundary`` is the adapters' last line, which ``caller`` applies to each attempt: an
exception that is not a ``PlatformError`` becomes one, by how far the attempt got.
"""

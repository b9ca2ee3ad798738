"""Inbound webhooks from the services prodshield pages: public routes whose authentication is
the sender's signature.

``POST /hooks/pagerduty/{notifier}``: a PagerDuty v3 webhook subscription. Its
``X-PagerDuty-Signature`` must carry the HMAC-SHA256 of the raw body under the notifier's
``webhook_secret`` (a wrong one counts against the client like a wrong API token); an
``incident.acknowledged`` event acknowledges the open prodshield incident whose alert it is (the
``incident_key`` is the alert's dedup key), naming who acknowledged it in PagerDuty. Every other
event is answered 200 and ignored, so PagerDuty does not retry it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from prodshield.errors import NotFound
from prodshield.monitor.incidents import acknowledge, open_incident_of
from prodshield.notify.providers.pagerduty import WEBHOOK_MAX_BYTES, signature_ok, webhook_event
from prodshield.web.api import bounded_body, error, throttled
from prodshield.web.context import ctx_of


async def pagerduty(request: Request) -> Response:
    ctx = ctx_of(request)
    name = request.path_params["notifier"]
    notifier = ctx.loaded.config.notifiers.get(name)
    secret = getattr(notifier, "webhook_secret", None)
    if notifier is None or getattr(notifier, "type", None) != "pagerduty" or not secret:
        return error(404, "no PagerDuty notifier with a webhook_secret by that name")
    client = ctx.guard.client(request)
    if ctx.guard.throttled(client):
        return throttled()
    body = await bounded_body(request, WEBHOOK_MAX_BYTES)
    if body is None:
        return error(413, "webhook body too large")
    if not signature_ok(secret, body, request.headers.get("x-pagerduty-signature")):
        ctx.guard.failed(client)
        return error(401, "missing or wrong X-PagerDuty-Signature")
    parsed = webhook_event(body)
    if parsed is None:
        return error(400, "not a PagerDuty v3 webhook event")
    event_type, key, who = parsed
    if event_type != "incident.acknowledged" or not key:
        return JSONResponse({"ignored": event_type})
    incident_id = await ctx.writes.run(open_incident_of, ctx.store, key)
    if incident_id is None:
        return JSONResponse({"ignored": event_type, "reason": "no open incident for that alert"})
    by = f"{who} (PagerDuty)"
    ctx.responses.invalidate()
    try:
        outcome = await ctx.writes.run(acknowledge, ctx.store, ctx.loaded.config, incident_id, by)
    except NotFound:
        return JSONResponse({"ignored": event_type, "reason": "no open incident for that alert"})
    if not outcome.changed:
        # resolved or acknowledged meanwhile: nothing recorded, and PagerDuty is told so
        return JSONResponse({"ignored": event_type, "reason": outcome.describe(by)})
    return JSONResponse({"acknowledged": incident_id, "by": by})


routes = [Route("/hooks/pagerduty/{notifier}", pagerduty, methods=["POST"])]

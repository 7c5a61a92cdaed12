"""evcli's generated entrypoint for an Azure Functions Python app (v2 model).

evcli deploy adds it to the function's zip and sets the app setting
PYTHON_SCRIPT_FILE_NAME to it, so the Python worker indexes this file instead
of function_app.py. It imports the function's module (the module of
EVCLI_HANDLER, "module.name", else function_app), finds the one function it
registers with an Event Grid trigger on a FunctionApp (or Blueprint) — the
one called name when it registers several — or, when it registers none, the
function the module defines as name, and registers on its own FunctionApp the
two functions evcli calls:

  events        Event Grid trigger: every event subscription of the app
                delivers here, and the handler gets the event as its trigger
                argument.
  evcli-invoke  HTTP POST /api/evcli-invoke, function auth level (evcli
                invoke): the body is the event; the answer is the handler's
                result as JSON, or 500 with {errorType, errorMessage} when it
                raises.

The in-function guard is not applied here: evcli refuses a Python function
whose patterns Event Grid cannot enforce, even with the opt-in.
"""
import asyncio
import importlib
import inspect
import json
import os
import sys
from datetime import datetime

import azure.functions as func

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


def _registered(module):
    """(name, user function, trigger argument name) of each function the
    module registers with an Event Grid trigger."""
    out = []
    for value in list(vars(module).values()):
        if not isinstance(value, (func.FunctionApp, func.Blueprint)) or value is app:
            continue
        for fn in value.get_functions():
            trigger = fn.get_trigger()
            if trigger is not None and getattr(trigger, "type", "") == "eventGridTrigger":
                out.append((fn.get_function_name(), fn.get_user_function(), trigger.name))
    return out


def _load():
    spec = os.environ.get("EVCLI_HANDLER") or ""
    module_name, _, name = spec.rpartition(".")
    if not module_name:
        module_name, name = "function_app", spec
    module_name = module_name.replace("/", ".")
    module = importlib.import_module(module_name)
    where = "%s.py (EVCLI_HANDLER %s)" % (module_name.replace(".", "/"), json.dumps(spec))
    found = _registered(module)
    pick = [f for f in found if f[0] == name or f[1].__name__ == name]
    if not pick and len(found) == 1:
        pick = found
    if not pick and len(found) > 1:
        raise RuntimeError("evcli: %s registers %d Event Grid functions (%s); evcli delivers a function's events to one: "
                           "register one per function app, or name it in the handler"
                           % (where, len(found), ", ".join(f[0] for f in found)))
    if pick:
        _, fn, arg = pick[0]
        return fn, arg
    fn = getattr(module, name, None) if name else None
    if not callable(fn):
        raise RuntimeError("evcli: %s registers no Event Grid function (event_grid_trigger) and defines no function %s"
                           % (where, json.dumps(name)))
    return fn, None


def _time(value):
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _cloud_event(ev):
    """ev as a CloudEvent: evcli invoke sends the bus's event (an
    EventBridge envelope, as on every provider), which Event Grid would
    have delivered as a CloudEvent (type the detail-type, data the
    detail); a CloudEvent or anything else is left as it is."""
    if not isinstance(ev, dict) or "specversion" in ev or "detail-type" not in ev:
        return ev
    ce = {"specversion": "1.0", "id": ev.get("id", ""), "source": ev.get("source", ""), "type": ev.get("detail-type", ""),
          "time": ev.get("time"), "data": ev.get("detail") if ev.get("detail") is not None else {}}
    if ev.get("resources"):
        ce["subject"] = ev["resources"][0]
    return ce


def _grid_event(ev):
    """The func.EventGridEvent the Functions host gives a trigger for the
    CloudEvent ev (a dict)."""
    ev = _cloud_event(ev)
    if not isinstance(ev, dict):
        ev = {"data": ev}
    return func.EventGridEvent(id=ev.get("id", ""), data=ev.get("data"), topic=ev.get("source", ""),
                               subject=ev.get("subject", ""), event_type=ev.get("type", ""),
                               event_time=_time(ev.get("time")), data_version=ev.get("dataversion", ""))


def _envelope(event):
    """The bus's event (EventBridge envelope) an Event Grid event carries."""
    t = event.event_time
    return {"version": "0", "id": event.id, "source": event.topic, "detail-type": event.event_type,
            "time": t.isoformat() if t else None, "resources": [event.subject] if event.subject else [],
            "detail": event.get_json() if event.get_json() is not None else {}}


def _call(event):
    """Runs the handler with event (a func.EventGridEvent)."""
    if _ARG is None:
        result = _FN(_envelope(event), None)
    else:
        result = _FN(**{_ARG: event})
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    return result


app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
_FN, _ARG = _load()


@app.function_name(name="events")
@app.event_grid_trigger(arg_name="event")
def events(event: func.EventGridEvent):
    _call(event)


@app.function_name(name="evcli-invoke")
@app.route(route="evcli-invoke", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def evcli_invoke(req: func.HttpRequest) -> func.HttpResponse:
    body = req.get_body() or b""
    try:
        ev = json.loads(body) if body.strip() else {}
    except ValueError:
        ev = body.decode("utf-8", "replace")
    try:
        result = _call(_grid_event(ev))
    except Exception as e:  # the handler's failure is the invocation's result
        print("%s: %s" % (type(e).__name__, e), file=sys.stderr, flush=True)
        return func.HttpResponse(json.dumps({"errorType": type(e).__name__, "errorMessage": str(e)}), status_code=500,
                                 mimetype="application/json")
    return func.HttpResponse(json.dumps(result, default=str), status_code=200, mimetype="application/json")

# evcli's stand-in for the Google Cloud Functions and Azure Functions hosts,
# for Python handlers written for them (evcli.yaml handlers: gcp|azure).
#
# It imports the handler's module (_HANDLER "module.function" under
# LAMBDA_TASK_ROOT: the module part) with the standard library only, after
# putting small stand-ins in sys.modules for the packages such code imports,
# so that their registration is recorded as the real ones spell it:
#
#   gcp:   import functions_framework
#          @functions_framework.cloud_event            def f(cloud_event)
#          (cloud_event a cloudevents.http.CloudEvent: ce["id"], ce.data)
#   azure: import azure.functions as func; app = func.FunctionApp()
#          @app.event_grid_trigger(arg_name="event")   def f(event)
#          (event an azure.functions.EventGridEvent: event.get_json(), ...)
#
# Then it serves, on 127.0.0.1:PORT (gcp) or FUNCTIONS_CUSTOMHANDLER_PORT
# (azure), the request evcli's local runtime sends for each invocation:
# a binary-mode CloudEvent POST / (gcp; calls the function named by
# FUNCTION_TARGET; an error answers 500 with X-Google-Status: error, the
# traceback going to stderr) or a custom-handler POST /<function> with
# {"Data": {"<binding>": event}, "Metadata": {...}} (azure; answers
# {"Outputs": {}, "Logs": [], "ReturnValue": value}, or 500). An HTTP
# function (@app.route, as evcli's generated entrypoint registers
# evcli-invoke) gets the invocation's payload as its request body; a 2xx
# response's JSON body is the ReturnValue, any other status answers 500 with
# its errorType and errorMessage.
# The real packages are never imported (they need not be installed).
import datetime
import http.server
import importlib
import json
import os
import sys
import traceback
import types

KIND = "gcp" if os.environ.get("FUNCTION_SIGNATURE_TYPE") == "cloudevent" else "azure"
PORT = int(os.environ.get("PORT" if KIND == "gcp" else "FUNCTIONS_CUSTOMHANDLER_PORT") or 0)

_registered = {}  # name -> (type, function)


def _register(kind, name, fn):
    _registered[name] = (kind, fn)
    return fn


# --- functions_framework and cloudevents.http ---------------------------------

class CloudEvent:
    """The part of cloudevents.http.CloudEvent that handlers use."""

    def __init__(self, attributes, data=None):
        self._attributes = dict(attributes)
        self.data = data

    def __getitem__(self, key):
        return self._attributes[key]

    def __contains__(self, key):
        return key in self._attributes

    def get(self, key, default=None):
        return self._attributes.get(key, default)

    def get_attributes(self):
        return dict(self._attributes)

    def get_data(self):
        return self.data


def _cloud_event(fn):
    return _register("cloud_event", fn.__name__, fn)


def _http(fn):
    return _register("http", fn.__name__, fn)


_ff = types.ModuleType("functions_framework")
_ff.cloud_event = _cloud_event
_ff.http = _http
_ce_pkg = types.ModuleType("cloudevents")
_ce_pkg.__path__ = []
_ce_http = types.ModuleType("cloudevents.http")
_ce_http.CloudEvent = CloudEvent
_ce_pkg.http = _ce_http


# --- azure.functions (v2 programming model) -----------------------------------

class EventGridEvent:
    """The part of azure.functions.EventGridEvent that handlers use."""

    def __init__(self, *, id, data, topic, subject, event_type, event_time, data_version):
        self.id = id
        self._data = data
        self.topic = topic
        self.subject = subject
        self.event_type = event_type
        self.event_time = event_time
        self.data_version = data_version

    def get_json(self):
        return self._data


class _Function:
    """The part of the real FunctionApp's function objects (get_functions())
    that evcli's generated entrypoint reads."""

    def __init__(self, app, fn, trigger):
        self._app, self._fn, self._trigger = app, fn, trigger

    def get_function_name(self):
        return self._app._names.get(id(self._fn), self._fn.__name__)

    def get_user_function(self):
        return self._fn

    def get_trigger(self):
        return types.SimpleNamespace(type=self._trigger, name=getattr(self._fn, "_evcli_arg", None))


class FunctionApp:
    def __init__(self, *args, **kwargs):
        self._names = {}
        self._functions = []

    def function_name(self, name, **kwargs):
        def wrap(fn):
            self._names[id(fn)] = name
            for k, (kind, f) in list(_registered.items()):
                if f is fn:
                    del _registered[k]
                    _register(kind, name, fn)
            return fn
        return wrap

    def _trigger(self, kind, arg_name):
        def wrap(fn):
            fn._evcli_arg = arg_name
            self._functions.append(_Function(self, fn, "eventGridTrigger"))
            return _register(kind, self._names.get(id(fn), fn.__name__), fn)
        return wrap

    def event_grid_trigger(self, arg_name, **kwargs):
        return self._trigger("event_grid", arg_name)

    def route(self, *args, **kwargs):
        def wrap(fn):
            self._functions.append(_Function(self, fn, "httpTrigger"))
            return _register("http", self._names.get(id(fn), fn.__name__), fn)
        return wrap

    def get_functions(self):
        return list(self._functions)

    def __getattr__(self, name):  # other triggers and bindings: accepted, never called
        return lambda *a, **k: (lambda fn: fn)


class Blueprint(FunctionApp):
    pass


class HttpRequest:
    """The part of azure.functions.HttpRequest that handlers use."""

    def __init__(self, method, url, headers=None, params=None, route_params=None, body=b""):
        self.method, self.url = method, url
        self.headers = dict(headers or {})
        self.params, self.route_params = dict(params or {}), dict(route_params or {})
        self._body = body

    def get_body(self):
        return self._body

    def get_json(self):
        return json.loads(self._body)


class HttpResponse:
    """The part of azure.functions.HttpResponse that handlers use."""

    def __init__(self, body=None, *, status_code=200, headers=None, mimetype=None, charset="utf-8"):
        if isinstance(body, str):
            body = body.encode(charset)
        self._body = body or b""
        self.status_code = status_code
        self.headers = dict(headers or {})
        self.mimetype = mimetype

    def get_body(self):
        return self._body


class HttpError(Exception):
    """A non-2xx answer of an HTTP function, as the invocation's error."""

    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type


def _payload_of(ev):
    """The payload an invocation's CloudEvent carries: the bus's envelope put
    back together (the local runtime sends an envelope's detail as the data,
    detail-type as the type), or, for any other payload, the data itself
    (type evcli.invoke: the payload had no detail-type)."""
    if not isinstance(ev, dict) or "specversion" not in ev:
        return ev
    if ev.get("type") == "evcli.invoke":
        return ev.get("data")
    data = ev.get("data")
    return {"version": "0", "id": ev.get("id"), "source": ev.get("source"), "detail-type": ev.get("type"),
            "time": ev.get("time"), "resources": [ev["subject"]] if ev.get("subject") else [],
            "detail": {} if data is None else data}


def _call_http(fn, ev):
    """Calls an HTTP function (as evcli's generated entrypoint registers
    evcli-invoke) with a POST of the invocation's payload; a 2xx answer's
    JSON body is the result, any other raises HttpError."""
    payload = _payload_of(ev)
    body = payload.encode() if isinstance(payload, str) else json.dumps({} if payload is None else payload).encode()
    res = fn(HttpRequest("POST", "http://127.0.0.1:%d/api/evcli-invoke" % PORT, {"content-type": "application/json"}, body=body))
    text = (res.get_body() if res is not None else b"").decode("utf-8", "replace")
    try:
        value = json.loads(text) if text else None
    except ValueError:
        value = text
    status = res.status_code if res is not None else 200
    if status // 100 == 2:
        return value
    if isinstance(value, dict) and "errorMessage" in value:
        raise HttpError(str(value.get("errorType") or "Error"), str(value["errorMessage"]))
    raise HttpError("Error", "HTTP %d: %s" % (status, text))


_az_pkg = types.ModuleType("azure")
_az_pkg.__path__ = []
_az = types.ModuleType("azure.functions")
_az.FunctionApp = FunctionApp
_az.EventGridEvent = EventGridEvent
_az.Blueprint = Blueprint
_az.HttpRequest = HttpRequest
_az.HttpResponse = HttpResponse
_az.AuthLevel = types.SimpleNamespace(ANONYMOUS="ANONYMOUS", FUNCTION="FUNCTION", ADMIN="ADMIN")
_az_pkg.functions = _az

sys.modules.update({
    "functions_framework": _ff, "cloudevents": _ce_pkg, "cloudevents.http": _ce_http,
    "azure": _az_pkg, "azure.functions": _az,
})


# --- the server ---------------------------------------------------------------

def _load():
    name = os.environ.get("_HANDLER", "")
    root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    where, _, rest = name.rpartition("/")
    modname, _, export = rest.rpartition(".")
    base = os.path.join(root, where) if where else root
    if base not in sys.path:
        sys.path.insert(0, base)
    importlib.import_module(modname)
    return export


def _error_type(exc):
    return exc.error_type if isinstance(exc, HttpError) else type(exc).__name__


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    target = None
    kind = None
    fn = None

    def log_message(self, *args):  # the host's access log is not the function's
        pass

    def _answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _fail(self, exc, google_status):
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        headers = {"Content-Type": "text/plain", "X-Evcli-Error-Type": _error_type(exc)}
        if google_status:
            headers["X-Google-Status"] = google_status
        self._answer(500, f"{_error_type(exc)}: {exc}".encode(), headers)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if KIND == "gcp":
            attrs = {k[3:].lower(): v for k, v in self.headers.items() if k.lower().startswith("ce-")}
            attrs["datacontenttype"] = self.headers.get("Content-Type")
            try:
                data = json.loads(body) if body else None
            except ValueError:
                data = body
            try:
                self.fn(CloudEvent(attrs, data))
            except Exception as exc:  # noqa: BLE001 (the function's error is the answer)
                self._fail(exc, "error")
                return
            self._answer(204)
            return
        try:
            req = json.loads(body)
            data = req.get("Data") or {}
            ev = next(iter(data.values()), None) or {}
            if self.kind == "http":
                value = _call_http(self.fn, ev)
                out = json.dumps({"Outputs": {}, "Logs": [], "ReturnValue": value}).encode()
                self._answer(200, out, {"Content-Type": "application/json"})
                return
            grid = EventGridEvent(
                id=ev.get("id"), data=ev.get("data"), topic=ev.get("source") or ev.get("topic"),
                subject=ev.get("subject"), event_type=ev.get("type") or ev.get("eventType"),
                event_time=_parse_time(ev.get("time") or ev.get("eventTime")),
                data_version=ev.get("dataVersion") or ev.get("specversion"))
            value = self.fn(**{getattr(self.fn, "_evcli_arg", "event"): grid})
        except Exception as exc:  # noqa: BLE001
            self._fail(exc, "")
            return
        out = json.dumps({"Outputs": {}, "Logs": [], "ReturnValue": value}).encode()
        self._answer(200, out, {"Content-Type": "application/json"})


def _parse_time(s):
    if not s:
        return None
    try:
        return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


def main():
    exported = _load()
    target = (os.environ.get("FUNCTION_TARGET") if KIND == "gcp" else None) or exported
    want = "cloud_event" if KIND == "gcp" else "event_grid"
    entry = _registered.get(target)
    if entry is None:
        names = ", ".join(sorted(_registered)) or "none is"
        how = "@functions_framework.cloud_event" if KIND == "gcp" else "@app.event_grid_trigger(arg_name=\"event\")"
        raise RuntimeError(f"no function named {target!r} is registered (registered: {names}); decorate it with {how}")
    if entry[0] != want and not (KIND == "azure" and entry[0] == "http"):
        raise RuntimeError(f"{target!r} is registered as {entry[0]}, but evcli delivers events to {want} functions")
    _Handler.target = target
    _Handler.kind = entry[0]
    _Handler.fn = staticmethod(entry[1])
    http.server.HTTPServer(("127.0.0.1", PORT), _Handler).serve_forever()


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        sys.exit(1)

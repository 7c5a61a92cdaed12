"""A stand-in for azure-functions (the v2 programming model) for evcli's
tests: FunctionApp and Blueprint record what their decorators register, and
get_functions answers as the real package's does (get_function_name,
get_user_function, get_trigger with the binding's type and name)."""
import enum
import json


class AuthLevel(str, enum.Enum):
    FUNCTION = "function"
    ANONYMOUS = "anonymous"
    ADMIN = "admin"


class _Trigger:
    def __init__(self, type_, name, **settings):
        self.type = type_
        self.name = name
        self.settings = settings


class _Function:
    def __init__(self, fn):
        self._fn = fn
        self._name = fn.__name__
        self._trigger = None

    def get_function_name(self):
        return self._name

    def get_user_function(self):
        return self._fn

    def get_trigger(self):
        return self._trigger


class FunctionRegister:
    def __init__(self, http_auth_level=AuthLevel.FUNCTION):
        self.http_auth_level = http_auth_level
        self._functions = []

    def _builder(self, fn):
        if isinstance(fn, _Function):
            return fn
        f = _Function(fn)
        self._functions.append(f)
        return f

    def function_name(self, name):
        def deco(fn):
            f = self._builder(fn)
            f._name = name
            return f
        return deco

    def event_grid_trigger(self, arg_name, **kw):
        def deco(fn):
            f = self._builder(fn)
            f._trigger = _Trigger("eventGridTrigger", arg_name, **kw)
            return f
        return deco

    def route(self, route=None, methods=None, auth_level=None, **kw):
        def deco(fn):
            f = self._builder(fn)
            f._trigger = _Trigger("httpTrigger", "req", route=route, methods=methods, auth_level=auth_level)
            return f
        return deco

    def get_functions(self):
        return list(self._functions)


class FunctionApp(FunctionRegister):
    pass


class Blueprint(FunctionRegister):
    pass


class EventGridEvent:
    def __init__(self, *, id, data, topic, subject, event_type, event_time, data_version):
        self.id, self._data, self.topic, self.subject = id, data, topic, subject
        self.event_type, self.event_time, self.data_version = event_type, event_time, data_version

    def get_json(self):
        return self._data


class HttpRequest:
    def __init__(self, method, url, headers=None, params=None, route_params=None, body=b""):
        self.method, self.url, self._body = method, url, body

    def get_body(self):
        return self._body


class HttpResponse:
    def __init__(self, body=None, status_code=200, headers=None, mimetype=None, charset=None):
        self._body = body.encode() if isinstance(body, str) else (body or b"")
        self.status_code, self.mimetype = status_code, mimetype

    def get_body(self):
        return self._body

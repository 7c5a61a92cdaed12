# evcli's runtime for Python Lambda handlers (python3.12, python3.13).
#
# It implements the client side of the Lambda Runtime API 2018-06-01 with the
# standard library only: it imports the handler named by _HANDLER
# ("module.function", the module optionally under a directory:
# "src/orders.handler") from LAMBDA_TASK_ROOT, then loops on
# /runtime/invocation/next, calling handler(event, context) and posting the
# JSON result to /response or the error to /error in the shape Lambda's own
# Python runtime uses ({"errorMessage", "errorType", "requestId",
# "stackTrace"}). The logging module gets Lambda's record format
# "[LEVEL]\t<time>Z\t<request id>\t<message>".
import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback
import types

_api = os.environ.get("AWS_LAMBDA_RUNTIME_API", "")
_host, _, _port = _api.rpartition(":")
_conn = http.client.HTTPConnection(_host, int(_port or 0))
_request_id = ""


def _call(method, path, body=None, headers=None):
    _conn.request(method, "/2018-06-01" + path, body=body, headers=headers or {})
    resp = _conn.getresponse()
    return resp.status, resp.headers, resp.read()


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id
        return True


class _LambdaLoggerHandler(logging.Handler):
    def emit(self, record):
        try:
            msg = self.format(record).replace("\r\n", "\r").replace("\n", "\r")
            sys.stdout.write(msg + "\n")
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


def _setup_logging():
    handler = _LambdaLoggerHandler()
    fmt = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S",
    )
    fmt.converter = time.gmtime
    handler.setFormatter(fmt)
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


class _LambdaContext:
    def __init__(self, request_id, deadline_ms, headers):
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.tenant_id = headers.get("Lambda-Runtime-Aws-Tenant-Id")
        self._deadline_ms = deadline_ms
        self.identity = None
        self.client_context = None
        cognito = _json_header(headers.get("Lambda-Runtime-Cognito-Identity"))
        if cognito is not None:
            self.identity = types.SimpleNamespace(
                cognito_identity_id=cognito.get("cognitoIdentityId"),
                cognito_identity_pool_id=cognito.get("cognitoIdentityPoolId"),
            )
        cc = _json_header(headers.get("Lambda-Runtime-Client-Context"))
        if cc is not None:
            self.client_context = types.SimpleNamespace(
                client=cc.get("client"), custom=cc.get("custom"), env=cc.get("env")
            )

    def get_remaining_time_in_millis(self):
        return int(max(self._deadline_ms - time.time() * 1000, 0))

    def log(self, msg):
        sys.stdout.write(str(msg))
        sys.stdout.flush()


def _json_header(value):
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _error_body(error_type, message, tb=None, request_id=""):
    stack = traceback.format_list(traceback.extract_tb(tb)[1:]) if tb is not None else []
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack}


def _log_error(body):
    lines = ["[ERROR] %s: %s" % (body["errorType"], body["errorMessage"])]
    if body["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        lines.extend(frame.rstrip("\n") for frame in body["stackTrace"])
    sys.stdout.write("\r".join(lines).replace("\n", "\r") + "\n")
    sys.stdout.flush()


def _post_error(path, body):
    sys.stdout.flush()
    sys.stderr.flush()
    _call(
        "POST",
        path,
        json.dumps(body),
        {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": body["errorType"]},
    )


def _load_handler():
    name = os.environ.get("_HANDLER", "")
    try:
        modname, fname = name.rsplit(".", 1)
    except ValueError as e:
        return None, _error_body("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (name, e))
    modname = modname.replace("/", ".")
    try:
        mod = importlib.import_module(modname)
    except ImportError as e:
        return None, _error_body("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e))
    except SyntaxError as e:
        tb = sys.exc_info()[2]
        return None, _error_body("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (modname, e), tb)
    except Exception as e:
        tb = sys.exc_info()[2]
        return None, _error_body(type(e).__name__, str(e), tb)
    fn = getattr(mod, fname, None)
    if fn is None:
        return None, _error_body("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname))
    return fn, None


def main():
    global _request_id
    root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        sys.stdout.reconfigure(line_buffering=True)
        sys.stderr.reconfigure(line_buffering=True)
    except AttributeError:
        pass
    _setup_logging()
    fn, init_err = _load_handler()
    if init_err is not None:
        _log_error(init_err)
        _post_error("/runtime/init/error", init_err)
        sys.exit(1)
    while True:
        status, headers, body = _call("GET", "/runtime/invocation/next")
        if status != 200:
            raise RuntimeError("runtime API /next answered %d: %r" % (status, body))
        rid = headers.get("Lambda-Runtime-Aws-Request-Id")
        _request_id = rid
        trace = headers.get("Lambda-Runtime-Trace-Id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        ctx = _LambdaContext(rid, int(headers.get("Lambda-Runtime-Deadline-Ms") or 0), headers)
        err = None
        try:
            event = json.loads(body) if body else {}
        except ValueError as e:
            err = _error_body("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e, None, rid)
        if err is None:
            try:
                result = fn(event, ctx)
            except Exception as e:
                err = _error_body(type(e).__name__, str(e), sys.exc_info()[2], rid)
        if err is None:
            try:
                payload = json.dumps(result)
            except (TypeError, ValueError) as e:
                err = _error_body("Runtime.MarshalError", "Unable to marshal response: %s" % e, None, rid)
        if err is not None:
            _log_error(err)
            _post_error("/runtime/invocation/%s/error" % rid, err)
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        _call("POST", "/runtime/invocation/%s/response" % rid, payload, {"Content-Type": "application/json"})


if __name__ == "__main__":
    main()

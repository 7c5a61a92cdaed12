// Package providers holds the portable data types and the small interfaces
// that evcli's domain packages (deploy, tail, replay, filter, tune) use, and
// that each driver (providers/local, providers/aws, ...) implements:
//
//   - EventStore: reads stored events by window, aggregate and type; a
//     store that can also hand over its stored envelopes undecoded, on
//     several readers, has the optional EnvelopeReader ability (checked
//     with a type assertion; the local store has it).
//   - EventBus: publishes events, reporting per-entry failures.
//   - LogSource: streams raw log lines of many functions.
//   - MetricsSource: yields REPORT-style invocation records.
//   - Invoker: calls one function synchronously.
//
// Errors from drivers are wrapped in *Error with a portable Code (NotFound,
// PermissionDenied, Throttled, Unavailable, ...) so that cmd can map them to
// hints and exit codes without knowing the driver.
//
// A domain package never imports a driver; drivers never import cmd.
package providers

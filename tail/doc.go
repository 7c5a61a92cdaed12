// Package tail follows the logs of many functions at once and groups their
// lines by correlation ID.
//
// The pipeline is: one goroutine per providers.LogSource (retried with
// backoff when it fails, the others going on) -> Parse (Lambda's START / END /
// REPORT lines, its text and JSON log formats, any JSON line) -> a
// time-ordered merge with a short reorder window and a bounded buffer ->
// correlation propagation (an ID seen on one line of a request is given to
// every line of that request, including START / END / REPORT and lines that
// came before it, as long as they are still inside the reorder window; a
// source that knows a line's correlation ID, as the local store does for
// every line of a delivered invocation, gives it in LogLine.CorrelationID
// and needs no window) ->
// filters (function globs, correlation, level, regexp) -> a Sink: the plain
// printer, the NDJSON printer or the terminal UI (Model).
//
// Parse reads levels from the log formats and from what the runtimes print
// on their own (Python's uncaught "[ERROR] …" and Traceback, Node's tab
// format, Go panics and log/slog, the platform's crash and INIT_REPORT
// lines), and Parser.MapSources shows paths into a local deploy's code
// directory as the function's source path. ResolveCorrelation turns a
// --correlation prefix into the one ID it names (git's short SHAs), or an
// *AmbiguousError listing the candidates; EmptyHint says what to try when
// nothing is shown.
//
// Memory stays bounded however long a tail runs: the merge buffer, the
// request -> correlation table and the TUI's flows all have fixed caps and
// evict their oldest entries.
//
// Errors: Run returns ctx's error when cancelled, and otherwise an error
// naming the sources that failed for good (Follow false, or an error a retry
// cannot fix such as PermissionDenied).
//
// This package never imports cobra, viper, a cloud SDK or os.Stdout; sources,
// clocks, sleeps and writers are injected.
package tail

// Package deploy turns a project's functions into deployment packages and
// (in its planner and applier files) puts them on a provider.
//
// # Packaging
//
// Package builds every function (or the ones named) in parallel, bounded by
// PackageOptions.Concurrency, into <project>/.evcli/build/<function>.zip and
// reports each Artifact with its size, its SHA-256 in hex and in Lambda's
// base64 CodeSha256 form, and whether it changed since the previous build
// (recorded in .evcli/build/manifest.json).
//
//   - Go functions (runtime provided.*, a source directory with .go files)
//     are compiled with go build -trimpath -buildvcs=false -tags lambda.norpc
//     -ldflags "-s -w -buildid=" for GOOS=linux, GOARCH from the function's
//     architecture (x86_64 -> amd64, arm64 -> arm64) and CGO_ENABLED=0, into
//     one executable named bootstrap. .evcliignore does not apply: go
//     decides what goes into the binary.
//   - Node.js and Python functions (and provided.* functions that ship a
//     prebuilt bootstrap) zip their source directory as it is, node_modules
//     and vendored packages included, minus what DefaultIgnore and the
//     directory's .evcliignore exclude. The handler's file must be present.
//
// # Deterministic zips
//
// Two builds of the same sources give byte-identical zips: entries sorted by
// name, every timestamp 1980-01-01 00:00:00, modes normalised to 0755 for
// executables and 0644 for other files, Deflate at a fixed level, no extra
// fields, no directory entries. A zip therefore only changes when its
// content does, and "unchanged" functions upload nothing.
//
// This uses the standard library's archive/zip, not github.com/mholt/archives:
// archives makes every header with zip.FileInfoHeader from the file's
// fs.FileInfo, so the file's modification time is written (and becomes an
// extended-timestamp extra field) and its mode is kept as it is on disk;
// FilesFromDisk adds directory entries in walk order, and the Deflate level
// cannot be chosen. Getting fixed timestamps, modes and order out of it
// would mean faking FileInfo values; archive/zip lets each header field be
// set directly. Deflate output depends on the Go version evcli was built
// with: zips are byte-identical for the same evcli binary.
//
// # Ignore files
//
// .evcliignore uses .gitignore's syntax and semantics: globs ("*", "?",
// "[a-z]"), "**" for any number of directories, a leading "/" to anchor a
// pattern to the source directory, a trailing "/" for directories only, "!"
// to re-include, "#" comments and "\" escapes. The last matching line wins,
// and a file inside an excluded directory cannot be re-included. See Ignore.
//
// # Errors
//
// Refused, with the offending file named: a symlink leaving the source
// directory, a symlink loop, a dangling symlink, a device or socket, a path
// that would escape the zip, a malformed .evcliignore line (file:line:col),
// a missing handler file. A failed go build returns a *BuildError holding
// the function's name and the compiler output. An unknown function name
// returns an *UnknownFunctionError with a did-you-mean suggestion. Package
// builds every function it can and joins all failures into its error.
package deploy

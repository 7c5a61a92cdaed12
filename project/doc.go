// Package project reads, checks and edits evcli.yaml, the one file that
// describes an evcli project: its name, default provider and region, the
// event bus, the event store and the functions with the event patterns
// that trigger them. The full schema, with every key, default and limit,
// is in SCHEMA.md next to this file.
//
//	project: shop                 # required: lower-case letters, digits, '-'
//	provider: local               # local | aws | gcp | azure (default local)
//	region: us-east-1             # default us-east-1 on local; from the cloud's own settings otherwise
//	bus: shop-bus                 # default "default"
//	store: {type: local, table: shop-events, ttlDays: 30}
//	functions:
//	  inventory:
//	    source: functions/inventory     # directory, relative to this file
//	    runtime: provided.al2023        # provided.al2023 | nodejs20.x | nodejs22.x | python3.12 | python3.13
//	    memory: 256                     # MB, 128..10240 (default 128)
//	    events:
//	      - pattern: {source: [shop.orders], detail-type: [OrderCreated]}
//
// # Loading
//
// [Load] parses the file with gopkg.in/yaml.v3 node trees, so every value
// keeps its line and column, and walks them against the schema into
// [Project]. The overridable settings (project, provider, region, bus,
// store.type, store.table) are layered by one viper instance: a flag
// (LoadOptions.Flags) beats an EVCLI_* variable (LoadOptions.Environ,
// e.g. EVCLI_PROVIDER, EVCLI_STORE_TABLE), which beats the file, which
// beats the default. Defaults that depend on other settings follow the
// result: the store type matches the provider (local, dynamodb, firestore,
// cosmos), the table is "<project>-events", and an event without a bus
// uses the project's bus.
//
// # Errors
//
// An invalid file is never half loaded: Load returns *[Diagnostics], every
// problem found in one pass, sorted by position. Each [Diagnostic] names
// the file, line and column, the field path, what is wrong and what would
// be right:
//
//	evcli.yaml:12:13: functions.orders.memory: 20000 is out of range
//	    memory is in MB, from 128 to 10240
//
// Checked: YAML syntax (located by re-parsing prefixes of the file, since
// yaml.v3 gives no column), unknown keys (with the closest known key by
// edit distance), wrong types (a number where a string belongs gets a hint
// to quote it), ranges, required keys, unknown runtimes, providers,
// architectures and store types (with did-you-mean), duplicate keys and
// function names (with both positions), names (project, functions, buses,
// tables, attributes, variables), that sources are existing directories,
// handler shapes per runtime, Lambda's reserved variables and its 4 KB
// environment limit, and that each pattern is a non-empty JSON object.
// Patterns are only checked for shape here; package filter compiles them.
// A wrong flag or EVCLI_* value is blamed on its source ("--provider",
// "EVCLI_REGION"). The commands exit with code 2 for *Diagnostics.
//
// # Editing
//
// [SetMemory] rewrites one function's memory in place, leaving every other
// byte of the file (comments, layout, quoting) as it was; tune memory
// --apply uses it. [Marshal] writes a Project back as a canonical file.
//
// The package reads files and nothing else: no network, no cloud SDK, no
// terminal output.
package project

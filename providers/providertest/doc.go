// Package providertest is the conformance suite every provider driver
// passes, in the style of gocloud.dev's drivertest and rclone's fstests:
// one set of checks that say what each ability of a providers.Provider
// means, run against every driver (the local provider in every go test;
// cloud drivers against their emulators or wire-protocol fakes, and against
// a real endpoint when one is given).
//
// A driver's test calls
//
//	providertest.Run(t, func(ctx context.Context, t *testing.T) (providertest.Harness, error) { ... })
//
// The maker is called once per check and returns a Harness on fresh backing
// state (a fresh state directory, a fresh fake server); every Open of one
// harness shares that state, so a check can open two projects side by side.
//
// # What is checked
//
// For each ability the provider has (Provider.Has), its meaning; an ability
// it lacks is skipped with the driver's reason, after checking that Require
// answers Unsupported with a reason.
//
//   - Abilities: Has and Require agree; every missing ability has a reason.
//   - Deploy: a first deploy creates, and Deployed returns what was applied
//     (settings and code hash); a second deploy plans nothing (deploy.Plan,
//     the command's planner) and changes nothing (Deployed is the same; and
//     when the harness counts mutating calls, none); Shared resources
//     converge (a second PlanShared is all unchanged); a changed handler or
//     a changed setting updates only that function; prune removes only this
//     project's functions (another project keeps its own).
//   - Rollback: the live version moves back and forth; an unknown function
//     is NotFound.
//   - Invoke: the payload comes back; a handler error is a FunctionError, not
//     an error; an unknown function is NotFound.
//   - Bus: every entry gets an event id; an event reaches exactly the
//     functions whose patterns match it, as package filter answers for the
//     same pattern and event (at least once: redeliveries are allowed);
//     per-entry failures are reported at their index with a portable code;
//     PublishAll refuses a batch with an oversize entry whole, sending
//     nothing.
//   - Store: events come back in time order (per aggregate; across
//     aggregates too when the store numbers them with Seq), and since,
//     until (exclusive), aggregate, type, limit and AfterSeq (where the store
//     has Seq) select exactly what they say.
//   - Logs: following yields the lines of new invocations; every line has a
//     token, unique; resuming from the last line's time and skipping the
//     tokens already seen (what tail does) gives every later line once and
//     no earlier one twice; a source with LogsAfter resumes after a token
//     exactly.
//   - Metrics: invocations are reported with a duration, the memory size and
//     the memory used.
//
// # The handler
//
// Harness.Function deploys a handler that behaves as Handler documents:
// it echoes its payload, fails when the payload has "fail", and prints one
// line per call. PythonArtifact writes such a handler (python3.12,
// app.handler) as a deterministic zip that runs unmodified on the local
// provider and on Lambda; a fake cloud emulates it in its invoke hook.
//
// # Hooks
//
// Besides Harness, a harness may implement MutationRecorder (the backing
// state records mutating calls), DeliveryObserver (how to see that a
// function ran for an event, for providers without a Waiter), StoreWriter
// (how events reach the store when publishing does not put them there) and
// Skipper (a check the backing state cannot run, and why).
package providertest

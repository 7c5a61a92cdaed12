// Package workflow is the domain side of `evcli workflow`: it reads an
// execution's input, finds its correlation id, and renders an execution's
// history as the transitions a person follows — each state with its type,
// function, duration and outcome, the retries, and, once a Catch has
// matched, which compensation runs and why ("compensating ShipmentError in
// CreateShipment").
//
// It knows no provider: it reads providers.WorkflowEvent and
// providers.WorkflowExecution, which every driver's Workflows ability
// returns, and writes to an io.Writer.
package workflow

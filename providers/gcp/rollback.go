package gcp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
	run "cloud.google.com/go/run/apiv2"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/api/iterator"

	"github.com/evcli/evcli/providers"
)

// A 2nd-gen function runs as a Cloud Run service, one revision per deploy
// that changed it. Rollback pins all of the service's traffic to a
// revision (Cloud Run's UpdateService); the function's next deploy sends
// all traffic to its new revision again, as Cloud Functions does.

// runClients are the Cloud Run clients rollback uses.
type runClients struct {
	services  *run.ServicesClient
	revisions *run.RevisionsClient
}

func newRunClients(ctx context.Context, c *config) (*runClients, error) {
	opts := c.clientOptions(c.run)
	s, err := run.NewServicesClient(ctx, opts...)
	if err != nil {
		return nil, classify("run", err)
	}
	r, err := run.NewRevisionsClient(ctx, opts...)
	if err != nil {
		s.Close()
		return nil, classify("run", err)
	}
	return &runClients{services: s, revisions: r}, nil
}

func (r *runClients) close() error { return errors.Join(r.services.Close(), r.revisions.Close()) }

// rollbacker is the deployer with Cloud Run's clients.
type rollbacker struct {
	d   *deployer
	run *runClients
}

// Rollback moves all traffic of function's service to toVersion (a
// revision's name), or to the revision created before the one serving now,
// and returns the revisions it moved from and to.
func (rb *rollbacker) Rollback(ctx context.Context, function, toVersion string) (string, string, error) {
	d := rb.d
	f, err := d.fn.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: d.fullName(function)})
	if err != nil {
		return "", "", classify("function "+function, err)
	}
	if owner := f.GetServiceConfig().GetEnvironmentVariables()[EnvProject]; owner != d.project {
		return "", "", &providers.Error{Code: providers.NotFound, Resource: "function " + function,
			Err: errors.New("no function of this project has that name")}
	}
	svcName := f.GetServiceConfig().GetService()
	svc, err := rb.run.services.GetService(ctx, &runpb.GetServiceRequest{Name: svcName})
	if err != nil {
		return "", "", classify("service "+svcName, err)
	}
	from := liveRevision(svc)
	var revs []string // newest first
	it := rb.run.revisions.ListRevisions(ctx, &runpb.ListRevisionsRequest{Parent: svcName})
	for {
		r, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return "", "", classify("revisions of "+svcName, err)
		}
		revs = append(revs, shortName(r.Name))
	}
	to := ""
	switch {
	case toVersion != "":
		for _, r := range revs {
			if r == shortName(toVersion) {
				to = r
			}
		}
		if to == "" {
			return "", "", &providers.Error{Code: providers.NotFound, Resource: "function " + function,
				Err: fmt.Errorf("no revision %s (it has %s)", toVersion, strings.Join(revs, ", "))}
		}
	default:
		for i, r := range revs {
			if r == from && i+1 < len(revs) {
				to = revs[i+1]
			}
		}
		if to == "" {
			return "", "", &providers.Error{Code: providers.InvalidArgument, Resource: "function " + function,
				Err: fmt.Errorf("revision %s is the oldest there is: nothing to roll back to", from)}
		}
	}
	if to == from {
		return from, to, nil
	}
	svc.Traffic = []*runpb.TrafficTarget{{Type: runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION, Revision: to, Percent: 100}}
	op, err := rb.run.services.UpdateService(ctx, &runpb.UpdateServiceRequest{Service: svc})
	if err != nil {
		return "", "", classify("service "+svcName, err)
	}
	delay := time.Second
	for !op.Done() {
		if err := d.sleep(ctx, delay); err != nil {
			return "", "", err
		}
		if _, err := op.Poll(ctx); err != nil {
			return "", "", classify("service "+svcName, err)
		}
		delay = min(2*delay, 10*time.Second)
	}
	if _, err := op.Poll(ctx); err != nil {
		return "", "", classify("service "+svcName, err)
	}
	return from, to, nil
}

// liveRevision is the revision serving all of svc's traffic.
func liveRevision(svc *runpb.Service) string {
	for _, t := range svc.TrafficStatuses {
		if t.Percent == 100 && t.Revision != "" {
			return t.Revision
		}
	}
	for _, t := range svc.Traffic {
		if t.Percent == 100 && t.Type == runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION {
			return t.Revision
		}
	}
	return shortName(svc.LatestReadyRevision)
}

var _ providers.Rollbacker = (*rollbacker)(nil)

package gcp

import (
	"context"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/evcli/evcli/providers"
)

// PlanShared plans the project's topic (created when missing, otherwise
// unchanged: a topic made outside evcli is published to, never changed)
// and, with a Firestore store, its TTL policy ("ttl") and the store writer
// ("writer": storewriter.go). Read calls only. The topic holds the
// project's traffic and the collection its events, so prune deletes
// neither.
func (d *deployer) PlanShared(ctx context.Context, prune bool) ([]providers.ResourceChange, error) {
	name := d.bus.topicName("")
	_, err := d.bus.topics.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: name})
	var out []providers.ResourceChange
	switch err := classify("topic "+name, err); {
	case err == nil:
		out = append(out, providers.ResourceChange{Kind: "bus", Name: shortName(name), Action: "unchanged"})
	case providers.CodeOf(err) == providers.NotFound:
		out = append(out, providers.ResourceChange{Kind: "bus", Name: shortName(name), Action: "create",
			Fields: []string{"Pub/Sub topic " + name}})
	default:
		return nil, err
	}
	if t, err := d.planTTL(ctx); err != nil {
		return nil, err
	} else if t != nil {
		out = append(out, *t)
	}
	if w, err := d.planStoreWriter(ctx); err != nil {
		return nil, err
	} else if w != nil {
		out = append(out, *w)
	}
	return out, nil
}

// ApplyShared creates what PlanShared planned to create.
func (d *deployer) ApplyShared(ctx context.Context, changes []providers.ResourceChange, step func(resource, step string)) error {
	if step == nil {
		step = func(string, string) {}
	}
	// The topic first: the writer's subscription is on it.
	for _, c := range changes {
		if c.Kind != "bus" || c.Action != "create" {
			continue
		}
		step(c.Name, "create topic")
		name := "projects/" + d.c.cloudProject + "/topics/" + c.Name
		_, err := d.bus.topics.CreateTopic(ctx, &pubsubpb.Topic{Name: name, Labels: map[string]string{LabelProject: LabelValue(d.project)}})
		if err := classify("topic "+name, err); err != nil && providers.CodeOf(err) != providers.Conflict {
			return err
		}
	}
	for _, c := range changes {
		if c.Action == "unchanged" {
			continue
		}
		var err error
		switch c.Kind {
		case "ttl":
			step(c.Name, "set Firestore TTL policy")
			err = d.applyTTL(ctx)
		case "writer":
			err = d.applyStoreWriter(ctx, c, func(s string) { step(c.Name, s) })
		}
		if err != nil {
			return err
		}
	}
	return nil
}

var _ providers.SharedDeployer = (*deployer)(nil)

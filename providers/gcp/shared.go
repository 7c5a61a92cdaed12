package gcp

import (
	"context"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/evcli/evcli/providers"
)

// PlanShared plans the project's topic: created when missing, otherwise
// unchanged (a topic made outside evcli is published to, never changed).
// The topic holds the project's traffic, so prune never deletes it.
func (d *deployer) PlanShared(ctx context.Context, prune bool) ([]providers.ResourceChange, error) {
	name := d.bus.topicName("")
	_, err := d.bus.topics.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: name})
	switch err := classify("topic "+name, err); {
	case err == nil:
		return []providers.ResourceChange{{Kind: "bus", Name: shortName(name), Action: "unchanged"}}, nil
	case providers.CodeOf(err) == providers.NotFound:
		return []providers.ResourceChange{{Kind: "bus", Name: shortName(name), Action: "create",
			Fields: []string{"Pub/Sub topic " + name}}}, nil
	default:
		return nil, err
	}
}

// ApplyShared creates what PlanShared planned to create.
func (d *deployer) ApplyShared(ctx context.Context, changes []providers.ResourceChange, step func(resource, step string)) error {
	for _, c := range changes {
		if c.Kind != "bus" || c.Action != "create" {
			continue
		}
		if step != nil {
			step(c.Name, "create topic")
		}
		name := "projects/" + d.c.cloudProject + "/topics/" + c.Name
		_, err := d.bus.topics.CreateTopic(ctx, &pubsubpb.Topic{Name: name, Labels: map[string]string{LabelProject: LabelValue(d.project)}})
		if err := classify("topic "+name, err); err != nil && providers.CodeOf(err) != providers.Conflict {
			return err
		}
	}
	return nil
}

var _ providers.SharedDeployer = (*deployer)(nil)

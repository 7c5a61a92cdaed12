package gcp

import (
	"context"
	"fmt"
	"strconv"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/evcli/evcli/providers"
)

// SetMemoryLive implements providers.LiveMemorySetter (tune memory
// --apply): an UpdateFunction of service_config.available_memory alone,
// waited on; the new revision takes all traffic, as every deploy's does.
// A function already at memoryMB is left as it is (no write). The
// project's evcli.yaml is updated by the command.
func (d *deployer) SetMemoryLive(ctx context.Context, function string, memoryMB int) (string, error) {
	if memoryMB < 128 || memoryMB > 32768 {
		return "", &providers.Error{Code: providers.InvalidArgument, Resource: function,
			Err: fmt.Errorf("%d MB is outside Cloud Functions' 128 MB to 32 GiB", memoryMB)}
	}
	name := d.fullName(function)
	cur, err := d.fn.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: name})
	if err != nil {
		return "", classify("function "+function, err)
	}
	if owner := cur.GetServiceConfig().GetEnvironmentVariables()[EnvProject]; owner != d.project {
		return "", collision("function "+name, owner)
	}
	from := memoryMBOf(cur)
	if from == memoryMB {
		return fmt.Sprintf("already %d MB (revision %s)", memoryMB, cur.GetServiceConfig().GetRevision()), nil
	}
	op, err := d.fn.UpdateFunction(ctx, &functionspb.UpdateFunctionRequest{
		Function: &functionspb.Function{Name: name, ServiceConfig: &functionspb.ServiceConfig{
			AvailableMemory: strconv.Itoa(memoryMB) + "Mi"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"service_config.available_memory"}}})
	if err != nil {
		return "", classify("function "+function, err)
	}
	live, err := d.wait(ctx, function, op, func(string) {})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d -> %d MB, revision %s live", from, memoryMB, live.GetServiceConfig().GetRevision()), nil
}

// SetMemory implements providers.MemorySetter.
func (d *deployer) SetMemory(ctx context.Context, function string, memoryMB int) error {
	_, err := d.SetMemoryLive(ctx, function, memoryMB)
	return err
}

func memoryMBOf(f *functionspb.Function) int {
	return memoryMB(f.GetServiceConfig().GetAvailableMemory())
}

var _ providers.LiveMemorySetter = (*deployer)(nil)

package azure

import (
	"context"
	"errors"
	"fmt"

	"github.com/evcli/evcli/providers"
)

// SetMemoryLive implements providers.LiveMemorySetter (tune memory
// --apply): the function's app gets the Flex Consumption instance size
// that holds memoryMB (512, 2048 or 4096 MB) and the evcli-memory tag
// memoryMB, through the same PUT a deploy makes of the app as it is
// deployed (its settings, code hash and event subscriptions are kept; no
// publish). A function already at memoryMB is left as it is (no write).
// The project's evcli.yaml is updated by the command.
func (d *deployer) SetMemoryLive(ctx context.Context, function string, memoryMB int) (string, error) {
	size, err := FlexMemory(memoryMB)
	if err != nil {
		return "", &providers.Error{Code: providers.InvalidArgument, Resource: "function " + function, Err: err,
			Hint: fmt.Sprintf("choose one of %v MB", FlexMemorySizes)}
	}
	have, err := d.DeployedFunctions(ctx, []string{function})
	if err != nil {
		return "", err
	}
	if len(have) == 0 {
		return "", &providers.Error{Code: providers.NotFound, Resource: "function " + function,
			Err: errors.New("no function of this project has that name"), Hint: "evcli deploy --provider azure deploys it"}
	}
	fd := have[0]
	if fd.MemoryMB == memoryMB {
		return fmt.Sprintf("already %d MB (a %d MB Flex Consumption instance)", memoryMB, size), nil
	}
	from := fd.MemoryMB
	fd.MemoryMB = memoryMB
	if err := d.apply(ctx, fd, false, nil); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d -> %d MB (a %d MB Flex Consumption instance)", from, memoryMB, size), nil
}

// SetMemory implements providers.MemorySetter.
func (d *deployer) SetMemory(ctx context.Context, function string, memoryMB int) error {
	_, err := d.SetMemoryLive(ctx, function, memoryMB)
	return err
}

var _ providers.LiveMemorySetter = (*deployer)(nil)

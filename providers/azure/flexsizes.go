package azure

import (
	"fmt"
	"slices"
)

// Flex Consumption's prices are in package tune (tune.LookupFlexPrice,
// next to Lambda's table); the sizes are FlexMemorySizes (deployer.go).

// validFlexMemory checks an instance memory size against Flex
// Consumption's sizes.
func validFlexMemory(mb int) error {
	if slices.Contains(FlexMemorySizes, mb) {
		return nil
	}
	return fmt.Errorf("%d MB is not a Flex Consumption instance size: use one of %v", mb, FlexMemorySizes)
}

package cmd

import "flag"

var flagLookup = flag.Lookup

package replay

import "os"

var osReadDir = os.ReadDir

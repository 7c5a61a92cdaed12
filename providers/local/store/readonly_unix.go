//go:build unix

package store

import "syscall"

func init() { errReadOnlyFS = syscall.EROFS }

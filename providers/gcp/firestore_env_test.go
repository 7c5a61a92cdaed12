package gcp

import "testing"

// firestoreEnv is a running Firestore emulator.
type firestoreEnv struct{ addr string }

func (f *firestoreEnv) collection(project string) string { return project + "-events" }

var firestoreAbsent = "not wired yet"

func sharedFirestore(t *testing.T) *firestoreEnv { return nil }

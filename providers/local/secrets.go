package local

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

// Secrets on the local provider. `evcli deploy` reads each secret from its
// own environment; the local deployer keeps, per function, the value (for
// the runtime, which no longer looks at the environment of whatever
// process runs the function) and an HMAC-SHA256 of it under a random key
// of the project (for the plan). All three live in the project's store,
// which only its owner can read (.evcli is 0700, state.db 0600). Deployed
// returns the hashes, never the values; nothing prints either.
const (
	// kvSecretNames is where an older evcli kept the secret names only
	// (the values came from the environment at run time).
	kvSecretNames = "secret-names"
	// kvSecrets holds a secretRecord per function.
	kvSecrets = "secrets"
	// kvSecretKey holds the project's HMAC key under secretKeyName.
	kvSecretKey   = "secret-key"
	secretKeyName = "hmac-sha256"
)

// secretRecord is what the store keeps of one function's secrets.
type secretRecord struct {
	Names []string `json:"names"`
	// Hashes are hashSecret of each value, by name.
	Hashes map[string]string `json:"hashes,omitempty"`
	// Values are the values evcli deploy read, by name.
	Values map[string]string `json:"values,omitempty"`
}

// missing returns the secret names that have no value.
func (r secretRecord) missing() []string {
	var out []string
	for _, n := range r.Names {
		if _, ok := r.Values[n]; !ok {
			out = append(out, n)
		}
	}
	return out
}

// readSecrets returns every function's secretRecord; a function deployed by
// an older evcli has its names and no values.
func readSecrets(ctx context.Context, db *store.DB) (map[string]secretRecord, error) {
	recs, err := db.ListKV(ctx, kvSecrets)
	if err != nil {
		return nil, err
	}
	old, err := db.ListKV(ctx, kvSecretNames)
	if err != nil {
		return nil, err
	}
	out := make(map[string]secretRecord, len(recs)+len(old))
	for fn, b := range old {
		var r secretRecord
		_ = json.Unmarshal(b, &r.Names)
		out[fn] = r
	}
	for fn, b := range recs {
		var r secretRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("store: secrets of function %s: %w", fn, err)
		}
		out[fn] = r
	}
	return out, nil
}

// readSecret returns fn's secretRecord.
func readSecret(ctx context.Context, db *store.DB, fn string) (secretRecord, error) {
	var r secretRecord
	b, ok, err := db.GetKV(ctx, kvSecrets, fn)
	if err != nil {
		return r, err
	}
	if ok {
		if err := json.Unmarshal(b, &r); err != nil {
			return r, fmt.Errorf("store: secrets of function %s: %w", fn, err)
		}
		return r, nil
	}
	if b, ok, err = db.GetKV(ctx, kvSecretNames, fn); err != nil || !ok {
		return r, err
	}
	_ = json.Unmarshal(b, &r.Names)
	return r, nil
}

// writeSecrets stores fn's secrets: the values of names in env and their
// hashes under the project's key (created on first use).
func writeSecrets(ctx context.Context, db *store.DB, fn string, names []string, env map[string]string) error {
	rec := secretRecord{Names: slices.Clone(names)}
	if len(names) > 0 {
		key, err := secretKey(ctx, db, true)
		if err != nil {
			return err
		}
		rec.Hashes, rec.Values = map[string]string{}, map[string]string{}
		for _, n := range names {
			if v, ok := env[n]; ok {
				rec.Values[n], rec.Hashes[n] = v, hashSecret(key, n, v)
			}
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := db.PutKV(ctx, kvSecrets, fn, b); err != nil {
		return err
	}
	return db.DeleteKV(ctx, kvSecretNames, fn)
}

// deleteSecrets forgets fn's secrets.
func deleteSecrets(ctx context.Context, db *store.DB, fn string) error {
	return joinErrs([]error{db.DeleteKV(ctx, kvSecrets, fn), db.DeleteKV(ctx, kvSecretNames, fn)})
}

// secretKey returns the project's HMAC key. Without create, a project that
// has none yet gets nil.
func secretKey(ctx context.Context, db *store.DB, create bool) ([]byte, error) {
	key, ok, err := db.GetKV(ctx, kvSecretKey, secretKeyName)
	if err != nil || ok || !create {
		return key, err
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	return db.EnsureKV(ctx, kvSecretKey, secretKeyName, fresh)
}

// hashSecret is the keyed hash of secret name's value: what the plan
// compares. The name is part of the message, so two secrets with the same
// value do not show the same hash.
func hashSecret(key []byte, name, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// hashSecrets hashes values under the project's key, or under a throwaway
// key when the project has none yet (then nothing stored can match, and
// a dry run writes nothing).
func hashSecrets(ctx context.Context, db *store.DB, values map[string]string) (map[string]string, error) {
	key, err := secretKey(ctx, db, false)
	if err != nil {
		return nil, err
	}
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	out := make(map[string]string, len(values))
	for n, v := range values {
		out[n] = hashSecret(key, n, v)
	}
	return out, nil
}

// MissingSecretError is the refusal to run a function whose deployment
// holds no value for a secret it declares (it was deployed by an evcli
// that read secrets at run time, or by a caller that passed none).
type MissingSecretError struct {
	Function string
	Secrets  []string
}

func (e *MissingSecretError) Error() string {
	word, it := "secret", "it was"
	if len(e.Secrets) > 1 {
		word, it = "secrets", "they were"
	}
	return fmt.Sprintf("function %s has no value for %s %s (%s not set when it was deployed): export %s and run evcli deploy",
		e.Function, word, strings.Join(e.Secrets, ", "), it, strings.Join(e.Secrets, " "))
}

// missingSecretError returns the refusal for fn, or nil when r is complete.
func missingSecretError(fn string, r secretRecord) error {
	m := r.missing()
	if len(m) == 0 {
		return nil
	}
	return &providers.Error{Code: providers.InvalidArgument, Err: &MissingSecretError{Function: fn, Secrets: m}}
}

// checkSecrets refuses, naming the first, a call that would run one of fns
// while its deployment lacks a secret's value.
func checkSecrets(ctx context.Context, db *store.DB, fns []string) error {
	recs, err := readSecrets(ctx, db)
	if err != nil {
		return err
	}
	slices.Sort(fns)
	for _, fn := range fns {
		if err := missingSecretError(fn, recs[fn]); err != nil {
			return err
		}
	}
	return nil
}

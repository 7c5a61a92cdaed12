package gcp

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"errors"
	"hash/crc32"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/iam/apiv1/iampb"
	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/evcli/evcli/providers"
)

// Secrets (evcli.yaml's secrets:) are Secret Manager secrets, one per
// function and variable (SecretID), each function reading its own through
// the Cloud Functions secret_environment_variables, pinned to the version
// evcli added. The value is written only as a secret version's payload:
// never into the function's configuration, a label, a step or a debug
// line. What the plan compares is a hash of it (HashSecrets: PBKDF2-SHA-256
// salted with the Google Cloud and evcli projects, so that equal values of
// two projects differ and guessing a short value costs each guess
// 20,000 rounds), kept in the secret's annotation evcli-value-hash with
// the version it describes (evcli-version): a deploy with the same value
// adds no version and changes nothing.
const (
	annValueHash = "evcli-value-hash"
	annVersion   = "evcli-version"

	// SecretAccessorRole is what a function's service account needs on
	// each secret its environment references: Cloud Run refuses the
	// revision without it.
	SecretAccessorRole = "roles/secretmanager.secretAccessor"

	hashRounds = 20000
)

// SecretID is the Secret Manager id of function fn's secret variable name
// in evcli project project: the function's id, a dash, the name.
func SecretID(project, fn, name string) string { return FunctionID(project, fn) + "-" + name }

func (d *deployer) secretName(id string) string {
	return "projects/" + d.c.cloudProject + "/secrets/" + id
}

// secretClient is the Secret Manager client, made on first use (most
// commands never need it; CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER
// moves it).
func (d *deployer) secretClient(ctx context.Context) (*secretmanager.Client, error) {
	d.smMu.Lock()
	defer d.smMu.Unlock()
	if d.sm != nil {
		return d.sm, nil
	}
	if !d.c.secretManager.plain && d.c.creds == nil {
		return nil, &providers.Error{Code: providers.Unauthenticated, Resource: "secretmanager",
			Err:  errors.New("the functions' secrets go to Secret Manager, which needs Application Default Credentials (the other APIs are fakes or emulators)"),
			Hint: `run "gcloud auth application-default login", or set ` + envOverride + `SECRETMANAGER to a fake's http:// URL`}
	}
	c, err := secretmanager.NewClient(ctx, d.c.clientOptions(d.c.secretManager)...)
	if err != nil {
		return nil, classify("secretmanager", err)
	}
	d.sm = c
	return c, nil
}

// HashSecrets implements providers.SecretHasher: the hash each value's
// secret carries in its annotation once deployed.
func (d *deployer) HashSecrets(ctx context.Context, values map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(values))
	for k, v := range values {
		out[k] = d.hashSecret(v)
	}
	return out, nil
}

func (d *deployer) hashSecret(value string) string {
	key, err := pbkdf2.Key(sha256.New, value, []byte("evcli-secret/"+d.c.cloudProject+"/"+d.project), hashRounds, 32)
	if err != nil { // only for parameters FIPS mode refuses
		panic(err)
	}
	return strings.ToLower(b32.EncodeToString(key))
}

// secretRefs are f's secret environment variables by name.
func secretRefs(f *functionspb.Function) map[string]*functionspb.SecretEnvVar {
	out := map[string]*functionspb.SecretEnvVar{}
	for _, s := range f.GetServiceConfig().GetSecretEnvironmentVariables() {
		out[s.Key] = s
	}
	return out
}

// readSecrets fills fd's SecretNames and SecretHashes from f's secret
// environment variables: a secret's hash counts only when evcli wrote it
// for the version the function reads. One GetSecret a secret; none for a
// function without secrets. SecretHashes is set (maybe empty) either way:
// this driver compares hashes.
func (d *deployer) readSecrets(ctx context.Context, fd *providers.FunctionDeployment, f *functionspb.Function) error {
	fd.SecretHashes = map[string]string{}
	refs := secretRefs(f)
	if len(refs) == 0 {
		return nil
	}
	sm, err := d.secretClient(ctx)
	if err != nil {
		return err
	}
	for k, ref := range refs {
		fd.SecretNames = append(fd.SecretNames, k)
		sec, err := sm.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/" + ref.ProjectId + "/secrets/" + ref.Secret})
		if providers.CodeOf(classify("", err)) == providers.NotFound {
			continue
		}
		if err != nil {
			return classify("secret "+ref.Secret, err)
		}
		if h := sec.Annotations[annValueHash]; h != "" && sec.Annotations[annVersion] == ref.Version {
			fd.SecretHashes[k] = h
		}
	}
	slices.Sort(fd.SecretNames)
	return nil
}

// ensureSecrets makes each of fd's secrets hold its value and readable by
// account, and returns the references the function's configuration gets.
// Reads first: a secret whose annotation has the value's hash gets no new
// version, an account that has the role no new binding.
func (d *deployer) ensureSecrets(ctx context.Context, fd providers.FunctionDeployment, account string, step func(string)) ([]*functionspb.SecretEnvVar, error) {
	if len(fd.SecretNames) == 0 {
		return nil, nil
	}
	sm, err := d.secretClient(ctx)
	if err != nil {
		return nil, err
	}
	names := slices.Sorted(slices.Values(fd.SecretNames))
	refs := make([]*functionspb.SecretEnvVar, 0, len(names))
	for _, k := range names {
		id := SecretID(d.project, fd.Name, k)
		full := d.secretName(id)
		res := "secret " + id
		hash := fd.SecretHashes[k]
		if hash == "" {
			hash = d.hashSecret(fd.Env[k])
		}
		sec, err := sm.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: full})
		switch {
		case err == nil:
		case providers.CodeOf(classify("", err)) == providers.NotFound:
			step("create secret " + id)
			sec, err = sm.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: "projects/" + d.c.cloudProject, SecretId: id,
				Secret: &secretmanagerpb.Secret{
					Replication: &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_Automatic_{Automatic: &secretmanagerpb.Replication_Automatic{}}},
					Labels:      map[string]string{LabelProject: LabelValue(d.project), LabelFunction: LabelValue(fd.Name)},
				}})
			if err != nil {
				return nil, classify(res, err)
			}
		default:
			return nil, classify(res, err)
		}
		if sec.Labels[LabelProject] != LabelValue(d.project) || sec.Labels[LabelFunction] != LabelValue(fd.Name) {
			return nil, collision(res, sec.Labels[LabelProject])
		}
		version := sec.Annotations[annVersion]
		if version == "" || sec.Annotations[annValueHash] != hash {
			step("add a version of secret " + id)
			data := []byte(fd.Env[k])
			crc := int64(crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
			v, err := sm.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: full,
				Payload: &secretmanagerpb.SecretPayload{Data: data, DataCrc32C: &crc}})
			if err != nil {
				return nil, classify(res, err)
			}
			version = v.Name[strings.LastIndex(v.Name, "/")+1:]
			ann := map[string]string{}
			for a, x := range sec.Annotations {
				ann[a] = x
			}
			ann[annValueHash], ann[annVersion] = hash, version
			if _, err := sm.UpdateSecret(ctx, &secretmanagerpb.UpdateSecretRequest{
				Secret:     &secretmanagerpb.Secret{Name: full, Annotations: ann},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"annotations"}}}); err != nil {
				return nil, classify(res, err)
			}
		}
		if err := d.ensureRole(ctx, sm, full, SecretAccessorRole, "serviceAccount:"+account, step); err != nil {
			return nil, err
		}
		refs = append(refs, &functionspb.SecretEnvVar{Key: k, ProjectId: d.c.cloudProject, Secret: id, Version: version})
	}
	return refs, nil
}

// sameSecretRefs compares two functions' secret references by variable,
// secret and version (Google may answer the project as its number).
func sameSecretRefs(a, b []*functionspb.SecretEnvVar) bool {
	key := func(s []*functionspb.SecretEnvVar) []string {
		var out []string
		for _, r := range s {
			out = append(out, r.Key+"\x00"+r.Secret+"\x00"+r.Version)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

// pruneSecrets deletes the secrets cur referenced that want does not,
// when evcli made them for this function.
func (d *deployer) pruneSecrets(ctx context.Context, fn string, cur, want *functionspb.Function, step func(string)) error {
	keep := secretRefs(want)
	var errs []error
	for k, ref := range secretRefs(cur) {
		if w := keep[k]; w != nil && w.Secret == ref.Secret {
			continue
		}
		if ref.Secret != SecretID(d.project, fn, k) {
			continue // not one evcli names
		}
		sm, err := d.secretClient(ctx)
		if err != nil {
			return err
		}
		full := "projects/" + ref.ProjectId + "/secrets/" + ref.Secret
		sec, err := sm.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: full})
		if providers.CodeOf(classify("", err)) == providers.NotFound {
			continue
		}
		if err != nil {
			errs = append(errs, classify("secret "+ref.Secret, err))
			continue
		}
		if sec.Labels[LabelProject] != LabelValue(d.project) || sec.Labels[LabelFunction] != LabelValue(fn) {
			continue
		}
		step("delete secret " + ref.Secret)
		if err := sm.DeleteSecret(ctx, &secretmanagerpb.DeleteSecretRequest{Name: full}); err != nil &&
			providers.CodeOf(classify("", err)) != providers.NotFound {
			errs = append(errs, classify("secret "+ref.Secret, err))
		}
	}
	return errors.Join(errs...)
}

// ensureRole gives member role on resource through client's IAM policy
// with a read-modify-write: GetIamPolicy, then, only when the binding is
// missing, SetIamPolicy with the etag read; a race with another writer
// (Aborted: the etag moved) reads and tries again, three times at most.
func (d *deployer) ensureRole(ctx context.Context, client iamPolicies, resource, role, member string, step func(string)) error {
	res := "IAM policy of " + resource
	for attempt := 0; ; attempt++ {
		p, err := client.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: resource})
		if err != nil {
			return classify(res, err)
		}
		i := slices.IndexFunc(p.Bindings, func(b *iampb.Binding) bool { return b.Role == role && b.Condition == nil })
		if i >= 0 && slices.Contains(p.Bindings[i].Members, member) {
			return nil
		}
		if i < 0 {
			p.Bindings = append(p.Bindings, &iampb.Binding{Role: role})
			i = len(p.Bindings) - 1
		}
		p.Bindings[i].Members = append(p.Bindings[i].Members, member)
		step("grant " + role + " to " + member)
		_, err = client.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: resource, Policy: p})
		if err == nil {
			return nil
		}
		if st, ok := grpcStatus(err); !ok || st.Code() != codes.Aborted || attempt == 2 {
			return classify(res, err)
		}
		if err := d.sleep(ctx, time.Duration(attempt+1)*time.Second); err != nil {
			return err
		}
	}
}

var (
	_ providers.SecretHasher = (*deployer)(nil)
	_ iamPolicies            = (*secretmanager.Client)(nil)
)

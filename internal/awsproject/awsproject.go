// Package awsproject renders evcli's templates as projects on the aws
// provider, for the tests of export and of the AWS driver (never linked
// into the evcli binary: only tests import it).
package awsproject

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcli/evcli/templates"
)

// Render writes template tmpl with node handlers (packaging needs no
// compiler) as project shop under a temporary directory, on aws in region,
// with a DynamoDB event store named shop-events keeping events 30 days
// (TTL attribute expiresAt) where the template configures a store; each
// edit then rewrites evcli.yaml. It returns the project directory.
func Render(t testing.TB, tmpl, region string, edits ...func(yaml string) string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shop")
	if _, err := templates.Render(tmpl, "node", "shop", dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "evcli.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	y := strings.Replace(string(b), "provider: local\n", "provider: aws\nregion: "+region+"\n", 1)
	y = strings.Replace(y, "store:\n  keys: {aggregate: aggregateId, version: version}\n",
		"store:\n  type: dynamodb\n  table: shop-events\n  ttlDays: 30\n  keys: {aggregate: aggregateId, version: version, ttl: expiresAt}\n", 1)
	for _, edit := range edits {
		y = edit(y)
	}
	if y == string(b) {
		t.Fatal("evcli.yaml unchanged")
	}
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

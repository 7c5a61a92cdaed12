package project

import (
	"strings"

	"github.com/spf13/viper"
)

// resolve layers the overridable settings with one viper instance:
// flag > EVCLI_* variable > file > default. Each layer's value is checked
// before it is layered, so a wrong value is blamed on its source (the
// file position, "--provider" or "EVCLI_PROVIDER"); a wrong value takes no
// part in the result.
//
// Viper reads the process environment itself, but Load takes its
// environment from LoadOptions.Environ (so tests and callers control it),
// so EVCLI_* values enter viper through its flag layer and flags through
// its override layer (Set); the order of precedence is viper's own.
func (d *decoder) resolve(file fileSettings, o LoadOptions) map[string]string {
	v := viper.New()
	v.SetDefault("provider", "local")
	v.SetDefault("bus", DefaultBus)

	cfg := map[string]any{}
	store, gcp, azure := map[string]any{}, map[string]any{}, map[string]any{}
	for k, val := range file.values {
		if sub, ok := strings.CutPrefix(k, "store."); ok {
			store[sub] = val
		} else if sub, ok := strings.CutPrefix(k, "gcp."); ok {
			gcp[sub] = val
		} else if sub, ok := strings.CutPrefix(k, "azure."); ok {
			azure[sub] = val
		} else {
			cfg[k] = val
		}
	}
	if len(store) > 0 {
		cfg["store"] = store
	}
	if len(gcp) > 0 {
		cfg["gcp"] = gcp
	}
	if len(azure) > 0 {
		cfg["azure"] = azure
	}
	_ = v.MergeConfigMap(cfg) // cannot fail for a map

	env := environ(o.Environ)
	for _, k := range overridable {
		name := envName(k)
		if val, ok := env[name]; ok && val != "" {
			if d.checkOverride(name, k, val) {
				_ = v.BindFlagValue(k, envValue{name: name, value: val})
			}
		}
	}
	for _, k := range overridable {
		if val := o.Flags[k]; val != "" {
			if d.checkOverride(flagName(k), k, val) {
				v.Set(k, val)
			}
		}
	}

	provider := v.GetString("provider")
	if provider == "local" {
		v.SetDefault("region", DefaultLocalRegion)
	}
	v.SetDefault("store.type", defaultStoreType[provider])
	if name := v.GetString("project"); name != "" {
		v.SetDefault("store.table", name+"-events")
	}
	out := make(map[string]string, len(overridable))
	for _, k := range overridable {
		out[k] = v.GetString(k)
	}
	return out
}

// flagName is the flag that sets a setting (LoadOptions.Flags' key):
// gcp.project is --project, as gcloud names it; azure.subscription and
// azure.resourceGroup are --subscription and --resource-group, as az names
// them.
func flagName(key string) string {
	switch key {
	case "gcp.project":
		return "--project"
	case "azure.subscription":
		return "--subscription"
	case "azure.resourceGroup":
		return "--resource-group"
	}
	return "--" + strings.ReplaceAll(key, ".", "-")
}

// checkOverride reports a wrong value given by a flag or variable.
func (d *decoder) checkOverride(source, key, val string) bool {
	if msg, hint := checkSetting(key, val); msg != "" {
		d.diags = append(d.diags, Diagnostic{File: source, Msg: msg, Hint: hint})
		return false
	}
	return true
}

// envName is the EVCLI_* variable for a setting: store.table ->
// EVCLI_STORE_TABLE, azure.resourceGroup -> EVCLI_AZURE_RESOURCE_GROUP.
func envName(key string) string {
	var b strings.Builder
	for _, r := range key {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return "EVCLI_" + strings.ToUpper(strings.ReplaceAll(b.String(), ".", "_"))
}

// environ turns KEY=VALUE pairs into a map; the first of duplicate keys
// wins, as with os.Getenv.
func environ(kv []string) map[string]string {
	m := map[string]string{}
	for _, s := range kv {
		k, v, ok := strings.Cut(s, "=")
		if !ok || !strings.HasPrefix(k, "EVCLI_") {
			continue
		}
		if _, seen := m[k]; !seen {
			m[k] = v
		}
	}
	return m
}

// envValue feeds one EVCLI_* value to viper as a viper.FlagValue.
type envValue struct{ name, value string }

func (e envValue) HasChanged() bool    { return true }
func (e envValue) Name() string        { return e.name }
func (e envValue) ValueString() string { return e.value }
func (e envValue) ValueType() string   { return "string" }

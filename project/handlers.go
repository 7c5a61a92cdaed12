package project

import "strings"

// Environment variables that say how a function's code is called. They are
// the ones the clouds' own hosts set (Cloud Functions: FUNCTION_TARGET and
// FUNCTION_SIGNATURE_TYPE, read by every Functions Framework; Azure
// Functions: FUNCTIONS_WORKER_RUNTIME), so the code sees the same values
// locally and in the cloud, and the local runtime picks its shim from them.
const (
	EnvFunctionTarget        = "FUNCTION_TARGET"
	EnvFunctionSignatureType = "FUNCTION_SIGNATURE_TYPE"
	EnvFunctionsWorker       = "FUNCTIONS_WORKER_RUNTIME"
)

// HandlerEnv returns the variables a function of the given handlers kind
// ("gcp" or "azure"; nothing for "aws" or "") gets:
//
//   - gcp: FUNCTION_SIGNATURE_TYPE=cloudevent and FUNCTION_TARGET, the name
//     the code registers its function under: the export of a Node.js or
//     Python handler (index.payment -> payment), the function's name for Go;
//   - azure: FUNCTIONS_WORKER_RUNTIME, "node", "python" or "custom" (Go: a
//     custom handler, a web server the Functions host calls).
func HandlerEnv(kind string, f Function) map[string]string {
	fam := RuntimeFamily(f.Runtime)
	switch kind {
	case "gcp":
		target := f.Name
		if fam == "nodejs" || fam == "python" {
			if i := strings.LastIndex(f.Handler, "."); i >= 0 {
				target = f.Handler[i+1:]
			}
		}
		return map[string]string{EnvFunctionSignatureType: "cloudevent", EnvFunctionTarget: target}
	case "azure":
		worker := "custom"
		switch fam {
		case "nodejs":
			worker = "node"
		case "python":
			worker = "python"
		}
		return map[string]string{EnvFunctionsWorker: worker}
	}
	return nil
}

// applyHandlers adds HandlerEnv to every function's environment, leaving a
// variable the file sets as it is.
func applyHandlers(p *Project) {
	for i := range p.Functions {
		f := &p.Functions[i]
		for k, v := range HandlerEnv(p.Handlers, *f) {
			if _, ok := f.Environment[k]; ok {
				continue
			}
			if f.Environment == nil {
				f.Environment = map[string]string{}
			}
			f.Environment[k] = v
		}
	}
}

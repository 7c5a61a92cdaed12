package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v6"

	"github.com/evcli/evcli/providers"
)

// armScope is the token scope of ARM, which the SCM site takes too.
const armScope = "https://management.azure.com/.default"

// scmURL is the base URL of the app's SCM (Kudu) site: the override, else
// the site's Repository host name, else the public cloud's.
func (d *deployer) scmURL(s *armappservice.Site) string {
	app := str(s.Name)
	if d.c.scm.url != "" {
		return d.c.scm.resolve("", app)
	}
	if s.Properties != nil {
		for _, h := range s.Properties.HostNameSSLStates {
			if h != nil && h.HostType != nil && *h.HostType == armappservice.HostTypeRepository && h.Name != nil {
				return "https://" + *h.Name
			}
		}
	}
	return "https://" + app + ".scm.azurewebsites.net"
}

// deployment is OneDeploy's deployment status.
type deployment struct {
	ID         string `json:"id"`
	Status     int    `json:"status"` // -1 cancelled, 0 pending, 1 building, 2 deploying, 3 failed, 4 success, 5 conflict, 6 partial success
	StatusText string `json:"status_text"`
	Complete   bool   `json:"complete"`
	Message    string `json:"message"`
}

// publish uploads the package zip through OneDeploy (POST
// /api/publish, the path Flex Consumption supports; classic zip deploy is
// not) and follows the deployment until it ends.
func (d *deployer) publish(ctx context.Context, s *armappservice.Site, zip []byte) error {
	app := str(s.Name)
	res := "function app " + app
	tok, err := d.c.token(ctx, armScope)
	if err != nil {
		return err
	}
	base := d.scmURL(s)
	u := base + "/api/publish?" + url.Values{"type": {"zip"}, "RemoteBuild": {"false"}, "Deployer": {"evcli"}}.Encode()
	var resp *http.Response
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(zip))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/zip")
		resp, err = d.c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &providers.Error{Code: providers.Unavailable, Resource: res, Err: fmt.Errorf("OneDeploy: %w", err)}
		}
		// 409: another deployment is in progress; 429: throttled.
		if (resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusTooManyRequests) && attempt < 5 {
			resp.Body.Close()
			if err := d.c.sleep(ctx, retryAfter(resp, time.Duration(attempt)*5*time.Second)); err != nil {
				return err
			}
			continue
		}
		break
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return classify(res, &httpError{op: "OneDeploy", status: resp.StatusCode, body: string(bytes.TrimSpace(body))})
	}
	// The answer's body is the deployment id (a JSON string); a 202 may
	// name the status URL in Location. A 200 without an id is done.
	var id string
	json.Unmarshal(body, &id)
	loc := resp.Header.Get("Location")
	switch {
	case loc != "":
	case id != "":
		loc = base + "/api/deployments/" + url.PathEscape(id)
	case resp.StatusCode == http.StatusAccepted:
		loc = base + "/api/deployments/latest"
	default:
		return nil
	}
	for missing := 0; ; {
		if err := d.c.sleep(ctx, 2*time.Second); err != nil {
			return err
		}
		st, err := d.deploymentStatus(ctx, loc, tok)
		if isNotFound(err) && missing < 5 { // the status may not be there at once
			missing++
			continue
		}
		if err != nil {
			return classify(res, err)
		}
		msg := st.StatusText
		if msg == "" {
			msg = st.Message
		}
		switch st.Status {
		case 4, 6: // Success, PartialSuccess
			return nil
		case 3, -1:
			what := map[int]string{3: "failed", -1: "was cancelled"}[st.Status]
			return &providers.Error{Code: providers.InvalidArgument, Resource: res, Err: fmt.Errorf("OneDeploy deployment %s %s: %s", st.ID, what, msg),
				Hint: "the deployment log is at " + base + "/api/deployments/" + st.ID + "/log"}
		case 5:
			return &providers.Error{Code: providers.Conflict, Resource: res, Err: fmt.Errorf("OneDeploy deployment %s conflicts with another deployment: %s", st.ID, msg),
				Hint: "wait for the other deployment to end and deploy again"}
		}
	}
}

func (d *deployer) deploymentStatus(ctx context.Context, u, tok string) (deployment, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return deployment{}, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := d.c.http.Do(req)
	if err != nil {
		return deployment{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return deployment{}, &httpError{op: "OneDeploy status", status: resp.StatusCode, body: string(bytes.TrimSpace(body))}
	}
	var st deployment
	if err := json.Unmarshal(body, &st); err != nil {
		return deployment{}, errors.New("OneDeploy status: " + err.Error())
	}
	return st, nil
}

// packageOf is the package to publish for fd: its zip with evcli's
// entrypoint (entry.go), or, for the store writer, its zip as it is.
func (d *deployer) packageOf(fd providers.FunctionDeployment, guarded bool) ([]byte, error) {
	src, err := os.ReadFile(fd.ArtifactPath)
	if err != nil {
		return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "function " + fd.Name, Err: err}
	}
	if isStoreWriter(fd.Name) {
		return src, nil
	}
	pkg, err := entryZip(fd, src, guarded)
	if err != nil {
		var pe *providers.Error
		if errors.As(err, &pe) {
			return nil, withResource("function "+fd.Name, err)
		}
		return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "function " + fd.Name, Err: err,
			Hint: "evcli's entrypoint registers the function's one Event Grid handler as the events function (see the README's Azure section)"}
	}
	return pkg, nil
}

// retryAfter is the wait a response asks for (Retry-After in seconds), or
// def.
func retryAfter(resp *http.Response, def time.Duration) time.Duration {
	var s int
	if _, err := fmt.Sscanf(resp.Header.Get("Retry-After"), "%d", &s); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	return def
}

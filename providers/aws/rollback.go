package aws

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/evcli/evcli/providers"
)

// Rollback implements providers.Rollbacker: it points the live alias of a
// function this project deployed at toVersion, or, when toVersion is "",
// at the highest published version below the current one.
func (d *Deployer) Rollback(ctx context.Context, function, toVersion string) (from, to string, err error) {
	function = d.physical(function)
	res := "function " + function
	fn, err := retry(ctx, d, res, func(ctx context.Context) (*lambda.GetFunctionOutput, error) {
		return d.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(function)})
	})
	if err != nil {
		return "", "", err
	}
	if fn.Tags[TagProject] != d.o.Project {
		return "", "", &providers.Error{Code: providers.NotFound, Resource: res,
			Err: fmt.Errorf("not deployed by this project (no tag %s=%s)", TagProject, d.o.Project)}
	}
	alias, err := retry(ctx, d, res, func(ctx context.Context) (*lambda.GetAliasOutput, error) {
		return d.lambda.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(function), Name: aws.String(AliasLive)})
	})
	if err != nil {
		if providers.CodeOf(err) == providers.NotFound {
			err.(*providers.Error).Hint = "the function has no live alias yet: run evcli deploy"
		}
		return "", "", err
	}
	from = aws.ToString(alias.FunctionVersion)
	var versions []int
	var marker *string
	for {
		page, err := retry(ctx, d, res, func(ctx context.Context) (*lambda.ListVersionsByFunctionOutput, error) {
			return d.lambda.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(function), Marker: marker})
		})
		if err != nil {
			return "", "", err
		}
		for _, v := range page.Versions {
			if n, ok := versionNumber(aws.ToString(v.Version)); ok {
				versions = append(versions, n)
			}
		}
		if marker = page.NextMarker; marker == nil || *marker == "" {
			break
		}
	}
	slices.Sort(versions)
	cur, _ := versionNumber(from)
	if toVersion == "" {
		i, _ := slices.BinarySearch(versions, cur)
		if i == 0 {
			return from, "", &providers.Error{Code: providers.NotFound, Resource: res,
				Err: fmt.Errorf("live is at version %s and there is no earlier version", from)}
		}
		to = strconv.Itoa(versions[i-1])
	} else {
		n, ok := versionNumber(toVersion)
		if !ok || !slices.Contains(versions, n) {
			names := make([]string, len(versions))
			for i, v := range versions {
				names[i] = strconv.Itoa(v)
			}
			return from, "", &providers.Error{Code: providers.NotFound, Resource: res,
				Err:  fmt.Errorf("no version %q", toVersion),
				Hint: "published versions: " + strings.Join(names, ", ")}
		}
		to = strconv.Itoa(n)
	}
	if to == from {
		return from, to, nil
	}
	err = do(ctx, d, res, func(ctx context.Context) (*lambda.UpdateAliasOutput, error) {
		return d.lambda.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(function), Name: aws.String(AliasLive), FunctionVersion: aws.String(to)})
	})
	return from, to, err
}

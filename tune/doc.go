// Package tune recommends function memory sizes from observed invocations
// and, optionally, from a short benchmark ("probe") at several sizes.
//
// The pipeline is:
//
//   - Summarize turns a function's invocation records (providers.MetricsSource)
//     into Observations: counts, duration percentiles, billed and init
//     duration, Max Memory Used and, where the provider measures it (local),
//     the share of wall time spent on the CPU.
//   - Compute (providers.ComputeModel) is how the cloud runs a size: the
//     sizes it has, the vCPUs and billed memory of each, the billing step.
//     A provider's Pricer says it (providers.Compute; ComputeOf): Lambda's
//     for aws and local (LambdaCompute), Cloud Run functions' 2nd gen tiers
//     for gcp (CloudRunCompute, prices_cloudrun.go), Flex Consumption's
//     three instance sizes for azure (FlexCompute, prices_flex.go). Only the
//     cloud's sizes (and the current one) are candidates.
//   - Model estimates the duration at another memory size from the vCPUs
//     the compute gives each. Lambda gives CPU in proportion to memory
//     (1,769 MB = 1 vCPU, at most 6 vCPUs at 10,240 MB).
//     A handler is assumed single-threaded, so it gains nothing above one
//     vCPU (Model.Threads raises that). The CPU-bound part of the duration
//     scales with the CPU ratio, the rest (waiting on IO) does not. When the
//     CPU share is unknown the model is pessimistic in both directions: a
//     smaller size is assumed fully CPU-bound (it slows down as much as it
//     can, so savings are never overstated), a larger size is assumed fully
//     IO-bound (no speed-up, so extra memory never looks cheaper than it is).
//   - Price converts memory, vCPUs (where billed apart, Cloud Run) and
//     billed milliseconds into dollars from an embedded, dated price table
//     (prices.go, prices_cloudrun.go, prices_flex.go), overridable from
//     evcli.yaml.
//   - A Strategy (cost, speed, balanced) picks a size the way the AWS Lambda
//     Power Tuning tool does, among the sizes at or above the memory floor
//     (Max Memory Used p99 plus headroom, never below the largest value seen).
//   - Recommend/RecommendProbed build a Recommendation with a confidence and
//     the reason for it; WriteText and JSONObject render it.
//   - providers.Prober and providers.MemorySetter are the driver abilities for --probe and
//     --apply; providers implement them (local and aws).
//
// The package never imports cobra, viper or cloud SDKs; errors name the flag
// or value that is wrong and what would be right.
package tune

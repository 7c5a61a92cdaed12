package tune

import "math"

// Lambda's memory limits and CPU allocation. MinMemoryMB and MaxMemoryMB
// are also evcli.yaml's: no cloud's size above MaxMemoryMB is a candidate.
const (
	MinMemoryMB     = 128
	MaxMemoryMB     = 10240
	OneVCPUMB       = 1769 // memory at which a function gets one full vCPU
	MaxVCPUs        = 6.0  // at 10,240 MB
	DefaultHeadroom = 0.20
)

// StandardSizes are the candidate memory sizes when --sizes is not given.
var StandardSizes = []int{128, 256, 512, 768, 1024, 1536, 1769, 2048, 3008, 4096, 5120, 6144, 8192, 10240}

// DefaultProbeSizes are the sizes --probe tries when --sizes is not given
// (plus the current size).
var DefaultProbeSizes = []int{128, 512, 1024, 1769, 3008}

// VCPUs is the CPU Lambda gives a function with memoryMB: proportional to
// memory, 1 vCPU at 1,769 MB, capped at 6.
func VCPUs(memoryMB int) float64 {
	return math.Min(float64(memoryMB)/OneVCPUMB, MaxVCPUs)
}

// Model estimates durations at other memory sizes.
type Model struct {
	// Threads is how many vCPUs the handler can keep busy. Zero means 1:
	// the handler is assumed single-threaded (one Node.js event loop, one
	// Python interpreter, a Go handler doing sequential work), so CPU above
	// one vCPU does not make it faster.
	Threads float64
	// CPU is the vCPUs a function gets at a memory size; nil is Lambda's
	// (VCPUs). Recommend sets it from Config.Compute.
	CPU func(memoryMB int) float64
}

// usableCPU is the CPU the handler can use at memoryMB.
func (m Model) usableCPU(memoryMB int) float64 {
	t := m.Threads
	if t <= 0 {
		t = 1
	}
	cpu := VCPUs
	if m.CPU != nil {
		cpu = m.CPU
	}
	return math.Min(cpu(memoryMB), t)
}

// Duration estimates the duration at target of an invocation that took
// durationMs at current. share is the CPU-bound fraction of the duration
// (CPU time / duration) when known is true:
//
//	d(target) = d*(1-share) + d*share * cpu(current)/cpu(target)
//
// When the share is unknown the estimate is the pessimistic one for the
// direction: share 1 for a smaller target (it slows down fully), share 0
// for a larger one (it gets no faster).
func (m Model) Duration(durationMs float64, current, target int, share float64, known bool) float64 {
	if target == current {
		return durationMs
	}
	if !known {
		if target < current {
			share = 1
		} else {
			share = 0
		}
	}
	share = math.Max(0, math.Min(share, 1))
	io := durationMs * (1 - share)
	cpu := durationMs * share
	return io + cpu*m.usableCPU(current)/m.usableCPU(target)
}

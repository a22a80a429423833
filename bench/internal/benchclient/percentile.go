package benchclient

import (
	"sort"
	"time"
)

// Percentile returns the q quantile (0 to 1) of d, sorting d in place; 0
// for no samples.
func Percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[int(float64(len(d)-1)*q)]
}

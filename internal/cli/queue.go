package cli

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/riverqueue/river"

	"github.com/offloadsecurity/cspm/internal/app"
	"github.com/offloadsecurity/cspm/internal/logging"
	"github.com/offloadsecurity/cspm/internal/queue"
)

func runQueue(env Env, args []string) error {
	if len(args) == 0 || args[0] != "probe" {
		return usagef("queue: want a subcommand: probe")
	}
	var (
		count   int
		hold    time.Duration
		timeout time.Duration
	)
	cfg, err := setup(env, "queue probe", args[1:], func(b *flagSetBinding) {
		b.IntVar(&count, "n", 10, "number of probe jobs to enqueue")
		b.DurationVar(&hold, "hold", 20*time.Millisecond, "how long each probe keeps a worker busy (at most 5s)")
		b.DurationVar(&timeout, "timeout", time.Minute, "how long to wait for workers to finish them")
	})
	if err != nil {
		return err
	}
	if count < 1 || count > 100000 {
		return usagef("queue probe: -n must be from 1 to 100000")
	}
	logger := logging.New(env.Stderr, cfg.LogLevel, cfg.LogFormat)
	ctx, stop := env.Signals()
	defer stop()
	a, err := app.Open(ctx, cfg, logger, false)
	if err != nil {
		return err
	}
	defer a.Close()

	params := make([]river.InsertManyParams, count)
	for i := range params {
		params[i] = river.InsertManyParams{Args: queue.ProbeArgs{HoldMillis: int(hold.Milliseconds())}}
	}
	start := time.Now()
	res, err := a.Queue.InsertMany(ctx, params)
	if err != nil {
		return fmt.Errorf("enqueue probes: %w", err)
	}
	ids := make([]int64, len(res))
	for i, r := range res {
		ids[i] = r.Job.ID
	}
	fmt.Fprintf(env.Stdout, "enqueued %d probe jobs; waiting for workers\n", count)

	deadline := time.After(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := queue.ProbeStatus(ctx, a.Registry, ids)
		if err != nil {
			return err
		}
		if st.Pending == 0 {
			elapsed := time.Since(start)
			workers := make([]string, 0, len(st.ByWorker))
			for w := range st.ByWorker {
				workers = append(workers, w)
			}
			sort.Strings(workers)
			fmt.Fprintf(env.Stdout, "all %d probes worked in %s (%.0f jobs/s) by %d workers:\n",
				count, elapsed.Round(time.Millisecond), float64(count)/elapsed.Seconds(), len(workers))
			for _, w := range workers {
				fmt.Fprintf(env.Stdout, "  %-40s %d\n", w, st.ByWorker[w])
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-deadline:
			return fmt.Errorf("%d of %d probes still unworked after %s: are workers running ('cspm worker' or 'cspm serve')?",
				st.Pending, count, timeout)
		case <-tick.C:
		}
	}
}

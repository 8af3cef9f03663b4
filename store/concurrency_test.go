package store

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestConcurrentReplicasUpsert: two stores on one database (two replicas)
// record the same runs at once, in different orders; every run is counted
// once and nothing deadlocks or fails.
func TestConcurrentReplicasUpsert(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		replicas := []*Store{openMigrated(t, dsn), openMigrated(t, dsn)}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 4 {
			s := replicas[w%2]
			wg.Go(func() {
				for round := range 10 {
					var batch []RunObservation
					for i := range 20 {
						id := fmt.Sprintf("edr_%02d", (i*7+w*3+round)%20)
						if (i+w)%2 == 0 {
							batch = append(batch, processing(id, round))
						} else {
							batch = append(batch, withCreated(processed(id, round, float64(100*(i+1))), i*13))
						}
					}
					if _, err := s.UpsertRuns(ctx, tenantA, batch); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if diff := cmp.Diff(recomputedRollups(t, replicas[0], tenantA), storedRollups(t, replicas[0], tenantA)); diff != "" {
			t.Fatalf("rollups drifted under concurrency (-recomputed +stored):\n%s", diff)
		}
		counts, err := replicas[1].CountRuns(ctx, tenantA, testStart.Add(-48*3600e9), testStart.Add(48*3600e9))
		if err != nil || counts.Total != 20 {
			t.Fatalf("counts %+v %v, want 20 runs", counts, err)
		}
	})
}

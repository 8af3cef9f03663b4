package store

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store/storetest"
)

// BenchmarkClassifyingDriver is what the classifying driver (every error
// checked for ErrUnavailable) costs a page of the runs list and a point
// read: the same queries through the store's pool and through a plain
// pool of the same driver, alternated query by query so both see the
// same machine load. A ratio near 1 means the wrapper is free.
func BenchmarkClassifyingDriver(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			ctx := context.Background()
			dsn := backend.NewDSN(b)
			s, err := Open(ctx, dsn, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if err := s.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			runs := make([]RunSnapshot, 5000)
			start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			for i := range runs {
				runs[i] = RunSnapshot{RunID: fmt.Sprintf("edr_%06d", i), RunFacts: RunFacts{Status: StatusProcessed,
					FileName: fmt.Sprintf("acme-%d.pdf", i)}, FirstSeenAt: start.Add(time.Duration(i) * time.Minute)}
			}
			if err := s.InsertSyntheticRuns(ctx, "us/ws_1", runs); err != nil {
				b.Fatal(err)
			}
			driverName, readDSN := "pgx", dsn
			if backend.Name == "sqlite" {
				driverName, readDSN = "sqlite", dsn+"?_pragma=busy_timeout(5000)&_query_only=1"
			}
			plain, err := sql.Open(driverName, readDSN)
			if err != nil {
				b.Fatal(err)
			}
			defer plain.Close()
			classified, err := openClassified(driverName, readDSN)
			if err != nil {
				b.Fatal(err)
			}
			defer classified.Close()
			list, listArgs, err := s.runSQL(runQuery{filter: RunFilter{Tenant: "us/ws_1"}, limit: DefaultRunLimit + 1})
			if err != nil {
				b.Fatal(err)
			}
			list = s.d.rebind(list)
			point := s.d.rebind(snapshotSelectOne)
			page := func(db *sql.DB) {
				rows, err := db.QueryContext(ctx, list, listArgs...)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rows.Next() {
					if _, err := scanSnapshot(rows); err != nil {
						b.Fatal(err)
					}
					n++
				}
				if err := closeRows(rows); err != nil || n != DefaultRunLimit+1 {
					b.Fatalf("%d runs, %v", n, err)
				}
				if _, err := scanSnapshot(db.QueryRowContext(ctx, point, "us/ws_1", "edr_000042")); err != nil {
					b.Fatal(err)
				}
			}
			var plainTime, classifiedTime time.Duration
			i := 0
			for b.Loop() {
				pools := []*sql.DB{plain, classified}
				if i%2 == 1 {
					pools[0], pools[1] = pools[1], pools[0]
				}
				for _, db := range pools {
					t0 := time.Now()
					page(db)
					if db == plain {
						plainTime += time.Since(t0)
					} else {
						classifiedTime += time.Since(t0)
					}
				}
				i++
			}
			b.ReportMetric(float64(plainTime.Microseconds())/float64(i), "plain-µs/page")
			b.ReportMetric(float64(classifiedTime.Microseconds())/float64(i), "classified-µs/page")
			b.ReportMetric(float64(classifiedTime)/float64(plainTime), "ratio")
		})
	}
}

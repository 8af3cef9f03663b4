//go:build race

package handlers

// exportMemoryRows is smaller under the race detector, whose
// instrumentation makes 200,000 inserts take minutes.
const exportMemoryRows = 20_000

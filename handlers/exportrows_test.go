//go:build !race

package handlers

// exportMemoryRows is how many runs the constant-memory export test writes.
const exportMemoryRows = 200_000

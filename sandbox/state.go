package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// stateFileName is the JSON state kept in Options.DataDir beside files/.
const stateFileName = "sandbox-state.json"

// stateVersion is bumped when the state file's shape changes incompatibly.
const stateVersion = 1

// persistDebounce groups bursts of changes into one write.
const persistDebounce = 50 * time.Millisecond

// storeState is everything the sandbox keeps across restarts.
type storeState struct {
	Version    int                       `json:"version"`
	PresignKey []byte                    `json:"presignKey"` // so presigned URLs survive a restart
	Seeded     bool                      `json:"seeded"`
	Workspaces map[string]*workspaceData `json:"workspaces"`
}

func newStoreState() *storeState {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(fmt.Sprintf("sandbox: crypto/rand failed: %v", err)) // never happens on supported platforms
	}
	return &storeState{Version: stateVersion, PresignKey: key, Workspaces: map[string]*workspaceData{}}
}

// markDirtyLocked asks the persister for a write (no-op in memory).
func (s *Server) markDirtyLocked() {
	if s.persist != nil {
		s.persist.markDirty()
	}
}

// snapshot encodes the state under the lock; the write happens outside it.
func (s *Server) snapshot() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := json.Marshal(s.state)
	if err != nil {
		s.logger.Error("sandbox: encode state", "err", err)
		return nil
	}
	return data
}

// persister writes the state file atomically (temp file, fsync, rename)
// after changes, debounced, from a single goroutine.
type persister struct {
	path  string
	dirty chan struct{}
}

func newPersister(path string) *persister {
	return &persister{path: path, dirty: make(chan struct{}, 1)}
}

func (p *persister) markDirty() {
	select {
	case p.dirty <- struct{}{}:
	default:
	}
}

// run writes after each burst of changes until ctx ends; Close then writes
// the final state itself.
func (p *persister) run(ctx context.Context, snapshot func() []byte) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.dirty:
		}
		t := time.NewTimer(persistDebounce)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		_ = p.save(snapshot()) // a failed write is retried on the next change and at Close
	}
}

// save writes data atomically.
func (p *persister) save(data []byte) error {
	if data == nil {
		return errors.New("sandbox: state could not be encoded")
	}
	dir := filepath.Dir(p.path)
	tmp, err := os.CreateTemp(dir, ".state-*")
	if err != nil {
		return fmt.Errorf("sandbox: save state: %w", err)
	}
	_, werr := tmp.Write(data)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("sandbox: save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), p.path); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("sandbox: save state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable; not every file system supports it
		_ = d.Close()
	}
	return nil
}

// load reads the state file, or starts a fresh state when there is none.
func (p *persister) load() (*storeState, error) {
	data, err := os.ReadFile(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return newStoreState(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox: read state: %w", err)
	}
	var st storeState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("sandbox: state file %s is damaged (%w); move it away to start afresh", p.path, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("sandbox: state file %s has version %d, this build reads %d", p.path, st.Version, stateVersion)
	}
	if len(st.PresignKey) < 32 {
		st.PresignKey = newStoreState().PresignKey
	}
	if st.Workspaces == nil {
		st.Workspaces = map[string]*workspaceData{}
	}
	for id, wd := range st.Workspaces {
		fresh := newWorkspaceData(id)
		if wd == nil {
			st.Workspaces[id] = fresh
			continue
		}
		wd.ID = id
		if wd.Files == nil {
			wd.Files = fresh.Files
		}
		if wd.EditRuns == nil {
			wd.EditRuns = fresh.EditRuns
		}
		if wd.DetectionRuns == nil {
			wd.DetectionRuns = fresh.DetectionRuns
		}
		if wd.Webhooks == nil {
			wd.Webhooks = fresh.Webhooks
		}
		if wd.Deliveries == nil {
			wd.Deliveries = fresh.Deliveries
		}
	}
	return &st, nil
}

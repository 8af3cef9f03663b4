package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/editwatch/editwatch/config"
)

// secretsFileName holds the keys --sandbox generates for itself.
const secretsFileName = "secrets.json"

// sandboxSecrets is the content of <data-dir>/secrets.json.
type sandboxSecrets struct {
	SessionKey    string `json:"sessionKey"`
	EncryptionKey string `json:"encryptionKey"`
}

// ensureSandboxSecrets fills in, in sandbox mode only, a missing
// --session-key or --encryption-key from <data-dir>/secrets.json, creating
// that file (0600) with fresh random keys on first start. Keys given on
// the command line always win. It reports whether it generated keys.
func ensureSandboxSecrets(cfg *config.Serve) (generated bool, err error) {
	if !cfg.Sandbox || (len(cfg.SessionKeys) > 0 && len(cfg.EncryptionKeys) > 0) {
		return false, nil
	}
	path := filepath.Join(cfg.DataDir, secretsFileName)
	var s sandboxSecrets
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if s.SessionKey, err = randomKey(); err != nil {
			return false, err
		}
		if s.EncryptionKey, err = randomKey(); err != nil {
			return false, err
		}
		if err := writeSecrets(path, s); err != nil {
			return false, err
		}
		generated = true
	case err != nil:
		return false, fmt.Errorf("read %s: %w", path, err)
	default:
		if err := json.Unmarshal(data, &s); err != nil {
			return false, fmt.Errorf("read %s: %w (delete it to generate new keys; sessions and connections are then lost)", path, err)
		}
	}
	decode := func(name, v string) ([]byte, error) {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("%s in %s is not 32 base64-encoded bytes", name, path)
		}
		return b, nil
	}
	if len(cfg.SessionKeys) == 0 {
		k, err := decode("sessionKey", s.SessionKey)
		if err != nil {
			return false, err
		}
		cfg.SessionKeys = [][]byte{k}
	}
	if len(cfg.EncryptionKeys) == 0 {
		k, err := decode("encryptionKey", s.EncryptionKey)
		if err != nil {
			return false, err
		}
		cfg.EncryptionKeys = [][]byte{k}
	}
	return generated, nil
}

func randomKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// writeSecrets creates path with mode 0600, refusing to overwrite.
func writeSecrets(path string, s sandboxSecrets) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

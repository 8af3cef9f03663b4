package store

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealerRoundTrip(t *testing.T) {
	sealer := newTestSealer(t)
	tests := []struct {
		name      string
		plaintext []byte
		ad        []byte
	}{
		{"api key", []byte("sk_live_0123456789abcdef"), []byte("conn_1")},
		{"empty plaintext", []byte{}, []byte("row")},
		{"no associated data", []byte("secret"), nil},
		{"binary", bytes.Repeat([]byte{0, 255, 7}, 1000), []byte("session")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := sealer.Seal(tt.plaintext, tt.ad)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if len(tt.plaintext) > 0 && bytes.Contains(sealed, tt.plaintext) {
				t.Fatal("ciphertext contains the plaintext")
			}
			got, err := sealer.Open(sealed, tt.ad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Fatalf("Open = %q, want %q", got, tt.plaintext)
			}
			again, err := sealer.Seal(tt.plaintext, tt.ad)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(again, sealed) {
				t.Fatal("two seals of the same plaintext are identical: nonce reused")
			}
		})
	}
}

func TestSealerRotation(t *testing.T) {
	keys := randomKeys(t, 3)
	oldSealer, err := NewSealer(keys[1:2])
	if err != nil {
		t.Fatal(err)
	}
	sealedByOld, err := oldSealer.Seal([]byte("old secret"), []byte("row"))
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := NewSealer([][]byte{keys[0], keys[1]})
	if err != nil {
		t.Fatal(err)
	}
	got, err := rotated.Open(sealedByOld, []byte("row"))
	if err != nil || string(got) != "old secret" {
		t.Fatalf("rotated.Open(old) = %q, %v; want the old secret", got, err)
	}

	sealedByNew, err := rotated.Seal([]byte("new secret"), []byte("row"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oldSealer.Open(sealedByNew, []byte("row")); !errors.Is(err, ErrUndecryptable) {
		t.Fatalf("old sealer opened a ciphertext of the new key: err = %v", err)
	}
	newOnly, err := NewSealer(keys[0:1])
	if err != nil {
		t.Fatal(err)
	}
	if got, err := newOnly.Open(sealedByNew, []byte("row")); err != nil || string(got) != "new secret" {
		t.Fatalf("new key alone: Open = %q, %v; want the first key to seal", got, err)
	}

	retired, err := NewSealer([][]byte{keys[0], keys[2]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := retired.Open(sealedByOld, []byte("row")); !errors.Is(err, ErrUndecryptable) {
		t.Fatalf("Open after retiring the key: err = %v, want ErrUndecryptable", err)
	}
}

func TestSealerRejectsTamperingAndSwaps(t *testing.T) {
	sealer := newTestSealer(t)
	ad := []byte("conn_a")
	sealed, err := sealer.Seal([]byte("sk_live_canary"), ad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 0x01
		return c
	}
	tests := []struct {
		name       string
		ciphertext []byte
		ad         []byte
	}{
		{"version byte", flip(0), ad},
		{"key id", flip(2), ad},
		{"nonce", flip(headerSize + 3), ad},
		{"ciphertext body", flip(headerSize + gcmNonceSize + 1), ad},
		{"tag", flip(len(sealed) - 1), ad},
		{"truncated", sealed[:len(sealed)-1], ad},
		{"too short", sealed[:headerSize+gcmNonceSize-1], ad},
		{"empty", nil, ad},
		{"other row's associated data", sealed, []byte("conn_b")},
		{"missing associated data", sealed, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sealer.Open(tt.ciphertext, tt.ad)
			if !errors.Is(err, ErrUndecryptable) {
				t.Fatalf("Open = %q, %v; want ErrUndecryptable", got, err)
			}
		})
	}
}

func TestNewSealerValidatesKeys(t *testing.T) {
	good := randomKeys(t, 1)[0]
	tests := []struct {
		name string
		keys [][]byte
	}{
		{"no keys", nil},
		{"short key", [][]byte{good[:16]}},
		{"long key", [][]byte{append(bytes.Clone(good), 0)}},
		{"second key short", [][]byte{good, good[:31]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSealer(tt.keys); err == nil {
				t.Fatal("NewSealer accepted invalid keys")
			}
		})
	}
}

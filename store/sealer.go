package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// ErrUndecryptable reports a ciphertext that no configured key opens: the
// key that sealed it was retired, the bytes were altered, or it was moved
// to another row (its associated data differs).
var ErrUndecryptable = errors.New("store: cannot decrypt: no configured key opens this ciphertext")

// SealerKeySize is the length of every encryption key, in bytes (AES-256).
const SealerKeySize = 32

// sealedVersion starts every ciphertext so the format can change later.
const sealedVersion byte = 1

const (
	keyIDSize    = 4
	headerSize   = 1 + keyIDSize
	gcmNonceSize = 12
)

// Sealer encrypts small secrets (API keys, session values) with
// AES-256-GCM under rotatable keys. The first key seals; every key opens.
// A ciphertext is version (1 byte) | key ID (4 bytes) | nonce (12) |
// sealed data and tag, so Open goes straight to the key that sealed it.
type Sealer struct {
	keys []sealerKey
}

type sealerKey struct {
	id   [keyIDSize]byte
	aead cipher.AEAD
}

// NewSealer builds a Sealer from raw 32-byte keys (already base64-decoded
// by config). The first key seals; the others only open, for rotation.
func NewSealer(keys [][]byte) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("store: sealer needs at least one encryption key")
	}
	s := &Sealer{keys: make([]sealerKey, 0, len(keys))}
	for i, key := range keys {
		if len(key) != SealerKeySize {
			return nil, fmt.Errorf("store: encryption key %d is %d bytes, want %d", i+1, len(key), SealerKeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("store: encryption key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("store: encryption key %d: %w", i+1, err)
		}
		s.keys = append(s.keys, sealerKey{id: sealerKeyID(key), aead: aead})
	}
	return s, nil
}

// sealerKeyID names a key without revealing it: a truncated hash that is
// domain-separated from any other use of the key.
func sealerKeyID(key []byte) [keyIDSize]byte {
	sum := sha256.Sum256(append([]byte("editwatch sealer key id\x00"), key...))
	var id [keyIDSize]byte
	copy(id[:], sum[:keyIDSize])
	return id
}

// Seal encrypts plaintext under the first key. associatedData is not
// stored but must be given again to Open: pass what identifies the row
// (its ID), so a ciphertext copied to another row does not open.
func (s *Sealer) Seal(plaintext, associatedData []byte) ([]byte, error) {
	key := s.keys[0]
	out := make([]byte, headerSize+gcmNonceSize, headerSize+gcmNonceSize+len(plaintext)+key.aead.Overhead())
	out[0] = sealedVersion
	copy(out[1:headerSize], key.id[:])
	nonce := out[headerSize : headerSize+gcmNonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("store: seal: nonce: %w", err)
	}
	return key.aead.Seal(out, nonce, plaintext, additionalData(out[:headerSize], associatedData)), nil
}

// Open decrypts what Seal produced with the same associatedData. It
// returns ErrUndecryptable when no configured key opens it.
func (s *Sealer) Open(ciphertext, associatedData []byte) ([]byte, error) {
	if len(ciphertext) < headerSize+gcmNonceSize || ciphertext[0] != sealedVersion {
		return nil, ErrUndecryptable
	}
	header := ciphertext[:headerSize]
	nonce := ciphertext[headerSize : headerSize+gcmNonceSize]
	sealed := ciphertext[headerSize+gcmNonceSize:]
	ad := additionalData(header, associatedData)
	// Two keys share an ID with probability 2^-32 per pair; trying every
	// key with a matching ID keeps such a pair working.
	for _, key := range s.keys {
		if string(key.id[:]) != string(header[1:]) {
			continue
		}
		if plaintext, err := key.aead.Open(nil, nonce, sealed, ad); err == nil {
			return plaintext, nil
		}
	}
	return nil, ErrUndecryptable
}

// additionalData authenticates the header too, so the version and key ID
// cannot be altered without detection.
func additionalData(header, associatedData []byte) []byte {
	ad := make([]byte, 0, len(header)+len(associatedData))
	ad = append(ad, header...)
	return append(ad, associatedData...)
}

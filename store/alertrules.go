package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Alert rules and channels made on the alerts page. A rule is kept in the
// rules file's YAML form and read by the same parser; a channel's URL and
// secret are sealed like API keys, with the channel's name as associated
// data, and opened only for sending.

// AlertPageRule is a rule made on the alerts page.
type AlertPageRule struct {
	Name      string
	Tenant    string
	Spec      string // YAML, one rule
	Enabled   bool
	UpdatedBy string
	UpdatedAt time.Time
}

// AlertPageChannel is a channel made on the alerts page, for one tenant.
// URL and Secret are secrets: AlertPageChannels opens them for the
// sender; pages show neither.
type AlertPageChannel struct {
	Name      string
	Tenant    string
	Type      string
	To        []string
	URL       string
	Secret    string
	UpdatedBy string
	UpdatedAt time.Time
}

// ErrAlertNameTaken refuses a rule or channel whose name another
// workspace already uses (names are unique across workspaces).
var ErrAlertNameTaken = errors.New("store: that name is taken by another workspace's rule or channel")

// PutAlertRule creates or replaces a page rule of r.Tenant. Audit the
// call: the store does not.
func (s *Store) PutAlertRule(ctx context.Context, r AlertPageRule) error {
	if r.Name == "" || r.Tenant == "" || r.Spec == "" || r.UpdatedBy == "" {
		return errors.New("store: put alert rule: a name, a tenant, a spec and who changes it are needed")
	}
	res, err := s.exec(ctx, `INSERT INTO alert_rules (name, tenant, spec, enabled, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec, enabled = EXCLUDED.enabled, updated_by = EXCLUDED.updated_by,
		updated_at = EXCLUDED.updated_at WHERE alert_rules.tenant = EXCLUDED.tenant`,
		r.Name, r.Tenant, r.Spec, boolInt(r.Enabled), r.UpdatedBy, millis(s.now()))
	if err != nil {
		return fmt.Errorf("store: put alert rule %s: %w", r.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: put alert rule %s: %w", r.Name, ErrAlertNameTaken)
	}
	return nil
}

// SetAlertRuleEnabled enables or disables a page rule of tenant;
// ErrNotFound when it has none of that name.
func (s *Store) SetAlertRuleEnabled(ctx context.Context, tenant, name string, enabled bool, by string) error {
	res, err := s.exec(ctx, `UPDATE alert_rules SET enabled = ?, updated_by = ?, updated_at = ? WHERE name = ? AND tenant = ?`,
		boolInt(enabled), by, millis(s.now()), name, tenant)
	return affectedOne(res, err, "set alert rule "+name)
}

// DeleteAlertRule removes a page rule of tenant; ErrNotFound when it has
// none of that name.
func (s *Store) DeleteAlertRule(ctx context.Context, tenant, name string) error {
	res, err := s.exec(ctx, `DELETE FROM alert_rules WHERE name = ? AND tenant = ?`, name, tenant)
	return affectedOne(res, err, "delete alert rule "+name)
}

func affectedOne(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return nil
}

// AlertPageRules returns every page rule, of every tenant.
func (s *Store) AlertPageRules(ctx context.Context) ([]AlertPageRule, error) {
	rows, err := s.query(ctx, `SELECT name, tenant, spec, enabled, updated_by, updated_at FROM alert_rules ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: alert rules: %w", err)
	}
	defer rows.Close()
	var out []AlertPageRule
	for rows.Next() {
		var r AlertPageRule
		var enabled, at int64
		if err := rows.Scan(&r.Name, &r.Tenant, &r.Spec, &enabled, &r.UpdatedBy, &at); err != nil {
			return nil, fmt.Errorf("store: alert rules: %w", err)
		}
		r.Enabled, r.UpdatedAt = enabled != 0, fromMillis(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

func alertChannelAD(name, part string) []byte {
	return []byte("editwatch/alert-channel/" + name + "/" + part)
}

// PutAlertChannel creates or replaces a page channel of c.Tenant, its URL
// and secret sealed. Audit the call: the store does not.
func (s *Store) PutAlertChannel(ctx context.Context, c AlertPageChannel) error {
	if s.sealer == nil {
		return ErrNoSealer
	}
	if c.Name == "" || c.Tenant == "" || c.Type == "" || c.UpdatedBy == "" {
		return errors.New("store: put alert channel: a name, a tenant, a type and who changes it are needed")
	}
	seal := func(v, part string) ([]byte, error) {
		if v == "" {
			return nil, nil
		}
		return s.sealer.Seal([]byte(v), alertChannelAD(c.Name, part))
	}
	sealedURL, err := seal(c.URL, "url")
	if err != nil {
		return fmt.Errorf("store: put alert channel %s: %w", c.Name, err)
	}
	sealedSecret, err := seal(c.Secret, "secret")
	if err != nil {
		return fmt.Errorf("store: put alert channel %s: %w", c.Name, err)
	}
	res, err := s.exec(ctx, `INSERT INTO alert_channels (name, tenant, type, recipients, url_sealed, secret_sealed, updated_by, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET type = EXCLUDED.type, recipients = EXCLUDED.recipients, url_sealed = EXCLUDED.url_sealed,
		secret_sealed = EXCLUDED.secret_sealed, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at
		WHERE alert_channels.tenant = EXCLUDED.tenant`,
		c.Name, c.Tenant, c.Type, strings.Join(c.To, ","), sealedURL, sealedSecret, c.UpdatedBy, millis(s.now()))
	if err != nil {
		return fmt.Errorf("store: put alert channel %s: %w", c.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: put alert channel %s: %w", c.Name, ErrAlertNameTaken)
	}
	return nil
}

// DeleteAlertChannel removes a page channel of tenant; ErrNotFound when
// it has none of that name.
func (s *Store) DeleteAlertChannel(ctx context.Context, tenant, name string) error {
	res, err := s.exec(ctx, `DELETE FROM alert_channels WHERE name = ? AND tenant = ?`, name, tenant)
	return affectedOne(res, err, "delete alert channel "+name)
}

// AlertPageChannels returns every page channel with its URL and secret
// opened, for the sender. A channel no configured key opens comes back
// without them (its deliveries then fail, saying so).
func (s *Store) AlertPageChannels(ctx context.Context) ([]AlertPageChannel, error) {
	rows, err := s.query(ctx, `SELECT name, tenant, type, recipients, url_sealed, secret_sealed, updated_by, updated_at
		FROM alert_channels ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: alert channels: %w", err)
	}
	defer rows.Close()
	var out []AlertPageChannel
	for rows.Next() {
		var c AlertPageChannel
		var to string
		var sealedURL, sealedSecret []byte
		var at int64
		if err := rows.Scan(&c.Name, &c.Tenant, &c.Type, &to, &sealedURL, &sealedSecret, &c.UpdatedBy, &at); err != nil {
			return nil, fmt.Errorf("store: alert channels: %w", err)
		}
		c.UpdatedAt = fromMillis(at)
		if to != "" {
			c.To = strings.Split(to, ",")
		}
		if s.sealer != nil {
			if len(sealedURL) > 0 {
				if v, err := s.sealer.Open(sealedURL, alertChannelAD(c.Name, "url")); err == nil {
					c.URL = string(v)
				}
			}
			if len(sealedSecret) > 0 {
				if v, err := s.sealer.Open(sealedSecret, alertChannelAD(c.Name, "secret")); err == nil {
					c.Secret = string(v)
				}
			}
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

package alerts

import (
	"errors"
	"fmt"
	"math"
	"net/mail"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/editwatch/editwatch/store"
)

// Rule kinds.
const (
	KindFailureRate = "failure_rate"
	KindReason      = "reason"
	KindStuck       = "stuck"
	KindSlow        = "slow"
	KindSilence     = "silence"
	KindCredits     = "credits"
)

// Kinds lists the rule kinds in the order the settings page offers them.
var Kinds = []string{KindFailureRate, KindReason, KindStuck, KindSlow, KindSilence, KindCredits}

// Channel types.
const (
	ChannelWebhook = "webhook"
	ChannelSlack   = "slack"
	ChannelEmail   = "email"
)

// Defaults of a rule's durations.
const (
	DefaultWindow       = 5 * time.Minute
	DefaultResolveAfter = 5 * time.Minute
	DefaultRepeat       = 4 * time.Hour
)

// Origins of a rule or channel.
const (
	FromFile = "file"
	FromPage = "page"
)

// Rule is one alert rule, checked: thresholds, durations and names are
// valid for its kind.
type Rule struct {
	Name       string
	Deployment string
	Workspace  string
	Kind       string
	// Above is the threshold: a share of finished runs (failure_rate), a
	// number of credits (credits), milliseconds of p95 processing time
	// (slow).
	Above float64
	// MinRuns: failure_rate holds only with at least this many finished
	// runs in the window.
	MinRuns int64
	// Reasons limits failure_rate to some failure reasons; Reason is the
	// one a reason rule counts, AtLeast how many it needs.
	Reasons []string
	Reason  string
	AtLeast int64
	// LongerThan: stuck runs are PROCESSING for longer than this (0: the
	// overview's stuck threshold).
	LongerThan time.Duration
	// Hours: silence is watched only between these hours of the day, UTC
	// (From == To: all day).
	Hours        HourRange
	Window       time.Duration
	For          time.Duration
	ResolveAfter time.Duration
	Repeat       time.Duration
	Notify       []string
	Enabled      bool
	Origin       string // FromFile or FromPage
	Line         int    // in the rules file, for messages
}

// Tenant is the history the rule reads: "deployment/workspace".
func (r Rule) Tenant() string { return r.Deployment + "/" + r.Workspace }

// HourRange is a span of hours of the UTC day, [From, To); it wraps past
// midnight when To < From.
type HourRange struct{ From, To int }

// Contains reports whether t falls in the range.
func (h HourRange) Contains(t time.Time) bool {
	hour := t.UTC().Hour()
	switch {
	case h.From == h.To:
		return true
	case h.From < h.To:
		return hour >= h.From && hour < h.To
	default:
		return hour >= h.From || hour < h.To
	}
}

func (h HourRange) String() string {
	if h.From == h.To {
		return ""
	}
	return fmt.Sprintf("%02d-%02d", h.From, h.To)
}

// Channel is one place notifications go. URL and Secret are secrets:
// never logged, never shown back whole.
type Channel struct {
	Name   string
	Type   string
	URL    string
	Secret string   // webhook: signs deliveries
	To     []string // email
	Origin string
	// Tenant: a channel made on the alerts page serves only the rules of
	// its workspace; "" (the file's) serves every rule.
	Tenant string
	Line   int
}

// String names the channel without its URL or secret, for logs.
func (c Channel) String() string { return c.Type + " channel " + c.Name }

// Rules is a checked set of rules and the channels they notify.
type Rules struct {
	Channels []Channel
	Rules    []Rule
}

// Channel finds a channel by name.
func (r Rules) Channel(name string) (Channel, bool) {
	for _, c := range r.Channels {
		if c.Name == name {
			return c, true
		}
	}
	return Channel{}, false
}

// ChannelFor finds the channel name a rule may notify: the file's, or
// one made on the page for the rule's workspace.
func (r Rules) ChannelFor(rule Rule, name string) (Channel, bool) {
	c, ok := r.Channel(name)
	if !ok || (c.Tenant != "" && c.Tenant != rule.Tenant()) {
		return Channel{}, false
	}
	return c, true
}

// Rule finds a rule by name.
func (r Rules) Rule(name string) (Rule, bool) {
	for _, x := range r.Rules {
		if x.Name == name {
			return x, true
		}
	}
	return Rule{}, false
}

// FileError is a problem of the rules file, at a line.
type FileError struct {
	Path    string
	Line    int
	Problem string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Problem)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Problem)
}

// LoadFile reads and checks a rules file. defaultDeployment is the
// dashboard's own (--region, or "sandbox" under --sandbox). A problem is
// a *FileError naming the line.
func LoadFile(path, defaultDeployment string) (Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Rules{}, &FileError{Path: path, Problem: fmt.Sprintf("cannot read it: %v", errors.Unwrap(err))}
	}
	rules, err := Parse(data, defaultDeployment, os.ReadFile)
	if err != nil {
		var fe *FileError
		if errors.As(err, &fe) {
			fe.Path = path
		}
		return Rules{}, err
	}
	return rules, nil
}

// Parse checks the YAML form of rules and channels. readFile reads the
// files named by url_file and secret_file.
func Parse(data []byte, defaultDeployment string, readFile func(string) ([]byte, error)) (Rules, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Rules{}, yamlError(err)
	}
	var out Rules
	if len(doc.Content) == 0 {
		return out, nil // an empty file: no rules
	}
	root := doc.Content[0]
	err := eachKey(root, "the file", map[string]func(*yaml.Node) error{
		"channels": func(v *yaml.Node) error {
			return eachItem(v, "channels", func(n *yaml.Node) error {
				c, err := parseChannel(n, readFile)
				if err != nil {
					return err
				}
				if _, dup := out.Channel(c.Name); dup {
					return lineErr(n, "channel %q is defined twice", c.Name)
				}
				out.Channels = append(out.Channels, c)
				return nil
			})
		},
		"rules": func(v *yaml.Node) error {
			return eachItem(v, "rules", func(n *yaml.Node) error {
				r, err := ParseRule(n, defaultDeployment)
				if err != nil {
					return err
				}
				if _, dup := out.Rule(r.Name); dup {
					return lineErr(n, "rule %q is defined twice", r.Name)
				}
				out.Rules = append(out.Rules, r)
				return nil
			})
		},
	})
	if err != nil {
		return Rules{}, err
	}
	for _, r := range out.Rules {
		for _, name := range r.Notify {
			if _, ok := out.Channel(name); !ok {
				return Rules{}, &FileError{Line: r.Line, Problem: fmt.Sprintf("rule %q notifies %q, which is not among the channels", r.Name, name)}
			}
		}
	}
	return out, nil
}

// ParseRuleYAML checks one rule in its YAML form (a rule made on the
// alerts page is stored so), for the workspace given unless it names one.
func ParseRuleYAML(spec, defaultDeployment, defaultWorkspace string) (Rule, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(spec), &doc); err != nil {
		return Rule{}, yamlError(err)
	}
	if len(doc.Content) == 0 {
		return Rule{}, errors.New("the rule is empty")
	}
	return parseRule(doc.Content[0], defaultDeployment, defaultWorkspace)
}

// ParseRule checks one rule's mapping node.
func ParseRule(n *yaml.Node, defaultDeployment string) (Rule, error) {
	return parseRule(n, defaultDeployment, "")
}

func parseRule(n *yaml.Node, defaultDeployment, defaultWorkspace string) (Rule, error) {
	r := Rule{Deployment: defaultDeployment, Workspace: defaultWorkspace, Window: DefaultWindow, ResolveAfter: DefaultResolveAfter,
		Repeat: DefaultRepeat, Enabled: true, Origin: FromFile, Line: n.Line, MinRuns: 1, AtLeast: 1}
	var above *yaml.Node
	var hours string
	err := eachKey(n, "a rule", map[string]func(*yaml.Node) error{
		"name":          str(&r.Name),
		"deployment":    str(&r.Deployment),
		"workspace":     str(&r.Workspace),
		"kind":          str(&r.Kind),
		"above":         func(v *yaml.Node) error { above = v; return nil },
		"min_runs":      count(&r.MinRuns),
		"reasons":       strList(&r.Reasons),
		"reason":        str(&r.Reason),
		"at_least":      count(&r.AtLeast),
		"longer_than":   duration(&r.LongerThan),
		"hours":         str(&hours),
		"window":        duration(&r.Window),
		"for":           duration(&r.For),
		"resolve_after": duration(&r.ResolveAfter),
		"repeat":        duration(&r.Repeat),
		"notify":        strList(&r.Notify),
		"enabled":       boolean(&r.Enabled),
	})
	if err != nil {
		return r, err
	}
	switch {
	case r.Name == "":
		return r, lineErr(n, "a rule needs a name")
	case !validName(r.Name):
		return r, lineErr(n, "rule name %q: use letters, digits, '-', '_' and '.' (at most 64)", r.Name)
	case r.Deployment == "" || strings.ContainsAny(r.Deployment, " \t"):
		return r, lineErr(n, "rule %q: deployment %q: want us, us2, eu1 or sandbox", r.Name, r.Deployment)
	case !store.ValidWorkspaceID(r.Workspace):
		return r, lineErr(n, "rule %q: workspace %q: want an Extend workspace ID like ws_abc", r.Name, r.Workspace)
	case !slices.Contains(Kinds, r.Kind):
		return r, lineErr(n, "rule %q: kind %q: want one of %s", r.Name, r.Kind, strings.Join(Kinds, ", "))
	case len(r.Notify) == 0:
		return r, lineErr(n, "rule %q: notify names no channel", r.Name)
	case r.Window <= 0:
		return r, lineErr(n, "rule %q: window must be positive, for example 5m", r.Name)
	case r.Repeat <= 0:
		return r, lineErr(n, "rule %q: repeat must be positive, for example 4h", r.Name)
	}
	needAbove := func(what string, parse func(string) (float64, error)) error {
		if above == nil {
			return lineErr(n, "rule %q: a %s rule needs above: %s", r.Name, r.Kind, what)
		}
		v, err := parse(above.Value)
		if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return lineErr(above, "rule %q: above %q: want %s", r.Name, above.Value, what)
		}
		r.Above = v
		return nil
	}
	number := func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }
	switch r.Kind {
	case KindFailureRate:
		if err := needAbove("a share of finished runs between 0 and 1, for example 0.2", number); err != nil {
			return r, err
		}
		if r.Above >= 1 {
			return r, lineErr(above, "rule %q: above %v: a share of finished runs is below 1, for example 0.2", r.Name, r.Above)
		}
	case KindReason:
		if r.Reason == "" {
			return r, lineErr(n, "rule %q: a reason rule needs reason: a failure reason such as OUT_OF_CREDITS", r.Name)
		}
	case KindSlow:
		if err := needAbove("a duration of p95 processing time, for example 2m", func(s string) (float64, error) {
			d, err := time.ParseDuration(s)
			return float64(d.Milliseconds()), err
		}); err != nil {
			return r, err
		}
	case KindCredits:
		if err := needAbove("a number of credits, for example 500", number); err != nil {
			return r, err
		}
	case KindSilence:
		if hours != "" {
			h, err := parseHours(hours)
			if err != nil {
				return r, lineErr(n, "rule %q: hours %q: %v", r.Name, hours, err)
			}
			r.Hours = h
		}
	}
	if above != nil && (r.Kind == KindReason || r.Kind == KindStuck || r.Kind == KindSilence) {
		return r, lineErr(above, "rule %q: a %s rule takes no above", r.Name, r.Kind)
	}
	return r, nil
}

func parseChannel(n *yaml.Node, readFile func(string) ([]byte, error)) (Channel, error) {
	c := Channel{Origin: FromFile, Line: n.Line}
	var urlFile, secretFile string
	var secretNode *yaml.Node
	err := eachKey(n, "a channel", map[string]func(*yaml.Node) error{
		"name":        str(&c.Name),
		"type":        str(&c.Type),
		"url":         str(&c.URL),
		"url_file":    str(&urlFile),
		"secret_file": str(&secretFile),
		"secret":      func(v *yaml.Node) error { secretNode = v; return nil },
		"to":          strList(&c.To),
	})
	if err != nil {
		return c, err
	}
	if secretNode != nil {
		return c, lineErr(secretNode, "channel %q: secrets never sit in the file: name a file with secret_file", c.Name)
	}
	if c.Name == "" || !validName(c.Name) {
		return c, lineErr(n, "a channel needs a name of letters, digits, '-', '_' and '.' (got %q)", c.Name)
	}
	read := func(path, what string) (string, error) {
		b, err := readFile(path)
		if err != nil {
			return "", lineErr(n, "channel %q: %s %s: %v", c.Name, what, path, errors.Unwrap(err))
		}
		return strings.TrimSpace(string(b)), nil
	}
	if urlFile != "" {
		if c.URL != "" {
			return c, lineErr(n, "channel %q: url and url_file: give one", c.Name)
		}
		if c.URL, err = read(urlFile, "url_file"); err != nil {
			return c, err
		}
	}
	if secretFile != "" {
		if c.Secret, err = read(secretFile, "secret_file"); err != nil {
			return c, err
		}
	}
	if err := CheckChannel(c); err != nil {
		return c, lineErr(n, "%v", err)
	}
	return c, nil
}

// CheckChannel says what is wrong with a channel, in its user's terms.
func CheckChannel(c Channel) error {
	switch c.Type {
	case ChannelWebhook, ChannelSlack:
		if c.URL == "" {
			return fmt.Errorf("channel %q: a %s channel needs url (or url_file)", c.Name, c.Type)
		}
		if err := checkURL(c.URL); err != nil {
			return fmt.Errorf("channel %q: url: %v", c.Name, err)
		}
		if len(c.To) > 0 {
			return fmt.Errorf("channel %q: to is for email channels", c.Name)
		}
	case ChannelEmail:
		if len(c.To) == 0 {
			return fmt.Errorf("channel %q: an email channel needs to: [someone@example.com]", c.Name)
		}
		for _, a := range c.To {
			if addr, err := mail.ParseAddress(a); err != nil || addr.Address != a {
				return fmt.Errorf("channel %q: to: %q is not a plain e-mail address", c.Name, a)
			}
		}
		if c.URL != "" {
			return fmt.Errorf("channel %q: an email channel takes no url", c.Name)
		}
	default:
		return fmt.Errorf("channel %q: type %q: want webhook, slack or email", c.Name, c.Type)
	}
	return nil
}

func parseHours(s string) (HourRange, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return HourRange{}, errors.New(`want FROM-TO in whole UTC hours, for example "22-6"`)
	}
	parse := func(v string) (int, error) {
		v = strings.TrimSuffix(strings.TrimSpace(v), ":00")
		h, err := strconv.Atoi(v)
		if err != nil || h < 0 || h > 24 {
			return 0, errors.New(`want FROM-TO in whole UTC hours, for example "22-6"`)
		}
		return h % 24, nil
	}
	f, err := parse(from)
	if err != nil {
		return HourRange{}, err
	}
	t, err := parse(to)
	if err != nil {
		return HourRange{}, err
	}
	return HourRange{From: f, To: t}, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// YAML node helpers: each reports a problem at the node's line.

func lineErr(n *yaml.Node, format string, args ...any) error {
	return &FileError{Line: n.Line, Problem: fmt.Sprintf(format, args...)}
}

func yamlError(err error) error {
	// yaml.v3 says "yaml: line N: problem".
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, problem, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(num); err == nil {
				return &FileError{Line: line, Problem: problem}
			}
		}
	}
	return &FileError{Problem: msg}
}

func eachKey(n *yaml.Node, what string, fields map[string]func(*yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return lineErr(n, "%s should be a mapping of keys to values", what)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		set, ok := fields[k.Value]
		if !ok {
			keys := make([]string, 0, len(fields))
			for key := range fields {
				keys = append(keys, key)
			}
			slices.Sort(keys)
			return lineErr(k, "unknown key %q in %s (known: %s)", k.Value, what, strings.Join(keys, ", "))
		}
		if seen[k.Value] {
			return lineErr(k, "%q is given twice", k.Value)
		}
		seen[k.Value] = true
		if err := set(v); err != nil {
			return err
		}
	}
	return nil
}

func eachItem(n *yaml.Node, what string, fn func(*yaml.Node) error) error {
	if n.Kind != yaml.SequenceNode {
		return lineErr(n, "%s should be a list (items start with -)", what)
	}
	for _, item := range n.Content {
		if err := fn(item); err != nil {
			return err
		}
	}
	return nil
}

func scalar(v *yaml.Node) (string, error) {
	if v.Kind != yaml.ScalarNode {
		return "", lineErr(v, "want a single value here")
	}
	return v.Value, nil
}

func str(p *string) func(*yaml.Node) error {
	return func(v *yaml.Node) error {
		s, err := scalar(v)
		*p = strings.TrimSpace(s)
		return err
	}
}

func strList(p *[]string) func(*yaml.Node) error {
	return func(v *yaml.Node) error {
		if v.Kind == yaml.ScalarNode {
			*p = []string{strings.TrimSpace(v.Value)}
			return nil
		}
		if v.Kind != yaml.SequenceNode {
			return lineErr(v, "want a list, for example [a, b]")
		}
		for _, item := range v.Content {
			s, err := scalar(item)
			if err != nil {
				return err
			}
			*p = append(*p, strings.TrimSpace(s))
		}
		return nil
	}
}

func count(p *int64) func(*yaml.Node) error {
	return func(v *yaml.Node) error {
		s, err := scalar(v)
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return lineErr(v, "%q: want a whole number, 0 or more", s)
		}
		*p = n
		return nil
	}
}

func duration(p *time.Duration) func(*yaml.Node) error {
	return func(v *yaml.Node) error {
		s, err := scalar(v)
		if err != nil {
			return err
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return lineErr(v, "%q: want a duration such as 30s, 5m or 4h", s)
		}
		*p = d
		return nil
	}
}

func boolean(p *bool) func(*yaml.Node) error {
	return func(v *yaml.Node) error {
		s, err := scalar(v)
		if err != nil {
			return err
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return lineErr(v, "%q: want true or false", s)
		}
		*p = b
		return nil
	}
}

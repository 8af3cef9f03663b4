package sandbox

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"ascii words", "First Name", "firstname"},
		{"punctuation and spaces", "  SOCIAL SECURITY NO. (MANDATORY ", "socialsecuritynomandatory"},
		{"curly apostrophe", "ASSOCIATE’S DEGREE", "associatesdegree"},
		{"emoji dropped", "First Name 🚀", "firstname"},
		{"variation selector dropped", "Play ▶️", "play"},
		{"emoji with FE0F and ZWJ", "Will You Ever Let Me Down? ☕️", "willyoueverletmedown"},
		{"flag emoji", "Alexander Hamilton 🇺🇸", "alexanderhamilton"},
		{"NFKC fullwidth", "ＮＡＭＥ１", "name1"},
		{"NFKC ligature", "ﬁle", "file"},
		{"case fold sharp s", "Straße", "strasse"},
		{"digits kept", "c1_01[0]", "c1010"},
		{"non-latin letters kept", "Имя Фамилия", "имяфамилия"},
		{"accents kept as letters", "Café Crème", "cafécrème"},
		{"only symbols", "🚀 -- !!", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeLeafName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"topmostSubform[0].Page1[0].FilingStatus[0].c1_01[0]", "c1_01"},
		{"topmostSubform[0].Page1[0].f1_02[0]", "f1_02"},
		{"Name_First", "Name_First"},
		{"a.b[12]", "b"},
		{"weird[x]", "weird[x]"},
		{"Historical Figures 🐺", "Historical Figures 🐺"},
	}
	for _, tt := range tests {
		if got := leafName(tt.in); got != tt.want {
			t.Errorf("leafName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeLabelTiers(t *testing.T) {
	candidates := []labelCandidate{
		0: {Name: "Name_First", Description: "FIRST"},
		1: {Name: "Name Last", Description: "LAST"},
		2: {Name: "topmostSubform[0].Page1[0].FilingStatus[0].c1_01[0]"},
		3: {Name: "topmostSubform[0].Page1[0].FilingStatus[0].c1_01[1]"},
		4: {Name: "topmostSubform[0].Page1[0].f1_02[0]", Description: "Your first name"},
		5: {Name: "First Name 🚀"},
		6: {Name: "Phone", Description: "Contact"},
		7: {Name: "Email", Description: "Contact"},
		8: {Name: "firstname", Description: "exact beats normalized"},
		9: {Name: "🚀"},
	}
	idx := newLabelIndex(candidates)
	tests := []struct {
		name     string
		label    string
		want     int
		wantTier matchTier
		wantOK   bool
	}{
		{"exact name", "Name_First", 0, tierExactName, true},
		{"exact name beats a normalized tie", "firstname", 8, tierExactName, true},
		{"normalized name", "name last", 1, tierNormalizedName, true},
		{"normalized name with emoji in the field name", "FIRST-NAME", -1, tierNormalizedName, false},
		{"normalized description", "your first name:", 4, tierNormalizedDescription, true},
		{"description tie fills nothing", "contact", -1, tierNormalizedDescription, false},
		{"normalized leaf", "f1_02", 4, tierNormalizedLeaf, true},
		{"leaf tie fills nothing", "c1_01", -1, tierNormalizedLeaf, false},
		{"full indexed path is exact", "topmostSubform[0].Page1[0].FilingStatus[0].c1_01[1]", 3, tierExactName, true},
		{"emoji-only label matches the emoji-only name exactly", "🚀", 9, tierExactName, true},
		{"emoji-only label is trimmed, then exact", " 🚀 ", 9, tierExactName, true},
		{"another emoji-only label matches nothing", "🛩", -1, tierNone, false},
		{"symbols only match nothing", "--", -1, tierNone, false},
		{"unknown", "Middle name", -1, tierNone, false},
		{"surrounding spaces ignored for exact", "  Phone ", 6, tierExactName, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, tier, ok := idx.lookup(tt.label)
			if got != tt.want || tier != tt.wantTier || ok != tt.wantOK {
				t.Errorf("lookup(%q) = (%d, %v, %v), want (%d, %v, %v)", tt.label, got, tier, ok, tt.want, tt.wantTier, tt.wantOK)
			}
		})
	}
}

func TestNormalizeMatchOption(t *testing.T) {
	figures := []string{"Marcus Aurelius 🏛️", "Ada Lovelace 💻", "Marie Curie ☢️", "Alexander Hamilton 🇺🇸"}
	tests := []struct {
		name    string
		value   string
		options []string
		want    string
		wantOK  bool
	}{
		{"exact", "Net 30", []string{"Net 15", "Net 30"}, "Net 30", true},
		{"normalized", "net-30", []string{"Net 15", "Net 30"}, "Net 30", true},
		{"emoji options by name", "ada lovelace", figures, "Ada Lovelace 💻", true},
		{"emoji options exactly", "Marie Curie ☢️", figures, "Marie Curie ☢️", true},
		{"no such option", "Net 90", []string{"Net 15", "Net 30"}, "", false},
		{"normalized tie", "yes", []string{"Yes", "YES!"}, "", false},
		{"exact wins over a normalized tie", "Yes", []string{"Yes", "YES!"}, "Yes", true},
		{"symbols only", "✓", []string{"Yes", "No"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := matchOption(tt.value, tt.options)
			if diff := cmp.Diff([]any{tt.want, tt.wantOK}, []any{got, ok}); diff != "" {
				t.Errorf("matchOption(%q) (-want +got):\n%s", tt.value, diff)
			}
		})
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"First Name 🚀", "ＮＡＭＥ", "Straße", "c1_01[0]", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if Normalize(n) != n {
			t.Errorf("Normalize is not idempotent on %q: %q then %q", s, n, Normalize(n))
		}
	})
}

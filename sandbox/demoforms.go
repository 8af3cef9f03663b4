package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// DemoForm is a fillable PDF form the sandbox generates itself (with pdfcpu,
// from a JSON description) for its seed, its built-in templates and tests.
type DemoForm struct {
	Name         string // file name, e.g. vendor-onboarding.pdf
	Title        string // what the form is, for template names
	PDF          []byte
	Instructions string // "LABEL: VALUE" lines that fill every field
}

var demoForms = sync.OnceValues(generateDemoForms)

// DemoForms returns the three demo forms: a vendor onboarding form, an
// insurance claim and a two-page tax-style form with checkboxes and radio
// groups. They are generated on the first call and cached; the returned
// slice is the caller's, the PDF bytes are shared and must not be modified.
func DemoForms() ([]DemoForm, error) {
	forms, err := demoForms()
	if err != nil {
		return nil, err
	}
	return append([]DemoForm(nil), forms...), nil
}

func generateDemoForms() ([]DemoForm, error) {
	specs := []demoFormSpec{vendorOnboardingSpec(), insuranceClaimSpec(), taxReturnSpec()}
	forms := make([]DemoForm, 0, len(specs))
	for _, spec := range specs {
		pdf, err := spec.render()
		if err != nil {
			return nil, fmt.Errorf("demo form %s: %w", spec.name, err)
		}
		forms = append(forms, DemoForm{Name: spec.name, Title: spec.title, PDF: pdf, Instructions: spec.instructions})
	}
	return forms, nil
}

// demoFormSpec describes a demo form page by page, in pdfcpu's JSON form
// description.
type demoFormSpec struct {
	name, title  string
	instructions string
	pages        []*demoPage
}

// demoPage lays fields out top to bottom: a label column on the left, the
// field to its right.
type demoPage struct {
	content map[string][]any
	y       float64
	tab     int
}

const (
	demoPageTop   = 770.0
	demoLabelX    = 40.0
	demoFieldX    = 230.0
	demoLabelW    = 180.0
	demoRowHeight = 26.0
)

func newDemoPage(heading string) *demoPage {
	p := &demoPage{content: map[string][]any{}, y: demoPageTop}
	p.add("text", map[string]any{
		"value": heading, "pos": []float64{demoLabelX, p.y},
		"font": map[string]any{"name": "Helvetica-Bold", "size": 16},
	})
	p.y -= 2 * demoRowHeight
	return p
}

func (p *demoPage) add(kind string, v any) { p.content[kind] = append(p.content[kind], v) }

func (p *demoPage) nextTab() int { p.tab++; return p.tab }

func demoFieldLabel(text string) map[string]any {
	return map[string]any{"value": text + ":", "width": demoLabelW, "gap": demoFieldX - demoLabelX - demoLabelW, "align": "left", "pos": "left"}
}

var demoBorder = map[string]any{"width": 1, "col": "Gray"}

func (p *demoPage) section(title string) {
	p.y -= demoRowHeight / 2
	p.add("text", map[string]any{
		"value": title, "pos": []float64{demoLabelX, p.y},
		"font": map[string]any{"name": "Helvetica-Bold", "size": 12},
	})
	p.y -= demoRowHeight
}

// text adds a text field; tip is its alternate name (TU), shown as label.
func (p *demoPage) text(id, tip string, width float64, maxLen int) {
	p.add("textfield", map[string]any{
		"id": id, "tip": tip, "tab": p.nextTab(), "pos": []float64{demoFieldX, p.y},
		"width": width, "maxlen": maxLen, "border": demoBorder, "label": demoFieldLabel(tip),
	})
	p.y -= demoRowHeight
}

func (p *demoPage) textArea(id, tip string, lines int) {
	height := float64(lines) * 14
	p.y -= height - 14
	p.add("textfield", map[string]any{
		"id": id, "tip": tip, "tab": p.nextTab(), "pos": []float64{demoFieldX, p.y},
		"width": 320, "height": height, "multiline": true, "border": demoBorder, "label": demoFieldLabel(tip),
	})
	p.y -= demoRowHeight
}

func (p *demoPage) date(id, tip string) {
	p.add("datefield", map[string]any{
		"id": id, "tip": tip, "tab": p.nextTab(), "format": "mm/dd/yyyy", "pos": []float64{demoFieldX, p.y},
		"width": 90, "border": demoBorder, "label": demoFieldLabel(tip),
	})
	p.y -= demoRowHeight
}

func (p *demoPage) checkbox(id, tip string) {
	p.add("checkbox", map[string]any{
		"id": id, "tip": tip, "tab": p.nextTab(), "value": false, "pos": []float64{demoLabelX, p.y},
		"width": 12, "label": map[string]any{"value": tip, "width": 360, "gap": 8, "align": "left", "pos": "right"},
	})
	p.y -= demoRowHeight
}

func (p *demoPage) radio(id, tip string, options []string) {
	p.add("radiobuttongroup", map[string]any{
		"id": id, "tip": tip, "tab": p.nextTab(), "orientation": "hor", "pos": []float64{demoFieldX, p.y},
		"width": 12,
		"buttons": map[string]any{
			"values": options,
			"label":  map[string]any{"value": "option", "width": 80, "gap": 4, "pos": "right"},
		},
		"label": demoFieldLabel(tip),
	})
	p.y -= demoRowHeight
}

func (p *demoPage) dropdown(id, tip string, options []string) {
	p.add("combobox", map[string]any{
		"id": id, "tip": tip, "tab": p.nextTab(), "options": options, "edit": false,
		"pos": []float64{demoFieldX, p.y}, "width": 200, "border": demoBorder, "label": demoFieldLabel(tip),
	})
	p.y -= demoRowHeight
}

func (s demoFormSpec) render() ([]byte, error) {
	pages := map[string]any{}
	for i, p := range s.pages {
		pages[strconv.Itoa(i+1)] = map[string]any{"content": p.content}
	}
	description := map[string]any{
		"paper":  "LetterP",
		"origin": "LowerLeft",
		"fonts": map[string]any{
			"input": map[string]any{"name": "Helvetica", "size": 11},
			"label": map[string]any{"name": "Helvetica", "size": 10},
		},
		"footer": map[string]any{
			"font":   map[string]any{"name": "Helvetica", "size": 8},
			"center": s.title + " · generated by the Editwatch sandbox · page %p of %P",
			"height": 20,
		},
		"pages": pages,
	}
	desc, err := json.Marshal(description)
	if err != nil {
		return nil, fmt.Errorf("encode description: %w", err)
	}
	var out bytes.Buffer
	if err := api.Create(nil, bytes.NewReader(desc), &out, model.NewDefaultConfiguration()); err != nil {
		return nil, fmt.Errorf("create PDF: %w", err)
	}
	return out.Bytes(), nil
}

func demoInstructions(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func vendorOnboardingSpec() demoFormSpec {
	p := newDemoPage("Vendor Onboarding Form")
	p.section("Company")
	p.text("legalName", "Legal business name", 320, 0)
	p.text("dbaName", "Doing business as", 320, 0)
	p.text("taxId", "Tax ID (EIN)", 120, 10)
	p.text("website", "Website", 320, 0)
	p.section("Contact")
	p.text("contactName", "Primary contact", 320, 0)
	p.text("contactEmail", "Contact email", 320, 0)
	p.text("contactPhone", "Contact phone", 160, 0)
	p.text("street", "Street address", 320, 0)
	p.text("city", "City", 200, 0)
	p.text("state", "State", 40, 2)
	p.text("postalCode", "ZIP code", 80, 10)
	p.dropdown("country", "Country", []string{"United States", "Canada", "Mexico", "United Kingdom", "Germany"})
	p.section("Payment")
	p.radio("paymentTerms", "Payment terms", []string{"Net 15", "Net 30", "Net 60"})
	p.radio("paymentMethod", "Payment method", []string{"ACH", "Wire", "Check"})
	p.checkbox("w9Received", "W-9 received")
	p.checkbox("codeOfConduct", "Accepts the supplier code of conduct")
	p.textArea("notes", "Notes", 3)
	return demoFormSpec{
		name:  "vendor-onboarding.pdf",
		title: "Vendor onboarding",
		pages: []*demoPage{p},
		instructions: demoInstructions(
			"Legal business name: Acme Widgets LLC",
			"Doing business as: Acme",
			"Tax ID (EIN): 12-3456789",
			"Website: https://acme-widgets.example",
			"Primary contact: Dana Whitfield",
			"Contact email: dana@acme-widgets.example",
			"Contact phone: +1 555 010 2299",
			"Street address: 400 Industrial Way",
			"City: Springfield",
			"State: IL",
			"ZIP code: 62704",
			"Country: united states",
			"Payment terms: Net 30",
			"Payment method: ach",
			"W-9 received: yes",
			"Accepts the supplier code of conduct: checked",
			"Notes: Deliveries to dock 3: rear entrance, weekdays only",
		),
	}
}

func insuranceClaimSpec() demoFormSpec {
	p := newDemoPage("Property & Casualty Claim Form")
	p.section("Policy holder")
	p.text("policyNumber", "Policy number", 160, 0)
	p.text("claimantName", "Claimant name", 320, 0)
	p.text("claimantEmail", "Email", 320, 0)
	p.text("claimantPhone", "Phone", 160, 0)
	p.radio("contactPreference", "Preferred contact", []string{"Email", "Phone", "Mail"})
	p.section("Loss")
	p.date("dateOfLoss", "Date of loss")
	p.dropdown("lossType", "Type of loss", []string{"Auto collision", "Theft", "Water damage", "Fire", "Storm", "Other"})
	p.text("lossLocation", "Location of loss", 320, 0)
	p.textArea("lossDescription", "Description of loss", 4)
	p.text("estimatedAmount", "Estimated amount (USD)", 120, 0)
	p.checkbox("policeReport", "Police report filed")
	p.text("policeReportNumber", "Police report number", 160, 0)
	p.checkbox("injuries", "Anyone injured")
	p.section("Declaration")
	p.text("signature", "Claimant signature (typed)", 240, 0)
	p.date("signedOn", "Date signed")
	return demoFormSpec{
		name:  "insurance-claim.pdf",
		title: "Insurance claim",
		pages: []*demoPage{p},
		instructions: demoInstructions(
			"Policy number: HO-4471-0093",
			"Claimant name: Jordan Alvarez",
			"Email: jordan.alvarez@example.com",
			"Phone: 555-0142",
			"Preferred contact: email",
			"Date of loss: 03/14/2026",
			"Type of loss: Water damage",
			"Location of loss: 18 Alder Court, Portland, OR",
			"Description of loss: A burst pipe in the upstairs bathroom flooded the hallway and the kitchen ceiling.",
			"Estimated amount (USD): 12,400.00",
			"Police report filed: no",
			"Police report number: n/a",
			"Anyone injured: no",
			"Claimant signature (typed): Jordan Alvarez",
			"Date signed: 03/16/2026",
		),
	}
}

func taxReturnSpec() demoFormSpec {
	p1 := newDemoPage("Form EW-1040 · Individual Income Tax Return (demo)")
	p1.text("taxYear", "Tax year", 50, 4)
	p1.radio("filingStatus", "Filing status", []string{"Single", "Married filing jointly", "Head of household"})
	p1.section("You and your spouse")
	p1.text("firstName", "Your first name and middle initial", 240, 0)
	p1.text("lastName", "Last name", 240, 0)
	p1.text("ssn", "Your social security number", 110, 11)
	p1.text("spouseName", "Spouse's first name and middle initial", 240, 0)
	p1.text("spouseSsn", "Spouse's social security number", 110, 11)
	p1.text("homeAddress", "Home address", 320, 0)
	p1.section("Elections and deductions")
	p1.checkbox("campaignYou", "Presidential election campaign (you)")
	p1.checkbox("campaignSpouse", "Presidential election campaign (spouse)")
	p1.checkbox("claimedAsDependent", "Someone can claim you as a dependent")
	p1.checkbox("bornBefore1961", "You were born before January 2, 1961")
	p1.checkbox("blind", "You are blind")
	p1.radio("digitalAssets", "Digital assets received or sold", []string{"Yes", "No"})

	p2 := newDemoPage("Form EW-1040 · Income and refund")
	p2.section("Income")
	p2.text("wages", "Wages, salaries, tips (line 1a)", 120, 0)
	p2.text("taxableInterest", "Taxable interest (line 2b)", 120, 0)
	p2.text("ordinaryDividends", "Ordinary dividends (line 3b)", 120, 0)
	p2.section("Refund")
	p2.text("refundAmount", "Amount to be refunded", 120, 0)
	p2.radio("refundMethod", "Refund method", []string{"Direct deposit", "Paper check"})
	p2.text("routingNumber", "Routing number", 110, 9)
	p2.radio("accountType", "Account type", []string{"Checking", "Savings"})
	p2.text("accountNumber", "Account number", 160, 17)
	p2.section("Sign here")
	p2.text("occupation", "Your occupation", 200, 0)
	p2.date("signDate", "Date")
	return demoFormSpec{
		name:  "tax-return.pdf",
		title: "Tax return",
		pages: []*demoPage{p1, p2},
		instructions: demoInstructions(
			"Tax year: 2025",
			"Filing status: married filing jointly",
			"Your first name and middle initial: Morgan T.",
			"Last name: Okafor",
			"ssn: 123-45-6789",
			"Spouse's first name and middle initial: Riley",
			"spouseSsn: 987-65-4321",
			"Home address: 72 Larch Street, Apt 5, Madison, WI 53703",
			"Presidential election campaign (you): yes",
			"Presidential election campaign (spouse): no",
			"Someone can claim you as a dependent: false",
			"You were born before January 2, 1961: false",
			"blind: off",
			"Digital assets received or sold: No",
			"Wages, salaries, tips (line 1a): 84,250.00",
			"Taxable interest (line 2b): 312.18",
			"Ordinary dividends (line 3b): 1,045.00",
			"Amount to be refunded: 1,893.00",
			"Refund method: Direct deposit",
			"Routing number: 021000021",
			"Account type: Checking",
			"Account number: 000123456789",
			"Your occupation: Civil engineer",
			"Date: 04/10/2026",
		),
	}
}

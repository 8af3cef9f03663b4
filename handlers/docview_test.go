package handlers

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/editwatch/editwatch/views"
)

func TestDocFields(t *testing.T) {
	page0, page1 := 0, 1
	schema := `{"type":"object","required":["name"],"properties":{
		"name":{"type":["string","null"],"description":"Full name","extend_edit:field_type":"text","extend_edit:page_index":0,
			"extend_edit:bbox":{"left":10,"top":20,"right":110,"bottom":40}},
		"sex":{"type":["string","null"],"extend_edit:field_type":"radio","extend_edit:page_index":1,
			"extend_edit:bboxes":[{"left":1,"top":2,"right":3,"bottom":4},{"left":5,"top":6,"right":7,"bottom":8}]},
		"notes":{"type":["string","null"]}}}`
	tests := []struct {
		name    string
		schema  string
		filled  string
		failure string
		want    []views.DocField
	}{
		{
			name:   "schema order, boxes from bbox and bboxes, outcomes from the values",
			schema: schema,
			filled: `{"name":"Ada","sex":null,"extra":"x"}`,
			want: []views.DocField{
				{Name: "name", Description: "Full name", FieldType: "text", Required: true, Page: &page0,
					Boxes: []views.DocBox{{Left: 10, Top: 20, Right: 110, Bottom: 40}}, Outcome: views.OutcomeFilled},
				{Name: "sex", FieldType: "radio", Page: &page1,
					Boxes: []views.DocBox{{Left: 1, Top: 2, Right: 3, Bottom: 4}, {Left: 5, Top: 6, Right: 7, Bottom: 8}}, Outcome: views.OutcomeEmpty},
				{Name: "notes", Outcome: views.OutcomeEmpty},
				{Name: "extra", Outcome: views.OutcomeFilled},
			},
		},
		{
			name:    "a failed run marks the fields its message names",
			schema:  schema,
			failure: `Value for "notes" exceeds maxLength`,
			want: []views.DocField{
				{Name: "name", Description: "Full name", FieldType: "text", Required: true, Page: &page0,
					Boxes: []views.DocBox{{Left: 10, Top: 20, Right: 110, Bottom: 40}}, Outcome: views.OutcomeEmpty},
				{Name: "sex", FieldType: "radio", Page: &page1,
					Boxes: []views.DocBox{{Left: 1, Top: 2, Right: 3, Bottom: 4}, {Left: 5, Top: 6, Right: 7, Bottom: 8}}, Outcome: views.OutcomeEmpty},
				{Name: "notes", Outcome: views.OutcomeFailed},
			},
		},
		{
			name:   "instructions only: the filled values, no positions",
			filled: `{"b":"","a":true}`,
			want:   []views.DocField{{Name: "a", Outcome: views.OutcomeFilled}, {Name: "b", Outcome: views.OutcomeEmpty}},
		},
		{
			name:   "a box of the wrong shape loses the boxes, not the fields",
			schema: `{"properties":{"x":{"extend_edit:bbox":"top left","extend_edit:page_index":0}}}`,
			want:   []views.DocField{{Name: "x", Outcome: views.OutcomeEmpty}},
		},
		{
			name: "nothing at all",
			want: []views.DocField{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var filled map[string]json.RawMessage
			if tt.filled != "" {
				if err := json.Unmarshal([]byte(tt.filled), &filled); err != nil {
					t.Fatal(err)
				}
			}
			got := docFields(json.RawMessage(tt.schema), filled, tt.failure)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("docFields (-want +got):\n%s", diff)
			}
		})
	}
}

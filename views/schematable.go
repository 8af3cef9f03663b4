package views

import "strings"

// schemaRow is one field of a flattened schema with its dotted path.
type schemaRow struct {
	Path  string
	Field SchemaField
}

// flattenSchema lists fields depth first, each child after its parent.
func flattenSchema(fields []SchemaField, prefix string) []schemaRow {
	var rows []schemaRow
	for _, f := range fields {
		p := f.Name
		if prefix != "" {
			p = prefix + "." + f.Name
		}
		rows = append(rows, schemaRow{Path: p, Field: f})
		rows = append(rows, flattenSchema(f.Children, p)...)
	}
	return rows
}

func joinEnum(values []string) string {
	return strings.Join(values, " | ")
}

package findings

import "testing"

// pgColumns refuses a value of another type than its column's instead of
// storing something else (a NULL timestamp, say).
func TestPGColumnsRefusesWrongTypes(t *testing.T) {
	row := func() []any {
		r := make([]any, findingColumns)
		for c, typ := range pgColumnType {
			switch typ {
			case "text", "":
				r[c] = "x"
			case "int8":
				r[c] = 1
			case "timestamptz":
				r[c] = nil
			}
		}
		return r
	}
	good := row()
	if _, err := pgColumns(good, 1); err != nil {
		t.Fatal(err)
	}
	for c, typ := range pgColumnType {
		if typ == "" {
			continue
		}
		bad := row()
		bad[c] = struct{}{}
		if _, err := pgColumns(bad, 1); err == nil {
			t.Errorf("column %d (%s) took a struct", c, typ)
		}
	}
}

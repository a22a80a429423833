package tiers

import "testing"

func TestOfTakesTheTightestTierOfEverySelector(t *testing.T) {
	m := &Map{Accounts: map[string]int{}, Assets: map[string]int{}, Tags: map[string]int{}}
	Set(m.Accounts, "111111111111", 4)
	Set(m.Assets, "arn:aws:rds:db1", 2)
	Set(m.Assets, "arn:aws:rds:db1", 3) // looser: ignored
	Set(m.Assets, "nginx:1.25", 5)
	Set(m.Tags, "app=payments", 1)
	Set(m.Tags, "env=dev", 9) // out of range: ignored
	cases := []struct {
		name                      string
		account, resource, target string
		tags                      []string
		want                      int
	}{
		{"nothing named", "222", "arn:other", "", nil, None},
		{"account only", "111111111111", "arn:other", "", nil, 4},
		{"resource beats account", "111111111111", "arn:aws:rds:db1", "", nil, 2},
		{"tag beats resource", "111111111111", "arn:aws:rds:db1", "", []string{"App=Payments"}, 1},
		{"target names an image", "", "pkg", "nginx:1.25", nil, 5},
		{"out-of-range tier never set", "", "", "", []string{"env=dev"}, None},
	}
	for _, c := range cases {
		if got := m.Of(c.account, c.resource, c.target, c.tags); got != c.want {
			t.Errorf("%s: Of = %d, want %d", c.name, got, c.want)
		}
	}
	if got := m.OfAsset("nginx:1.25"); got != 5 {
		t.Errorf("OfAsset(image) = %d, want 5", got)
	}
	var empty *Map
	if !empty.Empty() || empty.Of("111111111111", "", "", nil) != None {
		t.Error("a nil map names no tier")
	}
}

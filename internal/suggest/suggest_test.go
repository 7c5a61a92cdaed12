package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"kitten", "sitting", 3},
		{"azrue", "azure", 1}, {"memroy", "memory", 1}, {"abc", "ca", 3}, {"ab", "ba", 1}, {"évent", "event", 1}, {"same", "same", 0},
	} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	runtimes := []string{"provided.al2023", "nodejs20.x", "nodejs22.x", "python3.12", "python3.13"}
	for _, tt := range []struct {
		s       string
		options []string
		want    string
	}{
		{"pyhton3.12", runtimes, "python3.12"},
		{"node", runtimes, "nodejs22.x"}, // a prefix: the newest
		{"Provided.al2023", runtimes, "provided.al2023"},
		{"ruby3.3", runtimes, ""},
		{"", runtimes, ""},
		{"invetnory", []string{"inventory", "payment"}, "inventory"},
		{"x", []string{"y"}, "y"}, // one edit is always allowed
		{"xy", []string{"ab"}, ""},
	} {
		if got := Closest(tt.s, tt.options); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

package server

import "testing"

func TestKnownStoredForgetsTheOldestFirst(t *testing.T) {
	k := newKnownStored(3)
	for _, id := range []string{"a", "b", "c", "a", "d"} {
		k.add(id)
	}
	// "a" again changed nothing; "d" took the oldest's place.
	for id, want := range map[string]bool{"a": false, "b": true, "c": true, "d": true, "e": false} {
		if got := k.has(id); got != want {
			t.Errorf("has(%q) = %v, want %v", id, got, want)
		}
	}
	k.add("e")
	k.add("f")
	for id, want := range map[string]bool{"b": false, "c": false, "d": true, "e": true, "f": true} {
		if got := k.has(id); got != want {
			t.Errorf("after e, f: has(%q) = %v, want %v", id, got, want)
		}
	}
	if len(k.ids) != 3 {
		t.Errorf("%d ids held, want 3", len(k.ids))
	}
}

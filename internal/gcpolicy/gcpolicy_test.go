package gcpolicy_test

import (
	"runtime/debug"
	"testing"

	"github.com/acrsink/acrsink/internal/gcpolicy"
)

func TestApply(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	tests := []struct {
		name    string
		gogc    string
		runtime int // what the runtime read from GOGC at start
		want    int
		fromEnv bool
	}{
		{"no GOGC means the handler's policy", "", 100, gcpolicy.Percent, false},
		{"a GOGC app setting wins", "50", 50, 50, true},
		{"GOGC=off wins too", "off", -1, -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetGCPercent(tt.runtime)
			p := gcpolicy.Apply(func(k string) string {
				if k == "GOGC" {
					return tt.gogc
				}
				return ""
			})
			if p.Percent != tt.want || p.FromEnv != tt.fromEnv {
				t.Errorf("policy %+v, want percent %d from env %v", p, tt.want, tt.fromEnv)
			}
			if got := debug.SetGCPercent(tt.runtime); got != tt.want {
				t.Errorf("the runtime runs with GOGC=%d, want %d", got, tt.want)
			}
		})
	}
}

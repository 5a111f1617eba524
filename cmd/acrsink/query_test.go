package main

import "testing"

func TestWhichQueriesTheGatewayCannotRunAcrossPartitions(t *testing.T) {
	tests := []struct {
		sql  string
		want bool
	}{
		{`SELECT * FROM c WHERE c.repository = "x"`, false},
		{`SELECT c.id FROM c WHERE c.tag = @tag`, false},
		{`SELECT TOP 20 c.image FROM c`, true},
		{`select * from c order by c.timestamp desc`, true},
		{`SELECT c.action, COUNT(1) AS n FROM c GROUP BY c.action`, true},
		{`SELECT DISTINCT VALUE c.tag FROM c`, true},
	}
	for _, tt := range tests {
		if got := needsQueryEngine(tt.sql); got != tt.want {
			t.Errorf("needsQueryEngine(%q) = %v, want %v", tt.sql, got, tt.want)
		}
	}
}

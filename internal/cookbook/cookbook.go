// Package cookbook holds the README's Data Explorer queries, so that the
// queries people copy are the ones the tests run against the emulator.
//
// They use double-quoted string literals: Data Explorer takes no
// parameters, and cosmium matches nothing with single quotes.
package cookbook

// Query is one recipe.
type Query struct {
	Title string
	SQL   string
}

// Queries are the README's cookbook, in its order.
var Queries = []Query{
	{
		Title: "Latest pushes",
		SQL:   `SELECT TOP 20 c.image, c.digest, c.timestamp FROM c WHERE c.action = "push" ORDER BY c.timestamp DESC`,
	},
	{
		Title: "History of one repository",
		SQL:   `SELECT c.action, c.tag, c.digest, c.timestamp FROM c WHERE c.repository = "hello-world" ORDER BY c.timestamp DESC`,
	},
	{
		Title: "Which tags point at one digest",
		SQL:   `SELECT c.repository, c.tag, c.timestamp FROM c WHERE c.digest = "sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d" AND c.action = "push" AND IS_DEFINED(c.tag)`,
	},
	{
		Title: "Deletes in the last day",
		SQL:   `SELECT c.repository, c.digest, c.timestamp FROM c WHERE c.action = "delete" AND c.timestamp >= DateTimeAdd("dd", -1, GetCurrentDateTime())`,
	},
	{
		Title: "Everything one registry request raised (a quarantine and its push share it)",
		SQL:   `SELECT c.action, c.id, c.tag, c.timestamp FROM c WHERE c.requestId = "3cbb6949-7549-4fa1-86cd-a6d5451dffc7"`,
	},
	{
		Title: "Where did this digest arrive, region by region",
		SQL:   `SELECT c.region, c.tag, c.timestamp FROM c WHERE c.digest = "sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d" AND c.action = "push" ORDER BY c.timestamp`,
	},
	{
		Title: "Events per action",
		SQL:   `SELECT c.action, COUNT(1) AS events FROM c GROUP BY c.action`,
	},
}

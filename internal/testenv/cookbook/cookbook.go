// Package cookbook holds docs/queries.md's Data Explorer queries, so that the
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

// Queries are docs/queries.md's cookbook, in its order.
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
		// One row per push, however many regional webhooks delivered it:
		// each regional webhook of a geo-replicated registry delivers every
		// push (Microsoft's geo-replication tutorial), under an event id
		// that may or may not be the same in each region (not documented),
		// so a push can have one document per region. What every delivery
		// of one push shares is what replication copies: the repository,
		// the tag and the manifest's digest. The cost of that key, a
		// documented guess: pushing a tag again to the digest it already
		// points at counts once.
		Title: "Pushes, each once however many regional webhooks delivered it",
		SQL:   `SELECT c.repository, c.tag, c.digest, COUNT(1) AS deliveries FROM c WHERE c.action = "push" GROUP BY c.repository, c.tag, c.digest`,
	},
}

// Package eventgridtest holds Event Grid deliveries shaped like the
// documented ones: eventgrid-schema (one event of each registry type),
// validation (the Event Grid schema's handshake), cloudevent (one
// CloudEvent) and cloudevents-batch (a batch with an event of another type).
package eventgridtest

import (
	"embed"
	"path"
)

//go:embed testdata/*.json
var files embed.FS

// Delivery returns the sample called name; it panics on an unknown name.
func Delivery(name string) []byte {
	b, err := files.ReadFile(path.Join("testdata", name+".json"))
	if err != nil {
		panic("eventgridtest: no sample " + name)
	}
	return b
}

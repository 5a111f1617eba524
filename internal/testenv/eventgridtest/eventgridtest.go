// Package eventgridtest holds Event Grid deliveries shaped like the
// documented ones (learn.microsoft.com "Azure Container Registry as an Event
// Grid source" and "Event Grid endpoint validation"):
//
//   - published-cloudevents: the page's two CloudEvents samples (ImagePushed,
//     ImageDeleted), verbatim, as one batch.
//   - eventgrid-schema: one event of each registry type in the Event Grid
//     schema. Push and delete are the page's samples (with the full eventType
//     the page's older revision abbreviated); the chart samples are the
//     page's, except that the published chart delete reuses the chart push's
//     data.id (a 35-character one) and has the eventTime "019-03-12...": here
//     each has its own id and a valid time, or a test of "every type is
//     stored" could not tell a chart delete from a duplicate. location and
//     connectedRegistry are added to data, as the current data model has them.
//   - validation: the Event Grid schema's handshake, as documented.
//   - cloudevent (one CloudEvent) and cloudevents-batch (a batch with an
//     event of another type): written for these tests in the same shape.
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

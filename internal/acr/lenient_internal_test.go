package acr

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/acrsink/acrsink/internal/testenv/acrtest"
)

// FuzzTheFieldByFieldDecodeAgreesWithTheOnePass holds the two decoders of
// Parse to one meaning: whatever decodes in one pass decodes field by field
// to the same event, with nothing odd.
func FuzzTheFieldByFieldDecodeAgreesWithTheOnePass(f *testing.F) {
	for _, name := range acrtest.Names() {
		f.Add(acrtest.Event(name))
	}
	f.Add([]byte(`{"ID":"a","Action":"push","TARGET":{"Size":5,"size":null},"request":null,"actor":{},"source":{"instanceId":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast Event
		if json.Unmarshal(body, &fast) != nil {
			return
		}
		loose, err := parseLoosely(body)
		if err != nil {
			t.Fatalf("one pass decoded %+v, field by field refused: %v", fast, err)
		}
		if loose.Anomalies != nil {
			t.Errorf("anomalies %q for what decoded in one pass", loose.Anomalies)
		}
		if !reflect.DeepEqual(fast, loose) {
			t.Errorf("one pass %+v\nfield by field %+v", fast, loose)
		}
	})
}

package document_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/document"
)

// The container's retention is its defaultTtl (infra/modules/cosmos.bicep).
// An item's own top-level ttl field overrides it: -1 would keep the item
// forever whatever the retention, n would expire it after n seconds
// (learn.microsoft.com, cosmos-db/time-to-live: an item's ttl "applies only
// if DefaultTimeToLive is present and not set to null" and then "overrides
// the DefaultTimeToLive value of the parent container"). So no document
// acrsink writes has one, whatever it holds: every field filled, by
// reflection, so that a field added later is covered too. Cosmos DB reads
// the item's top-level ttl only; the same word inside the payload (ACR's
// event as sent) is data.
func TestNoDocumentCarriesATTLThatWouldOverrideTheContainersRetention(t *testing.T) {
	var d document.Document
	fill(reflect.ValueOf(&d).Elem())
	d.Payload = json.RawMessage(`{"id":"e1","action":"push","ttl":-1}`)
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if n := reflect.TypeOf(d).NumField(); len(top) != n {
		t.Errorf("%d top-level keys for %d fields: a field was left empty, so the check does not see it (%s)", len(top), n, b)
	}
	for k := range top {
		if strings.EqualFold(k, "ttl") {
			t.Errorf("a document carries %q: it overrides the container's retention (%s)", k, b)
		}
	}
}

// fill sets every field of v to a value that is not its zero value, so
// that omitempty leaves none out.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte(`{}`))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		v.SetMapIndex(k, e)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	}
}

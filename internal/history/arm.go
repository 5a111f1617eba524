package history

import (
	"encoding/json"
	"fmt"
)

// ParsePage reads one page of Resource Manager's listEvents answer
// (POST .../registries/R/webhooks/W/listEvents,
// learn.microsoft.com/rest/api/containerregistry/webhooks/list-events):
// {"value": [entries], "nextLink": "..."}, entries shaped as az prints them,
// since az prints that same answer. first is the number of entries on the
// pages before this one.
func ParsePage(data []byte, first int) ([]Delivery, error) {
	var page struct {
		Value []wire `json:"value"`
	}
	if err := json.Unmarshal(data, &page); err != nil {
		return nil, fmt.Errorf("not a page of Resource Manager's listEvents answer: %w", err)
	}
	return deliveries(page.Value, first), nil
}

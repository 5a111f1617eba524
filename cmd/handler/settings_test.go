package main

import (
	"context"
	"io"
	"testing"
)

// The Resource Manager and webhook settings are read by internal/arm and
// internal/reconcile, not config, and still stop the handler at start with
// one line naming the setting.
func TestRunRefusesToStartOnABadResourceManagerSettingNamingIt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"a webhook's name where its id belongs", map[string]string{"ACRSINK_RECONCILE_WEBHOOKS": "acrsink"},
			`configuration: ACRSINK_RECONCILE_WEBHOOKS: "acrsink" is not a webhook's resource id (/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<registry>/webhooks/<webhook>; az acr webhook show -r <registry> -n <webhook> --query id -o tsv prints it)`},
		{"Resource Manager over plain HTTP", map[string]string{"ACRSINK_ARM_ENDPOINT": "http://127.0.0.1:8080"},
			`configuration: ACRSINK_ARM_ENDPOINT: "http://127.0.0.1:8080" is not an https URL of Resource Manager (such as https://management.azure.com)`},
		{"a webhook action ACR does not have", map[string]string{"ACRSINK_WEBHOOK_ACTIONS": "push,pull"},
			`configuration: ACRSINK_WEBHOOK_ACTIONS: "pull" is not an action ACR has (want some of push, delete, quarantine, chart_push, chart_delete)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"ACRSINK_FUNCTION_KEYS": "k"}
			for k, v := range tt.env {
				env[k] = v
			}
			err := run(context.Background(), []string{"handler"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v\nwant  %s", err, tt.want)
			}
		})
	}
}

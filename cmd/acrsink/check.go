package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/arm"
	"github.com/acrsink/acrsink/internal/history"
)

var checkCmd = &command{
	name:    "check",
	summary: "ping a webhook through Resource Manager and report what acrsink answered",
	usage:   "acrsink check -webhook WEBHOOK_ID",
	long: `acrsink check asks ACR to ping a webhook, finds that ping's delivery in the webhook's history, and says what acrsink answered.

The round trip to try before relying on a webhook: 204 is healthy; 401
means the key does not match; no answer means unreachable. It reads and
pings through Azure Resource Manager with your sign-in (az login); your
identity needs the webhook's ping and listEvents actions. Exits 0 only
when the ping got its 204.`,
	example: "acrsink check -webhook $(az acr webhook show -r REGISTRY -n WEBHOOK --query id -o tsv)",
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		id := fs.String("webhook", "", "the webhook's resource id")
		return func(ctx context.Context, e *env, args []string) error { return runCheck(ctx, e, *id, args) }
	},
}

// checkWait bounds the wait for the ping's delivery to show in the
// history: ACR gives up on a delivery after 5 seconds.
const checkWait = 45 * time.Second

// checkPoll is how often the history is read while waiting.
const checkPoll = 2 * time.Second

// checkNoAnswer is how long after the ping a delivery with no answer yet
// is taken as unanswered, not as still in flight: ACR waits 5 seconds.
const checkNoAnswer = 10 * time.Second

// pingAdvice says what a ping's answer means and what to do, by status.
func pingAdvice(status int) string {
	switch {
	case status == 204:
		return "healthy: acrsink took the ping"
	case status == 401:
		return "the key the webhook sends is not one acrsink accepts: set the webhook's x-functions-key header to a key in ACRSINK_FUNCTION_KEYS (docs/operations.md, \"Rotating the key\")"
	case status == 404:
		return "the webhook's URL reaches no acrsink route: its service URI must end in /images/push (az acr webhook show --query serviceUri)"
	case status == 403:
		return "refused before acrsink: an access restriction? (docs/deploy.md, \"Inbound access\")"
	case status >= 500:
		return "acrsink or its host failed: see the app's log in Application Insights"
	case status == 0:
		return "the app was unreachable or slower than ACR's 5 seconds; check that it runs and that the URL is right (az acr webhook show --query serviceUri)"
	case status >= 200 && status < 300:
		return "answered, but not with the 204 acrsink gives a ping: is the URL acrsink's?"
	}
	return "unexpected answer"
}

func runCheck(ctx context.Context, e *env, id string, rest []string) error {
	if len(rest) != 0 {
		return badUsage("takes no arguments (got %q): name the webhook with -webhook", rest[0])
	}
	if id == "" {
		return badUsage("-webhook is required")
	}
	poll, noAnswer := checkPoll, checkNoAnswer
	if e.checkPoll != 0 {
		poll, noAnswer = e.checkPoll, e.checkNoAnswer
	}
	w, err := arm.ParseWebhook(id)
	if err != nil {
		return fmt.Errorf("-webhook: %w", err)
	}
	az, err := loadAzure(e.getenv)
	if err != nil {
		return err
	}
	client, err := az.openARM(e.arm)
	if err != nil {
		return err
	}
	// What was there before the ping: the ping's delivery is the one that
	// is new, whichever id (the event's or the delivery's) ARM answers with.
	// A history longer than one read takes is read as far as it goes.
	// Listed newest first, as Microsoft's examples show it (its order is
	// not documented), the ping's delivery is on a page that was read;
	// otherwise the wait below ends saying it did not show.
	before, err := client.History(ctx, w)
	if err != nil && !errors.Is(err, arm.ErrMore) {
		return err
	}
	seen := map[string]bool{}
	for _, d := range before {
		seen[d.ID] = true
	}
	pingID, err := client.Ping(ctx, w)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "pinged %s (%s); waiting for its delivery in the history\n", w, pingID)
	pinged := time.Now()
	deadline := pinged.Add(checkWait)
	for {
		ds, err := client.History(ctx, w)
		if err != nil && !errors.Is(err, arm.ErrMore) {
			return err
		}
		if d, ok := pingDelivery(ds, seen, pingID); ok && (d.StatusCode != 0 || time.Since(pinged) > noAnswer) {
			status := d.StatusCode
			fmt.Fprintf(e.stdout, "%s: %s\n", d.Answer(), pingAdvice(status))
			if status != 204 {
				return errors.New("the webhook is not healthy; see above")
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the ping's delivery did not show in %s's history within %s; run acrsink check again, or look at az acr webhook list-events", w, checkWait)
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(e.stderr, "interrupted while waiting for the ping's delivery")
			return errInterrupted
		case <-time.After(poll):
		}
	}
}

// pingDelivery finds the ping's delivery: by the id Ping answered with
// (the delivery's or the event's: which one is not documented), else the
// newest ping the history did not hold before.
func pingDelivery(ds []history.Delivery, seen map[string]bool, pingID string) (history.Delivery, bool) {
	for _, d := range ds {
		if pingID != "" && (d.ID == pingID || d.Event.ID == pingID) {
			return d, true
		}
	}
	for _, d := range ds {
		if !seen[d.ID] && d.Err == nil && d.Event.Action == acr.ActionPing {
			return d, true
		}
	}
	return history.Delivery{}, false
}

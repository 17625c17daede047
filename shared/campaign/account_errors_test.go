package campaign_test

import (
	"fmt"
	"testing"

	"github.com/afterparty/afterparty/infra/apptest"
	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/infra/strict"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
)

// strictRig is an app on the local stack, whose strict SES layer verifies
// afterparty.example (the default From's domain) and nothing else. It returns the
// stack's SES layer, healed again when the test ends, so the test can switch
// sandbox mode, account errors and identities on it.
func strictRig(t *testing.T, members int, env map[string]string) (*rig, *strict.SES) {
	t.Helper()
	stack := localstack.Get(t)
	layer := stack.SESLayer
	t.Cleanup(func() {
		layer.SetAccountError("")
		layer.SetSandbox(false)
		layer.RemoveIdentity("elsewhere.example")
	})
	vars := map[string]string{"AFTERPARTY_LINK_SECRET": secret, "AFTERPARTY_CLAIM_LEASE": testLease.String()}
	for k, v := range env {
		vars[k] = v
	}
	a := apptest.New(t, vars)
	a.AddManyMembers(t, members)
	m := a.PutMeeting(t, map[string]string{"meeting_id": "strict", "title": "Strict SES", "starts_at": "2031-03-13T18:30", "venue": "Hall"})
	return &rig{App: a, meeting: m, at: m.Start.AddDate(0, 0, -14), members: members}, layer
}

// ledger counts the invitation ledger's entries by state.
func (r *rig) ledger(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	after := ""
	for {
		recs, next, err := r.Store.LedgerPage(ctx, dynamo.CampaignID(r.meeting.ID, string(group.Invitation)), after, 500)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			out[rec.State]++
		}
		if next == "" {
			return out
		}
		after = next
	}
}

// runOnce runs invitations once and returns this rig's meeting result and the
// run's error.
func (r *rig) runOnce(t *testing.T) (res string, finished bool, failed int, err error) {
	t.Helper()
	rep, err := r.Runner.Run(ctx, group.Invitation, r.at)
	for _, m := range rep.Meetings {
		if m.MeetingID == r.meeting.ID && m.Sent {
			return m.Result.Stopped, m.Result.Finished, m.Result.Failed, err
		}
	}
	return "", false, 0, err
}

// everyoneOnce fails the test unless every member holds exactly one invitation
// and the ledger marks no one failed.
func (r *rig) everyoneOnce(t *testing.T) {
	t.Helper()
	missing, dup := r.copies(t)
	if len(missing) > 0 || len(dup) > 0 {
		t.Fatalf("missing %v, duplicates %v", missing, dup)
	}
	if l := r.ledger(t); l[dynamo.SendFailed] != 0 {
		t.Fatalf("ledger marks members failed: %v", l)
	}
}

// An account-level SES error stops the campaign without marking anyone failed;
// once it heals, the next runs send to every member exactly once.
func TestAccountErrorPausesThenResumes(t *testing.T) {
	for _, code := range []string{"SendingPausedException", "MailFromDomainNotVerifiedException", "AccountSuspendedException"} {
		t.Run(code, func(t *testing.T) {
			r, layer := strictRig(t, 12, nil)
			layer.SetAccountError(code)
			stopped, finished, failed, err := r.runOnce(t)
			if err == nil || finished || failed != 0 || stopped == "" {
				t.Fatalf("with %s the run should stop with an error and no failures: stopped %q, finished %v, failed %d, err %v", code, stopped, finished, failed, err)
			}
			if l := r.ledger(t); l[dynamo.SendFailed] != 0 || l[dynamo.SendSent] != 0 {
				t.Fatalf("with %s the ledger holds %v, want no entry failed or sent", code, l)
			}
			if got := r.Counts(t, ""); len(got) != 0 {
				t.Fatalf("with %s members got mail: %v", code, got)
			}
			layer.SetAccountError("")
			r.runUntilFinished(t)
			r.everyoneOnce(t)
		})
	}
}

// A From outside every verified identity is the account's problem, not the
// members': the campaign stops, nobody is marked failed, and once the identity is
// verified everyone gets the invitation once.
func TestUnverifiedFromStopsWithoutFailingMembers(t *testing.T) {
	r, layer := strictRig(t, 12, map[string]string{"AFTERPARTY_FROM": "Rose City Gophers <organizers@elsewhere.example>"})
	stopped, finished, failed, err := r.runOnce(t)
	if err == nil || finished || failed != 0 || stopped == "" {
		t.Fatalf("unverified From: the run should stop with an error and no failures: stopped %q, finished %v, failed %d, err %v", stopped, finished, failed, err)
	}
	if l := r.ledger(t); l[dynamo.SendFailed] != 0 {
		t.Fatalf("unverified From marked members failed: %v", l)
	}
	layer.AddIdentity("elsewhere.example")
	r.runUntilFinished(t)
	r.everyoneOnce(t)
}

// In the sandbox, a recipient who is not verified is refused: the others get the
// invitation, the refused member is neither sent nor marked failed, and leaving
// the sandbox sends to them once.
func TestSandboxRefusalOfOneRecipient(t *testing.T) {
	r, layer := strictRig(t, 8, nil)
	var verified []string
	for i := range r.members {
		if i != 3 {
			verified = append(verified, r.Email(fmt.Sprintf("m%04d", i)))
		}
	}
	layer.SetSandbox(true, verified...)
	_, finished, failed, err := r.runOnce(t)
	if err != nil || finished || failed != 0 {
		t.Fatalf("sandbox: the run should go on past the refused member, unfinished, with no failure: finished %v, failed %d, err %v", finished, failed, err)
	}
	got := r.Counts(t, "")
	if len(got) != r.members-1 || got["m0003"] != 0 {
		t.Fatalf("sandbox: everyone but m0003 should have one email: %v", got)
	}
	if l := r.ledger(t); l[dynamo.SendFailed] != 0 {
		t.Fatalf("sandbox refusal marked members failed: %v", l)
	}
	layer.SetSandbox(false)
	r.runUntilFinished(t)
	r.everyoneOnce(t)
}

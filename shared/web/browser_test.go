package web_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/dynamo"
	"github.com/afterparty/afterparty/shared/group"
)

// browser starts Debian's headless chromium (`make deps` installs it) with a fresh
// profile, as a 360 px wide phone, with JavaScript on or off. It fails, never skips,
// when chromium is missing.
func browser(t *testing.T, javascript bool) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run `make deps` (apt-get install chromium)")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.Flag("no-sandbox", true), // the tests run as root
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	err = chromedp.Do(ctx,
		chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !javascript})
			return err
		}),
	)
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// artifacts is where screenshots go: .local/artifacts (gitignored).
func artifacts(t *testing.T) string {
	t.Helper()
	root, err := localstack.Root()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ".local", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// stepDeadline bounds a step's actions, and then its screenshot and checks: a hang
// fails the test, while a machine busy with -race, the emulators and chromium is
// given time (this is no speed check).
const stepDeadline = 45 * time.Second

// step runs browser actions with a deadline and saves a screenshot named name.
func step(t *testing.T, ctx context.Context, name string, actions ...chromedp.Action[chromedp.Void]) string {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, stepDeadline)
	defer cancel()
	// Every step loads a new page (a link or a form). Mark the page it starts on,
	// so the step ends on the new one: a wait for an element the old page also has
	// (section.ok after an earlier form) would otherwise end the step while the
	// browser is still navigating, and the screenshot would hang.
	chromedp.Run(actx, chromedp.Evaluate[bool](`(() => { document.documentElement.dataset.afterpartyStep = "left"; return true })()`))
	if err := chromedp.Do(actx, actions...); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for {
		loaded, err := chromedp.Run(actx, chromedp.Evaluate[bool](`document.readyState === "complete" && document.documentElement.dataset.afterpartyStep !== "left"`))
		if err == nil && loaded {
			break
		}
		if actx.Err() != nil {
			t.Fatalf("%s: the new page did not load: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	sctx, cancel := context.WithTimeout(ctx, stepDeadline)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("%s: screenshot: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(artifacts(t), t.Name()[strings.LastIndex(t.Name(), "/")+1:]+"-"+name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatalf("%s: read the page: %v", name, err)
	}
	// Readable on a phone: nothing wider than the 360 px screen.
	wide, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if wide {
		t.Errorf("%s: the page scrolls sideways at 360 px", name)
	}
	return body
}

func contains(t *testing.T, page, name string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("%s: the page lacks %q:\n%s", name, w, page)
		}
	}
}

// TestBrowser clicks through the member pages in headless chromium, with and
// without JavaScript: an RSVP link from an invitation in the SES emulator's store,
// confirm, change the answer, the waitlist, join and confirm, unsubscribe.
func TestBrowser(t *testing.T) {
	for _, js := range []bool{true, false} {
		name := "javascript"
		if !js {
			name = "no-javascript"
		}
		t.Run(name, func(t *testing.T) {
			s := newSite(t)
			ms := s.AddMembers(t, "ada", "ken")
			m := s.PutMeeting(t, meetingFields("browser", "capacity", "1", "guests_max", "1"))
			if _, err := s.Runner.Run(ctx, group.Invitation, m.Start.AddDate(0, 0, -14)); err != nil {
				t.Fatal(err)
			}
			b := browser(t, js)

			// Ada opens her Yes link: the page pre-selects Yes and records nothing.
			yes := s.emailLink(t, s.Email("ada"), "invited", "/rsvp")
			page := step(t, b, "1-rsvp-opened", chromedp.Navigate(yes), chromedp.WaitVisible(chromedp.CSS("form button")))
			contains(t, page, "rsvp opened", "are you coming?", "1 place left of 1")
			if _, err := s.Store.RSVP(ctx, m.ID, ms["ada"].ID); !errors.Is(err, dynamo.ErrNotFound) {
				t.Fatalf("opening the link recorded an answer (%v)", err)
			}
			page = step(t, b, "2-rsvp-confirmed",
				chromedp.Click(chromedp.CSS(`input[value="yes"]`)),
				chromedp.Click(chromedp.CSS("form button")),
				chromedp.WaitVisible(chromedp.CSS(`section.ok`)))
			contains(t, page, "confirmed", "Thanks, Ada!", "You're going", "1 person is going", "Google Calendar", "Outlook.com", "Download the invite")
			wantAnswer(t, s, m.ID, ms["ada"].ID, group.Yes, group.PlaceGoing)

			// Ken says Yes too: full, so the waitlist.
			kenYes := s.emailLink(t, s.Email("ken"), "invited", "/rsvp")
			page = step(t, b, "3-waitlisted", chromedp.Navigate(kenYes), chromedp.WaitVisible(chromedp.CSS("form button")),
				chromedp.Click(chromedp.CSS(`input[value="yes"]`)),
				chromedp.Click(chromedp.CSS("form button")), chromedp.WaitVisible(chromedp.CSS(`section.warn`)))
			contains(t, page, "waitlisted", "on the waitlist: number 1")
			wantAnswer(t, s, m.ID, ms["ken"].ID, group.Yes, group.PlaceWaitlisted)

			// Ada changes her answer to Maybe: Ken gets her place and an email.
			page = step(t, b, "4-changed", chromedp.Navigate(yes), chromedp.WaitVisible(chromedp.CSS("form button")),
				chromedp.Click(chromedp.CSS(`input[value="maybe"]`)),
				chromedp.Click(chromedp.CSS("form button")),
				chromedp.WaitVisible(chromedp.CSS(`section.ok`)))
			contains(t, page, "changed", "We recorded: Maybe")
			wantAnswer(t, s, m.ID, ms["ada"].ID, group.Maybe, "")
			wantAnswer(t, s, m.ID, ms["ken"].ID, group.Yes, group.PlaceGoing)
			if n := s.count(t, s.Email("ken"), "place opened up"); n != 1 {
				t.Fatalf("ken got %d promotion emails, want 1", n)
			}

			// Someone new joins and confirms from the email.
			addr := s.Email("nina")
			page = step(t, b, "5-join", chromedp.Navigate(s.srv.URL+"/join"), chromedp.WaitVisible(chromedp.CSS("#email")),
				chromedp.SendKeys(chromedp.CSS("#name"), "Nina Newbie"),
				chromedp.SendKeys(chromedp.CSS("#email"), addr),
				chromedp.Click(chromedp.CSS("form button")),
				chromedp.WaitVisible(chromedp.CSS(`section.ok`)))
			contains(t, page, "join", "Check your inbox")
			confirm := s.emailLink(t, addr, "Confirm", "/join/confirm")
			page = step(t, b, "6-joined", chromedp.Navigate(confirm), chromedp.WaitVisible(chromedp.CSS("form button")),
				chromedp.Click(chromedp.CSS("form button")), chromedp.WaitVisible(chromedp.CSS(`section.ok`)))
			contains(t, page, "joined", "Welcome, Nina!")
			if mem, err := s.Store.Member(ctx, group.MemberID(addr)); err != nil || mem.Status != group.MemberActive {
				t.Fatalf("nina after confirming: %+v %v", mem, err)
			}

			// Ada stops the teasers, then unsubscribes from everything.
			unsub := s.emailLink(t, s.Email("ada"), "invited", "/unsubscribe")
			page = step(t, b, "7-preferences", chromedp.Navigate(unsub), chromedp.WaitVisible(chromedp.CSS(`input[value="teaser"]`)),
				chromedp.Click(chromedp.CSS(`input[value="teaser"]`)),
				chromedp.Click(chromedp.CSS(`form:has(input[value="preferences"]) button`)),
				chromedp.WaitVisible(chromedp.CSS(`section.ok`)))
			contains(t, page, "preferences", "only the emails ticked")
			if mem, _ := s.Store.Member(ctx, ms["ada"].ID); mem.Wants(group.Teaser) || !mem.Wants(group.Invitation) {
				t.Fatalf("ada's preferences: %+v", mem)
			}
			page = step(t, b, "8-unsubscribed", chromedp.Navigate(unsub), chromedp.WaitVisible(chromedp.CSS(`form:has(input[value="unsubscribe"]) button`)),
				chromedp.Click(chromedp.CSS(`form:has(input[value="unsubscribe"]) button`)),
				chromedp.WaitVisible(chromedp.CSS(`section.ok`)))
			contains(t, page, "unsubscribed", "You're unsubscribed")
			if mem, _ := s.Store.Member(ctx, ms["ada"].ID); mem.Status != group.MemberUnsubscribed {
				t.Fatalf("ada is %s", mem.Status)
			}
			step(t, b, "9-meeting-page", chromedp.Navigate(s.srv.URL+"/m/"+m.ID), chromedp.WaitVisible(chromedp.CSS("h1")))
		})
	}
}

func wantAnswer(t *testing.T, s *site, meeting, member string, a group.Answer, place string) {
	t.Helper()
	r, err := s.Store.RSVP(ctx, meeting, member)
	if err != nil || r.Answer != a || r.Place != place {
		t.Fatalf("%s's RSVP: %+v %v; want %s, place %q", member, r, err, a, place)
	}
}

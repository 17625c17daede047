// Package apptest builds a whole afterparty app on the local stack for tests: fresh
// tables from template.yaml, the emulators' endpoints, and members whose addresses
// are unique to the test, so tests sharing one SES emulator never see each other's
// email.
package apptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/config"
	"github.com/afterparty/afterparty/shared/group"
	"github.com/afterparty/afterparty/shared/setup"
)

// App is an app on the local stack plus what a test needs to drive it.
type App struct {
	*setup.App
	Stack  *localstack.Stack
	Domain string // every member address of this test ends in @Domain
}

// New builds an app on fresh tables. env overrides AFTERPARTY_* settings.
func New(tb testing.TB, env map[string]string) *App {
	tb.Helper()
	stack := localstack.Get(tb)
	return NewVia(tb, env, config.Endpoints{DynamoDB: stack.DynamoURL, SESv2: stack.SESURL})
}

// NewVia is New with the clients connecting through ep (e.g. a fault-injecting
// proxy in front of the emulators).
func NewVia(tb testing.TB, env map[string]string, ep config.Endpoints) *App {
	tb.Helper()
	stack := localstack.Get(tb)
	schedule, state := stack.NewTables(tb)
	vars := map[string]string{
		"AFTERPARTY_SCHEDULE_TABLE": schedule,
		"AFTERPARTY_STATE_TABLE":    state,
		"AFTERPARTY_LINK_SECRET":    "test-secret-test-secret-test-secret",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(func(name string) (string, bool) { v, ok := vars[name]; return v, ok })
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{tb}, nil))
	}
	a, err := setup.FromConfig(context.Background(), cfg, stack.AWSConfig(), ep, log)
	if err != nil {
		tb.Fatal(err)
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	return &App{App: a, Stack: stack, Domain: "t" + hex.EncodeToString(suffix) + ".example"}
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Email is a member address unique to this test.
func (a *App) Email(local string) string { return local + "@" + a.Domain }

// AddManyMembers adds n active members named m0000, m0001, ... in parallel.
func (a *App) AddManyMembers(tb testing.TB, n int) {
	tb.Helper()
	work := make(chan int)
	errs := make(chan error, n)
	for range 16 {
		go func() {
			for i := range work {
				_, err := a.Store.AddMember(context.Background(), group.Member{Email: a.Email(fmt.Sprintf("m%04d", i)), Name: fmt.Sprintf("Member %d", i), JoinedAt: time.Now()})
				errs <- err
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	for range n {
		if err := <-errs; err != nil {
			tb.Fatal(err)
		}
	}
}

// AddMembers adds active members named by their local parts and returns them by local part.
func (a *App) AddMembers(tb testing.TB, locals ...string) map[string]group.Member {
	tb.Helper()
	out := map[string]group.Member{}
	for _, l := range locals {
		m := group.Member{Email: a.Email(l), Name: strings.ToUpper(l[:1]) + l[1:] + " Tester", JoinedAt: time.Now()}
		if _, err := a.Store.AddMember(context.Background(), m); err != nil {
			tb.Fatal(err)
		}
		m.ID = group.MemberID(m.Email)
		m.Status = group.MemberActive
		out[l] = m
	}
	return out
}

// Row is a schedule row from field: value pairs, numbers typed as the table keeps them.
func Row(fields map[string]string) group.Row {
	row := group.Row{}
	for k, v := range fields {
		typ := "S"
		if group.NumberFields[k] {
			typ = "N"
		}
		row[k] = group.Value{Type: typ, Text: v}
	}
	return row
}

// PutMeeting writes a schedule row from field: value pairs and returns the meeting.
func (a *App) PutMeeting(tb testing.TB, fields map[string]string) group.Meeting {
	tb.Helper()
	row := Row(fields)
	if err := a.Store.PutScheduleRow(context.Background(), row); err != nil {
		tb.Fatal(err)
	}
	m, problems := group.ParseMeeting(row, a.Config.TimeZone)
	if len(problems) > 0 {
		tb.Fatalf("test meeting is invalid: %v", problems)
	}
	// As `schedule apply` does, so the calendar feed shows it.
	if _, _, err := a.Runner.Meetings(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return m
}

// Inbox is every email the SES emulator holds for one address.
func (a *App) Inbox(tb testing.TB, addr string) []localstack.Email {
	tb.Helper()
	return a.Stack.Emails(tb, addr)
}

// Counts is how many emails each address of this test got, by subject prefix
// filter (empty: all).
func (a *App) Counts(tb testing.TB, subjectContains string) map[string]int {
	tb.Helper()
	out := map[string]int{}
	for _, e := range a.Stack.AllEmails(tb) {
		if subjectContains != "" && !strings.Contains(e.Subject, subjectContains) {
			continue
		}
		for _, r := range e.Recipients() {
			if strings.HasSuffix(r, "@"+a.Domain) {
				out[strings.TrimSuffix(r, "@"+a.Domain)]++
			}
		}
	}
	return out
}

// Describe renders counts for failure messages.
func Describe(counts map[string]int) string { return fmt.Sprint(counts) }

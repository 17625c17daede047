package localstack_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	stypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/afterparty/afterparty/infra/localstack"
	"github.com/afterparty/afterparty/shared/config"
)

// orphanHelperEnv makes the test binary a helper that starts a stack, prints the
// emulators' pids and waits to be killed (TestEmulatorsDieWithTheTestBinary).
const orphanHelperEnv = "LOCALSTACK_TEST_ORPHAN_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(orphanHelperEnv) == "1" {
		s, err := localstack.Start()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("PIDS", strings.Trim(fmt.Sprint(s.PIDs()), "[]"))
		time.Sleep(time.Minute) // killed long before
		s.Stop()
		os.Exit(1)
	}
	os.Exit(localstack.Run(m))
}

func TestEmulatorsAnswer(t *testing.T) {
	s := localstack.Get(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"dynamodb lists tables", func(t *testing.T) {
			if _, err := s.Dynamo().ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
				t.Fatal(err)
			}
		}},
		{"ses gives the account's send quota", func(t *testing.T) {
			out, err := s.SES().GetAccount(ctx, &sesv2.GetAccountInput{})
			if err != nil {
				t.Fatal(err)
			}
			if out.SendQuota == nil || out.SendQuota.MaxSendRate != 14 || out.SendQuota.Max24HourSend != 50000 {
				t.Fatalf("SendQuota = %+v, want MaxSendRate 14, Max24HourSend 50000", out.SendQuota)
			}
		}},
		{"ports are not the make run ports", func(t *testing.T) {
			for _, u := range []string{s.DynamoURL, s.SESURL} {
				if strings.HasSuffix(u, ":8000") || strings.HasSuffix(u, ":8005") {
					t.Errorf("emulator at %s: tests must not use make run's ports", u)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

func TestNewTables(t *testing.T) {
	s := localstack.Get(t)
	ctx := context.Background()
	var schedule, state string
	t.Run("creates both tables from template.yaml", func(t *testing.T) {
		schedule, state = s.NewTables(t)
		if schedule == state {
			t.Fatalf("schedule and state tables share the name %q", schedule)
		}
		for name, hash := range map[string]string{schedule: "meeting_id", state: "pk"} {
			out, err := s.Dynamo().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			if out.Table.TableStatus != dtypes.TableStatusActive {
				t.Errorf("%s is %s, want ACTIVE", name, out.Table.TableStatus)
			}
			if got := aws.ToString(out.Table.KeySchema[0].AttributeName); got != hash {
				t.Errorf("%s hash key = %s, want %s", name, got, hash)
			}
		}
		again, _ := s.NewTables(t)
		if again == schedule {
			t.Errorf("two calls gave the same table name %q", again)
		}
	})
	t.Run("deletes them when the test ends", func(t *testing.T) {
		for _, name := range []string{schedule, state} {
			_, err := s.Dynamo().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			var notFound *dtypes.ResourceNotFoundException
			if !errors.As(err, &notFound) {
				t.Errorf("DescribeTable(%s) after the test: err = %v, want ResourceNotFoundException", name, err)
			}
		}
	})
}

func TestEnv(t *testing.T) {
	s := localstack.Get(t)
	env := map[string]string{}
	for _, kv := range s.Env("sched", "st") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	// Every variable shared/config documents for the local stack is set.
	for _, v := range config.LocalAWS {
		if env[v.Name] == "" {
			t.Errorf("Env lacks %s", v.Name)
		}
	}
	want := map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": s.DynamoURL,
		"AWS_ENDPOINT_URL_SESV2":    s.SESURL,
		"AWS_ENDPOINT_URL_S3":       s.S3URL,
		"AFTERPARTY_SCHEDULE_TABLE": "sched",
		"AFTERPARTY_STATE_TABLE":    "st",

		"AWS_ENDPOINT_URL_SECRETS_MANAGER": s.SecretsURL,
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
}

// rawInvitation is shaped like afterparty's invitation: multipart/mixed holding a
// multipart/alternative (text, html, text/calendar) and the .ics attachment.
func rawInvitation(to string) string {
	return strings.ReplaceAll(`From: Rose City Gophers <organizers@afterparty.example>
To: Ada Lovelace <`+to+`>, other@example.org
Reply-To: organizers@afterparty.example
Subject: =?UTF-8?Q?Invitation:_Caf=C3=A9_night?=
List-Unsubscribe: <http://127.0.0.1:8080/u/abc>
List-Unsubscribe-Post: List-Unsubscribe=One-Click
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="OUTER"

--OUTER
Content-Type: multipart/alternative; boundary="ALT"

--ALT
Content-Type: text/plain; charset=utf-8

Hello Ada, plain.
--ALT
Content-Type: text/html; charset=utf-8

<p>Hello <b>Ada</b></p>
--ALT
Content-Type: text/calendar; charset=utf-8; method=REQUEST

BEGIN:VCALENDAR
METHOD:REQUEST
END:VCALENDAR
--ALT--
--OUTER
Content-Type: application/ics; name="invite.ics"
Content-Disposition: attachment; filename="invite.ics"
Content-Transfer-Encoding: base64

QkVHSU46VkNBTEVOREFSDQpNRVRIT0Q6UkVRVUVTVA0KRU5EOlZDQUxFTkRBUg0K
--OUTER--
`, "\n", "\r\n")
}

// TestEmails pins down what the SES emulator keeps (see Email's documentation).
func TestEmails(t *testing.T) {
	s := localstack.Get(t)
	ctx := context.Background()
	const from = "Rose City Gophers <organizers@afterparty.example>"
	tests := []struct {
		name  string
		to    string // unique per case: the emulator is shared
		input func(to string) *sesv2.SendEmailInput
		check func(t *testing.T, e localstack.Email)
	}{
		{
			name: "raw invitation",
			to:   "ada.raw@example.org",
			input: func(to string) *sesv2.SendEmailInput {
				return &sesv2.SendEmailInput{
					// Ignored by the emulator for Raw content: it reads the MIME To header.
					Destination: &stypes.Destination{ToAddresses: []string{"ignored@example.org"}},
					Content:     &stypes.EmailContent{Raw: &stypes.RawMessage{Data: []byte(rawInvitation(to))}},
				}
			},
			check: func(t *testing.T, e localstack.Email) {
				checkEqual(t, "from", e.From, `"Rose City Gophers" <organizers@afterparty.example>`)
				checkEqual(t, "to", strings.Join(e.Destination.To, "|"), `"Ada Lovelace" <ada.raw@example.org>, other@example.org`)
				checkEqual(t, "recipients", strings.Join(e.Recipients(), ","), "ada.raw@example.org,other@example.org")
				checkEqual(t, "replyTo", strings.Join(e.ReplyTo, ","), "organizers@afterparty.example")
				checkEqual(t, "subject", e.Subject, "Invitation: Café night")
				checkEqual(t, "text", e.Body.Text, "Hello Ada, plain.")
				checkEqual(t, "html", e.Body.HTML, "<p>Hello <b>Ada</b></p>")
				checkEqual(t, "headers", fmt.Sprint(e.Headers), "[]")
				if len(e.Attachments) != 2 {
					t.Fatalf("attachments = %+v, want the calendar part and invite.ics", e.Attachments)
				}
				cal, ics := e.Attachments[0], e.Attachments[1]
				checkEqual(t, "calendar part type", cal.ContentType, "text/calendar")
				checkEqual(t, "calendar part filename", cal.Filename, "")
				checkEqual(t, "calendar part content", string(cal.Content), "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR")
				checkEqual(t, "calendar part id", cal.PartID, "1.3")
				checkEqual(t, "ics filename", ics.Filename, "invite.ics")
				checkEqual(t, "ics type", ics.ContentType, "application/ics")
				checkEqual(t, "ics disposition", ics.ContentDisposition, "attachment")
				checkEqual(t, "ics content", string(ics.Content), "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n")
				checkEqual(t, "ics size", strconv.Itoa(ics.Size), strconv.Itoa(len(ics.Content)))
				if ics.Checksum == "" {
					t.Error("ics checksum is empty")
				}
			},
		},
		{
			name: "raw text only",
			to:   "text.only@example.org",
			input: func(to string) *sesv2.SendEmailInput {
				raw := "From: " + from + "\r\nTo: " + to + "\r\nSubject: plain\r\n\r\nJust text.\r\n"
				return &sesv2.SendEmailInput{Content: &stypes.EmailContent{Raw: &stypes.RawMessage{Data: []byte(raw)}}}
			},
			check: func(t *testing.T, e localstack.Email) {
				checkEqual(t, "text", e.Body.Text, "Just text.\n")
				checkEqual(t, "html", e.Body.HTML, "")
				checkEqual(t, "attachments", strconv.Itoa(len(e.Attachments)), "0")
			},
		},
		{
			name: "simple with headers and attachment",
			to:   "Bob.Simple@Example.org",
			input: func(to string) *sesv2.SendEmailInput {
				return &sesv2.SendEmailInput{
					FromEmailAddress: aws.String(from),
					Destination:      &stypes.Destination{CcAddresses: []string{to}},
					Content: &stypes.EmailContent{Simple: &stypes.Message{
						Subject: &stypes.Content{Data: aws.String("Simple")},
						Body:    &stypes.Body{Text: &stypes.Content{Data: aws.String("t")}, Html: &stypes.Content{Data: aws.String("<i>h</i>")}},
						Headers: []stypes.MessageHeader{{Name: aws.String("List-Unsubscribe"), Value: aws.String("<http://x/u>")}},
						Attachments: []stypes.Attachment{{
							FileName: aws.String("a.ics"), RawContent: []byte("BEGIN:VCALENDAR"), ContentType: aws.String("text/calendar"),
						}},
					}},
				}
			},
			check: func(t *testing.T, e localstack.Email) {
				checkEqual(t, "from", e.From, from)
				checkEqual(t, "cc", strings.Join(e.Destination.Cc, ","), "Bob.Simple@Example.org")
				checkEqual(t, "html", e.Body.HTML, "<i>h</i>")
				checkEqual(t, "headers", fmt.Sprint(e.Headers), "[{List-Unsubscribe <http://x/u>}]")
				if len(e.Attachments) != 1 {
					t.Fatalf("attachments = %+v, want a.ics", e.Attachments)
				}
				checkEqual(t, "attachment", e.Attachments[0].Filename+" "+string(e.Attachments[0].Content), "a.ics BEGIN:VCALENDAR")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.SES().SendEmail(ctx, tt.input(tt.to))
			if err != nil {
				t.Fatal(err)
			}
			// Addresses match in any case and with or without a display name.
			for _, query := range []string{tt.to, strings.ToUpper(tt.to), "Someone <" + tt.to + ">"} {
				got := s.Emails(t, query)
				if len(got) != 1 {
					t.Fatalf("Emails(%q) = %d emails, want 1", query, len(got))
				}
				checkEqual(t, "messageId", got[0].MessageID, aws.ToString(out.MessageId))
			}
			e := s.Emails(t, tt.to)[0]
			if d := time.Since(e.Time()); d < -2*time.Second || d > time.Minute {
				t.Errorf("at = %v, not just now", e.Time())
			}
			tt.check(t, e)
		})
	}
	t.Run("nobody else's email", func(t *testing.T) {
		if got := s.Emails(t, "nobody@example.org"); len(got) != 0 {
			t.Errorf("Emails(nobody) = %+v", got)
		}
		if all := s.AllEmails(t); len(all) < len(tests) {
			t.Errorf("AllEmails = %d emails, want at least %d", len(all), len(tests))
		}
	})
}

func checkEqual(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

// alive reports whether pid is a live process (zombies count as gone).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

func waitGone(t *testing.T, pids []int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("emulator pid %d is still running", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestStopLeavesNoProcess(t *testing.T) {
	s, err := localstack.Start()
	if err != nil {
		t.Fatal(err)
	}
	pids := s.PIDs()
	if len(pids) != 2 {
		t.Fatalf("PIDs = %v, want dynalite and aws-ses-v2-local", pids)
	}
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("pid %d not running after Start", pid)
		}
	}
	s.Stop()
	waitGone(t, pids)
}

func TestEmulatorsDieWithTheTestBinary(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), orphanHelperEnv+"=1")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("helper printed no pids: %v", err)
	}
	var pids []int
	for _, f := range strings.Fields(strings.TrimPrefix(line, "PIDS")) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("helper line %q: %v", line, err)
		}
		pids = append(pids, pid)
	}
	if len(pids) != 2 {
		t.Fatalf("helper line %q: want two pids", line)
	}
	// SIGKILL: the helper runs no cleanup, as when a test binary crashes or times out.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitGone(t, pids)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestStackScript runs infra/stack.sh, on free ports, as `make stack` and
// `make stop` do.
func TestStackScript(t *testing.T) {
	root, err := localstack.Root()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "infra", "stack.sh")
	dir := t.TempDir()
	dynPort, sesPort := freePort(t), freePort(t)
	env := append(os.Environ(),
		"AFTERPARTY_LOCAL_DYNAMODB_PORT="+strconv.Itoa(dynPort),
		"AFTERPARTY_LOCAL_SES_PORT="+strconv.Itoa(sesPort),
		"AFTERPARTY_LOCAL_DIR="+dir,
		"AFTERPARTY_SCHEDULE_TABLE=script-schedule",
		"AFTERPARTY_STATE_TABLE=script-state",
	)
	run := func(t *testing.T, arg string) (string, error) {
		t.Helper()
		cmd := exec.Command("bash", script, arg)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() { _, _ = run(t, "stop") })
	pidsOf := func(t *testing.T) []int {
		t.Helper()
		var pids []int
		for _, name := range []string{"dynamodb", "ses"} {
			b, err := os.ReadFile(filepath.Join(dir, name+".pid"))
			if err != nil {
				t.Fatal(err)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			pids = append(pids, pid)
		}
		return pids
	}
	var pids []int
	steps := []struct {
		name, arg string
		wantErr   bool
		want      string
		after     func(t *testing.T)
	}{
		{name: "status before start", arg: "status", wantErr: true, want: "not running"},
		{name: "start", arg: "start", want: "ready", after: func(t *testing.T) {
			pids = pidsOf(t)
			client := dynamodb.New(dynamodb.Options{
				Region:       localstack.Region,
				BaseEndpoint: aws.String(fmt.Sprintf("http://127.0.0.1:%d", dynPort)),
				Credentials:  credentials.NewStaticCredentialsProvider(localstack.AccessKey, localstack.SecretKey, ""),
			})
			out, err := client.ListTables(context.Background(), &dynamodb.ListTablesInput{})
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "tables", strings.Join(out.TableNames, ","), "script-schedule,script-state")
		}},
		{name: "status when running", arg: "status", want: "ses answers"},
		{name: "start when running", arg: "start", want: "already answers"},
		{name: "stop", arg: "stop", want: "stopped", after: func(t *testing.T) { waitGone(t, pids) }},
		{name: "stop again", arg: "stop"},
		{name: "status after stop", arg: "status", wantErr: true, want: "not running"},
		{name: "unknown command", arg: "restart", wantErr: true, want: "usage"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			out, err := run(t, st.arg)
			if (err != nil) != st.wantErr {
				t.Fatalf("stack.sh %s: err = %v, want error %v; output:\n%s", st.arg, err, st.wantErr, out)
			}
			if !strings.Contains(out, st.want) {
				t.Fatalf("stack.sh %s output lacks %q:\n%s", st.arg, st.want, out)
			}
			if st.after != nil {
				st.after(t)
			}
		})
	}

	t.Run("default ports are shared/config's endpoints", func(t *testing.T) {
		src, err := os.ReadFile(script)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range config.LocalAWS {
			var variable string
			switch v.Name {
			case "AWS_ENDPOINT_URL_DYNAMODB":
				variable = "AFTERPARTY_LOCAL_DYNAMODB_PORT"
			case "AWS_ENDPOINT_URL_SESV2":
				variable = "AFTERPARTY_LOCAL_SES_PORT"
			default:
				continue
			}
			m := regexp.MustCompile(`\$\{` + variable + `:=(\d+)\}`).FindSubmatch(src)
			if m == nil {
				t.Fatalf("stack.sh sets no default for %s", variable)
			}
			checkEqual(t, variable, "http://127.0.0.1:"+string(m[1]), v.Default)
		}
	})
}

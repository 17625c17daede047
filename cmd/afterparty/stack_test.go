package main

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeCloudFormation answers DescribeStacks for one stack (AWS query protocol, XML)
// and says no to DescribeStackResource, and records which stacks were asked for.
func fakeCloudFormation(t *testing.T, stack string, outputs, params map[string]string) (*httptest.Server, *[]string) {
	t.Helper()
	var mu sync.Mutex
	var asked []string
	member := func(k, v, kn, vn string) string {
		return fmt.Sprintf("<member><%s>%s</%s><%s>%s</%s></member>", kn, k, kn, vn, html.EscapeString(v), vn)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		asked = append(asked, r.Form.Get("Action")+" "+r.Form.Get("StackName"))
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		if r.Form.Get("Action") != "DescribeStacks" || r.Form.Get("StackName") != stack {
			w.WriteHeader(400)
			fmt.Fprint(w, `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id `+r.Form.Get("StackName")+` does not exist</Message></Error><RequestId>r1</RequestId></ErrorResponse>`)
			return
		}
		var outs, ps strings.Builder
		for k, v := range outputs {
			outs.WriteString(member(k, v, "OutputKey", "OutputValue"))
		}
		for k, v := range params {
			ps.WriteString(member(k, v, "ParameterKey", "ParameterValue"))
		}
		fmt.Fprintf(w, `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
<StackName>%s</StackName><StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/%s/1</StackId><CreationTime>2026-11-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>
<Outputs>%s</Outputs><Parameters>%s</Parameters></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></DescribeStacksResponse>`, stack, stack, outs.String(), ps.String())
	}))
	t.Cleanup(srv.Close)
	return srv, &asked
}

// TestStackFlagReadsTheStack proves --stack takes the table names from the stack's
// outputs and the group's settings from its parameters, over whatever the
// environment says, and names a stack that does not exist.
func TestStackFlagReadsTheStack(t *testing.T) {
	c := newCLI(t)
	var schedule, state string
	for _, kv := range c.env {
		if v, ok := strings.CutPrefix(kv, "AFTERPARTY_SCHEDULE_TABLE="); ok {
			schedule = v
		}
		if v, ok := strings.CutPrefix(kv, "AFTERPARTY_STATE_TABLE="); ok {
			state = v
		}
	}
	srv, asked := fakeCloudFormation(t, "afterparty-prod",
		map[string]string{"ScheduleTableName": schedule, "StateTableName": state, "WebUrl": "https://abc.lambda-url.eu-west-1.on.aws/"},
		map[string]string{"GroupName": "Stack Gophers", "TimeZone": "Europe/London", "FromAddress": "Stack Gophers <hi@stack.example>"})
	deployed := c
	deployed.env = append(append([]string{}, c.env...), "AFTERPARTY_SCHEDULE_TABLE=not-this-one", "AFTERPARTY_STATE_TABLE=nor-this-one",
		"AWS_ENDPOINT_URL_CLOUDFORMATION="+srv.URL, "AFTERPARTY_GROUP_NAME=Env Gophers")
	mustRun(t, deployed, "--stack", "afterparty-prod", "--region", "eu-west-1", "schedule", "apply", c.file(t, "s.yaml", futureSchedule))
	if out := mustRun(t, c, "schedule", "list"); !strings.Contains(out, "2031-05-08") {
		t.Fatalf("the stack's tables do not hold what --stack applied:\n%s", out)
	}
	mustRun(t, deployed, "--stack", "afterparty-prod", "members", "import", c.file(t, "m.csv", "email,name\nada@stack.example,Ada\n"))
	out := mustRun(t, deployed, "--stack", "afterparty-prod", "preview", "invitation", "2031-05-08")
	for _, want := range []string{"Stack Gophers", "https://abc.lambda-url.eu-west-1.on.aws/rsvp?"} {
		if !strings.Contains(out, want) {
			t.Errorf("preview via --stack lacks %q (from the stack):\n%s", want, out)
		}
	}
	if _, errOut, ok := deployed.run(t, "--stack", "no-such-stack", "plan"); ok || !strings.Contains(errOut, "no-such-stack") {
		t.Errorf("an unknown stack: %s", errOut)
	}
	// run and demo log quietly without --verbose; they must still talk to --stack.
	if _, errOut, ok := deployed.run(t, "--stack", "no-such-stack", "run", "invitations"); ok || !strings.Contains(errOut, "no-such-stack") {
		t.Errorf("run without --verbose ignored --stack: %s", errOut)
	}
	if len(*asked) == 0 || !strings.HasPrefix((*asked)[0], "DescribeStacks afterparty-prod") {
		t.Errorf("CloudFormation was asked %v", *asked)
	}
}

package web_test

import (
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserMet clicks through /met in headless chromium at 360 px, with and
// without JavaScript, from the link in the connections email: Ada lists herself
// with a line, ticks Grace (who ticked her), and the next run introduces them.
func TestBrowserMet(t *testing.T) {
	for _, js := range []bool{true, false} {
		name := "javascript"
		if !js {
			name = "no-javascript"
		}
		t.Run(name, func(t *testing.T) {
			s := newSite(t)
			_, ms, link, at := metMeeting(t, s, "browser-met", []string{"ada", "grace"}, []string{"ken"})
			s.list(t, link["grace"], "Happy to pair on compilers <3")
			s.list(t, link["ken"], "")
			b := browser(t, js)

			page := step(t, b, "1-met-opened", chromedp.Navigate(link["ada"]), chromedp.WaitVisible(chromedp.CSS(`button[value="list"]`)))
			contains(t, page, "met opened", "Who did you meet?", "List yourself")
			page = step(t, b, "2-met-listed",
				chromedp.SendKeys(chromedp.CSS("#line"), "Ask me about sourdough and Kafka"),
				chromedp.Click(chromedp.CSS(`button[value="list"]`)),
				chromedp.WaitVisible(chromedp.CSS(`section.ok`)))
			contains(t, page, "listed", "You're listed", "Grace T.", "Happy to pair on compilers <3", "Ken T.")
			// Grace, who can see Ada now, ticks her.
			if p := s.metPost(t, link["grace"], url.Values{"action": {"ticks"}, "tick": {ms["ada"].ID}}); p.Status != 200 {
				t.Fatalf("grace's tick: %d", p.Status)
			}
			page = step(t, b, "3-met-ticked",
				chromedp.Click(chromedp.CSS(`input[name="tick"][value="`+ms["grace"].ID+`"]`)),
				chromedp.Click(chromedp.CSS(`button[value="ticks"]`)),
				chromedp.WaitVisible(chromedp.CSS(`section.ok`)))
			contains(t, page, "ticked", "Saved", "1 of at most 30 ticked")
			s.introduce(t, at)
			if got := s.Counts(t, introSubject); len(got) != 2 || got["ada"] != 1 || got["grace"] != 1 {
				t.Fatalf("introductions %v, want one each to ada and grace", got)
			}
			page = step(t, b, "4-met-withdrawn",
				chromedp.Click(chromedp.CSS(`button[value="unlist"]`)),
				chromedp.WaitVisible(chromedp.CSS(`section.ok`)))
			contains(t, page, "withdrawn", "You're no longer listed")
		})
	}
}

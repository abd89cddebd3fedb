package browsertest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func chromiumOrSkip(t *testing.T) string {
	t.Helper()
	p := Find()
	if p == "" {
		t.Skip("SKIPPED: no chromium found (apt-get install chromium, or set NCD_CHROMIUM); the browser checks did not run")
	}
	return p
}

// The checker sees what it must fail on: a request leaving the page, a
// fetch the CSP blocks, a console error, an exception and a blank page;
// and a plain page passes.
func TestCheckerCatchesFailures(t *testing.T) {
	chromium := chromiumOrSkip(t)
	dir := t.TempDir()
	const csp = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`
	page := func(name, head, body string) string {
		p := filepath.Join(dir, name)
		html := "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">" + head + "<title>t</title></head><body>" + body + "</body></html>"
		if err := os.WriteFile(p, []byte(html), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	text := "<h1>Report</h1><p>" + strings.Repeat("Some words on a page. ", 40) + "</p><div style=\"width:600px;height:300px;background:#0072B2\"></div>"
	for _, c := range []struct {
		name, head, body string
		check            func(*Result) bool
	}{
		{"ok.html", csp, text, func(r *Result) bool {
			return len(r.Console) == 0 && len(r.Requests) == 0 && r.TextLength > 500 && r.NonWhite > 0.05
		}},
		{"request.html", "", text + `<img src="http://127.0.0.1:9/x.png" alt="x">`, func(r *Result) bool {
			return len(r.Requests) == 1 && r.Requests[0] == "http://127.0.0.1:9/x.png"
		}},
		{"blocked.html", csp, text + `<img src="http://127.0.0.1:9/x.png" alt="x">`, func(r *Result) bool {
			// Chromium announces the request (requestWillBeSent) before the
			// policy blocks it, and logs the violation as an error.
			return len(r.Console) > 0 && strings.Contains(strings.Join(r.Console, " "), "Content Security Policy")
		}},
		{"console.html", "", text + `<script>console.error("boom")</script>`, func(r *Result) bool {
			return len(r.Console) == 1 && strings.Contains(r.Console[0], "boom")
		}},
		{"throw.html", "", text + `<script>null.x()</script>`, func(r *Result) bool {
			return len(r.Console) == 1 && strings.Contains(r.Console[0], "exception")
		}},
		{"blank.html", csp, "", func(r *Result) bool { return r.TextLength == 0 && r.NonWhite < 0.001 }},
	} {
		r, err := Check(context.Background(), chromium, page(c.name, c.head, c.body), 1000, 800)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !c.check(r) {
			t.Errorf("%s: console %q, requests %q, text %d, non-white %.4f", c.name, r.Console, r.Requests, r.TextLength, r.NonWhite)
		}
	}
}

// A browser that hangs at start-up (here a stand-in that never reads its
// commands, the first time it is run) is killed and started again: Check
// reports on the page from the second browser.
func TestCheckRetriesAHungStart(t *testing.T) {
	chromium := chromiumOrSkip(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "started")
	fake := filepath.Join(dir, "chromium")
	script := "#!/bin/sh\nif [ ! -e " + marker + " ]; then : > " + marker + "; exec sleep 120; fi\nexec " + chromium + " \"$@\"\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "p.html")
	if err := os.WriteFile(page, []byte("<!DOCTYPE html><html lang=\"en\"><head><title>t</title></head><body><p>"+strings.Repeat("words ", 100)+"</p></body></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { startTimeout = d }(startTimeout)
	startTimeout = 2 * time.Second
	r, err := Check(context.Background(), fake, page, 800, 600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil || r.TextLength < 500 {
		t.Fatalf("marker %v, text %d", err, r.TextLength)
	}
	// Without a retry the first, hung browser is the answer.
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	if _, err := checkOnce(context.Background(), fake, page, 800, 600); !errors.Is(err, errNoStart) {
		t.Fatalf("one hung browser: %v", err)
	}
}

// Package browsertest opens an HTML file in a real headless Chromium and
// reports what a test must check: console errors and warnings (a blocked
// fetch is one), every network request the page made, how much text it
// shows and how much of its screenshot is not white.
//
// It drives the browser with the Chrome DevTools Protocol over
// --remote-debugging-pipe (file descriptors 3 and 4, NUL-separated JSON
// messages), a few dozen lines instead of a websocket client or a
// dependency: create a page target, attach to it, enable the Network, Log,
// Runtime and Page domains, navigate, wait for the load event, then read
// the text length and take a screenshot. Only the page's own session is
// watched, so the browser's background traffic does not count.
package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Find returns the path of a Chromium binary ($NCD_CHROMIUM, then
// chromium, chromium-browser, google-chrome on PATH), or "".
func Find() string {
	if p := os.Getenv("NCD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Result is what the page did.
type Result struct {
	// Console lists console errors and warnings, uncaught exceptions and
	// browser log entries of level error or warning (CSP violations are).
	Console []string
	// Requests lists every URL the page asked for other than file: and
	// data: URLs (the page itself, inline images), also those a
	// Content-Security-Policy then blocked (Chromium announces a request
	// before the policy check).
	Requests []string
	// TextLength is the length of document.body.innerText.
	TextLength int
	// NonWhite is the share of the screenshot's pixels that are not white.
	NonWhite float64
	// Screenshot is the PNG of the viewport.
	Screenshot []byte
}

// Flags are the headless settings that work in a container as root.
var Flags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
	"--remote-debugging-pipe"}

type message struct {
	ID        int                       `json:"id,omitempty"`
	Method    string                    `json:"method,omitempty"`
	Params    json.RawMessage           `json:"params,omitempty"`
	Result    json.RawMessage           `json:"result,omitempty"`
	Error     *struct{ Message string } `json:"error,omitempty"`
	SessionID string                    `json:"sessionId,omitempty"`
}

type client struct {
	w       *os.File
	mu      sync.Mutex
	next    int
	waiting map[int]chan message
	events  chan message
}

func (c *client) send(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	c.mu.Lock()
	c.next++
	id := c.next
	ch := make(chan message, 1)
	c.waiting[id] = ch
	c.mu.Unlock()
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	msg, _ := json.Marshal(message{ID: id, Method: method, Params: p, SessionID: session})
	if _, err := c.w.Write(append(msg, 0)); err != nil {
		return nil, fmt.Errorf("browsertest: %s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("browsertest: %s: %s", method, m.Error.Message)
		}
		return m.Result, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("browsertest: %s: %w", method, ctx.Err())
	}
}

// Check opens path (an HTML file) in chromium with a width x height
// viewport and reports what happened. The browser gets its own temporary
// profile and is stopped before Check returns. A browser that does not
// answer its first command within startTimeout (a start-up hang, seen
// once in a CI run under the race detector: no answer in 90 s) is killed
// and started again, up to startAttempts times; what a started browser
// reports about the page is never retried.
func Check(ctx context.Context, chromium, path string, width, height int) (*Result, error) {
	var err error
	for range startAttempts {
		var r *Result
		r, err = checkOnce(ctx, chromium, path, width, height)
		if !errors.Is(err, errNoStart) || ctx.Err() != nil {
			return r, err
		}
	}
	return nil, err
}

// Start-up retries of Check (a variable so that a test can shorten the
// wait).
const startAttempts = 3

var startTimeout = 30 * time.Second

// errNoStart marks a browser that never answered its first command.
var errNoStart = errors.New("browsertest: the browser did not start")

// checkOnce is Check with one browser.
func checkOnce(ctx context.Context, chromium, path string, width, height int) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	profile, err := os.MkdirTemp("", "ncd-chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	inR, inW, err := os.Pipe() // browser reads commands from fd 3
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe() // and writes answers to fd 4
	if err != nil {
		return nil, err
	}
	args := append(append([]string{}, Flags...), "--user-data-dir="+profile, fmt.Sprintf("--window-size=%d,%d", width, height), "about:blank")
	cmd := exec.Command(chromium, args...)
	cmd.ExtraFiles = []*os.File{inR, outW}
	var stderr lockedBuffer // read while the browser may still write to it
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("browsertest: start %s: %w", chromium, err)
	}
	inR.Close()
	outW.Close()
	done := make(chan struct{})
	grace := 10 * time.Second // to exit after the pipe closes; none for a browser that never answered
	defer func() {
		inW.Close()
		select {
		case <-done:
		case <-time.After(grace):
			_ = cmd.Process.Kill()
			<-done
		}
		outR.Close()
	}()
	go func() {
		_ = cmd.Wait()
		close(done)
	}()

	c := &client{w: inW, waiting: map[int]chan message{}, events: make(chan message, 4096)}
	go func() {
		r := bufio.NewReaderSize(outR, 1<<20)
		for {
			b, err := r.ReadBytes(0)
			if err != nil {
				close(c.events)
				return
			}
			var m message
			if json.Unmarshal(b[:len(b)-1], &m) != nil {
				continue
			}
			if m.ID != 0 {
				c.mu.Lock()
				ch := c.waiting[m.ID]
				delete(c.waiting, m.ID)
				c.mu.Unlock()
				if ch != nil {
					ch <- m
				}
				continue
			}
			select {
			case c.events <- m:
			default: // a flood of events the test does not read
			}
		}
	}()

	sctx, scancel := context.WithTimeout(ctx, startTimeout)
	raw, err := c.send(sctx, "", "Target.createTarget", map[string]any{"url": "about:blank"})
	scancel()
	if err != nil {
		if sctx.Err() != nil && ctx.Err() == nil {
			err, grace = fmt.Errorf("%w: %w", errNoStart, err), 0
		}
		return nil, fmt.Errorf("%w (browser stderr: %s)", err, tail(stderr.String()))
	}
	var target struct{ TargetID string }
	_ = json.Unmarshal(raw, &target)
	raw, err = c.send(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true})
	if err != nil {
		return nil, err
	}
	var att struct{ SessionID string }
	_ = json.Unmarshal(raw, &att)
	s := att.SessionID
	for _, m := range []string{"Network.enable", "Log.enable", "Runtime.enable", "Page.enable"} {
		if _, err := c.send(ctx, s, m, map[string]any{}); err != nil {
			return nil, err
		}
	}
	if _, err := c.send(ctx, s, "Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}); err != nil {
		return nil, err
	}
	res := &Result{}
	url := "file://" + path
	if _, err := c.send(ctx, s, "Page.navigate", map[string]any{"url": url}); err != nil {
		return nil, err
	}
	// Read the page's events until it has loaded, then half a second more
	// (a blocked fetch may be logged after the load event).
	var settle <-chan time.Time
	for waiting := true; waiting; {
		select {
		case m, ok := <-c.events:
			if !ok {
				return nil, fmt.Errorf("browsertest: the browser closed the pipe (stderr: %s)", tail(stderr.String()))
			}
			if m.SessionID != s {
				continue
			}
			res.note(m)
			if m.Method == "Page.loadEventFired" && settle == nil {
				settle = time.After(500 * time.Millisecond)
			}
		case <-settle:
			waiting = false
		case <-ctx.Done():
			return nil, fmt.Errorf("browsertest: no load event for %s: %w", url, ctx.Err())
		}
	}
	raw, err = c.send(ctx, s, "Runtime.evaluate", map[string]any{"expression": "document.body ? document.body.innerText.length : 0", "returnByValue": true})
	if err != nil {
		return nil, err
	}
	var ev struct{ Result struct{ Value int } }
	_ = json.Unmarshal(raw, &ev)
	res.TextLength = ev.Result.Value
	raw, err = c.send(ctx, s, "Page.captureScreenshot", map[string]any{"format": "png"})
	if err != nil {
		return nil, err
	}
	var shot struct{ Data string }
	_ = json.Unmarshal(raw, &shot)
	if res.Screenshot, err = base64.StdEncoding.DecodeString(shot.Data); err != nil {
		return nil, fmt.Errorf("browsertest: screenshot: %w", err)
	}
	if res.NonWhite, err = nonWhite(res.Screenshot); err != nil {
		return nil, err
	}
	// Drain what arrived meanwhile.
	for more := true; more; {
		select {
		case m, ok := <-c.events:
			if !ok {
				more = false
			} else if m.SessionID == s {
				res.note(m)
			}
		default:
			more = false
		}
	}
	_, _ = c.send(ctx, "", "Browser.close", map[string]any{})
	return res, nil
}

// note records the events a test fails on.
func (r *Result) note(m message) {
	switch m.Method {
	case "Network.requestWillBeSent":
		var p struct{ Request struct{ URL string } }
		_ = json.Unmarshal(m.Params, &p)
		u := p.Request.URL
		if !strings.HasPrefix(u, "file:") && !strings.HasPrefix(u, "data:") {
			r.Requests = append(r.Requests, u)
		}
	case "Log.entryAdded":
		var p struct {
			Entry struct{ Level, Text, URL, Source string }
		}
		_ = json.Unmarshal(m.Params, &p)
		if p.Entry.Level == "error" || p.Entry.Level == "warning" {
			r.Console = append(r.Console, fmt.Sprintf("log %s (%s): %s %s", p.Entry.Level, p.Entry.Source, p.Entry.Text, p.Entry.URL))
		}
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string
			Args []struct {
				Value       any
				Description string
			}
		}
		_ = json.Unmarshal(m.Params, &p)
		if p.Type == "error" || p.Type == "warning" || p.Type == "assert" {
			var parts []string
			for _, a := range p.Args {
				parts = append(parts, fmt.Sprint(a.Value)+a.Description)
			}
			r.Console = append(r.Console, "console."+p.Type+": "+strings.Join(parts, " "))
		}
	case "Runtime.exceptionThrown":
		var p struct {
			ExceptionDetails struct{ Text string }
		}
		_ = json.Unmarshal(m.Params, &p)
		r.Console = append(r.Console, "exception: "+p.ExceptionDetails.Text)
	}
}

// nonWhite is the share of pixels with a channel under 240 of 255.
func nonWhite(b []byte) (float64, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("browsertest: screenshot: %w", err)
	}
	bd := img.Bounds()
	n, dark := 0, 0
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			n++
			if r < 240<<8 || g < 240<<8 || bl < 240<<8 {
				dark++
			}
		}
	}
	if n == 0 {
		return 0, nil
	}
	return float64(dark) / float64(n), nil
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}

// lockedBuffer is a bytes.Buffer safe to read while a process's stderr is
// copied into it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ncd-project/ncd/internal/report/browsertest"
)

// The report opens in a real headless Chromium with no console error or
// warning, no network request, and a page that is not blank.
func TestReportInChromium(t *testing.T) {
	chromium := browsertest.Find()
	if chromium == "" {
		t.Skip("SKIPPED: no chromium found (apt-get install chromium, or set NCD_CHROMIUM); the report was not checked in a browser")
	}
	dir := t.TempDir()
	path := plantedPredictions(t, dir, 1200)
	rp := filepath.Join(dir, "report.html")
	if code, _, errs := runCLI(t, "", "explain", "--data", path, "--scope", "all", "--report", rp, "--map-rows", "400", "--quiet"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	abs, err := filepath.Abs(rp)
	if err != nil {
		t.Fatal(err)
	}
	r, err := browsertest.Check(context.Background(), chromium, abs, 1280, 2000)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Console) > 0 {
		t.Errorf("console: %q", r.Console)
	}
	if len(r.Requests) > 0 {
		t.Errorf("network requests: %q", r.Requests)
	}
	if r.TextLength < 2000 || r.NonWhite < 0.01 {
		t.Errorf("blank page? %d characters of text, %.2f%% of the screenshot not white", r.TextLength, 100*r.NonWhite)
	}
	t.Logf("%d characters, %.1f%% of the first 1280x2000 px not white", r.TextLength, 100*r.NonWhite)
}

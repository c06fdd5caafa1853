package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// renderSVG draws one panel per scenario (its median run): messages
// received per second (left axis) and resident memory (right axis) over the
// run's time.
func renderSVG(r *report) string {
	var panels []scenarioResult
	for _, s := range r.Scenarios {
		if len(s.Median.Series) > 1 {
			panels = append(panels, s)
		}
	}
	const pw, ph, cols = 480, 240, 2
	rows := (len(panels) + cols - 1) / cols
	W, H := cols*pw, 60+max(rows, 1)*ph
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", W, H)
	fmt.Fprintf(&b, `<text x="12" y="22" font-size="15" font-weight="bold">%s</text>`+"\n",
		esc(fmt.Sprintf("CloudScout benchmark (%s mode), %d x %s", r.Mode, r.Machine.CPUs, r.Machine.CPUModel)))
	fmt.Fprintf(&b, `<text x="12" y="40" fill="#444">%s</text>`+"\n",
		esc("messages received per second (blue, left axis) and resident memory in MB (orange, right axis) over each scenario's median run; "+r.Started.Format("2006-01-02 15:04 MST")))
	if len(panels) == 0 {
		fmt.Fprintf(&b, `<text x="12" y="80">no time series in this run</text>`+"\n")
	}
	for i, s := range panels {
		x0, y0 := (i%cols)*pw, 60+(i/cols)*ph
		panel(&b, s, x0, y0, pw, ph)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func panel(b *strings.Builder, s scenarioResult, x0, y0, pw, ph int) {
	const ml, mr, mt, mbm = 62, 52, 24, 34
	px, py := float64(x0+ml), float64(y0+mt)
	w, h := float64(pw-ml-mr), float64(ph-mt-mbm)
	ser := s.Median.Series
	type pt struct{ t, rate, rss float64 }
	pts := make([]pt, 0, len(ser))
	for i := 1; i < len(ser); i++ {
		dt := ser[i].T - ser[i-1].T
		if dt <= 0 {
			continue
		}
		pts = append(pts, pt{ser[i].T, (ser[i].Received - ser[i-1].Received) / dt, ser[i].RSSMB})
	}
	tMax, rMax, mMax := 1.0, 1.0, 1.0
	for _, p := range pts {
		tMax, rMax, mMax = math.Max(tMax, p.t), math.Max(rMax, p.rate), math.Max(mMax, p.rss)
	}
	tMax, rMax, mMax = niceCeil(tMax), niceCeil(rMax), niceCeil(mMax)
	X := func(t float64) float64 { return px + w*t/tMax }
	YR := func(v float64) float64 { return py + h - h*v/rMax }
	YM := func(v float64) float64 { return py + h - h*v/mMax }

	fmt.Fprintf(b, `<g><text x="%d" y="%d" font-size="12" font-weight="bold">%s</text>`+"\n", x0+ml, y0+16, esc(s.Name+": "+s.Title))
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`+"\n", px, py, w, h)
	for k := 0; k <= 4; k++ {
		f := float64(k) / 4
		y := py + h - h*f
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", px, y, px+w, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#1f5fbf">%s</text>`+"\n", px-4, y+4, esc(short(rMax*f)))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" fill="#d9730d">%s</text>`+"\n", px+w+4, y+4, esc(short(mMax*f)))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444">%s</text>`+"\n", px+w*f, py+h+14, esc(short(tMax*f)+" s"))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444">time since the first message</text>`+"\n", px+w/2, py+h+28)
	line := func(color string, y func(pt) float64) {
		if len(pts) == 0 {
			return
		}
		var d strings.Builder
		for i, p := range pts {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%.1f,%.1f ", cmd, X(p.t), y(p))
		}
		fmt.Fprintf(b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.6"/>`+"\n", strings.TrimSpace(d.String()), color)
	}
	line("#1f5fbf", func(p pt) float64 { return YR(p.rate) })
	line("#d9730d", func(p pt) float64 { return YM(p.rss) })
	x := s.Median
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#444">%s</text>`+"\n", px+w-4, py+14,
		esc(fmt.Sprintf("median %s msg/s, %.0f MB/s, peak %.0f MB", short(x.RecvMsgsPerSec), x.RecvMBps, x.PeakRSSMB)))
	b.WriteString("</g>\n")
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// short prints 1234567 as 1.2M, 12000 as 12k.
func short(v float64) string {
	switch {
	case v >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case v >= 1e3:
		return trimZero(fmt.Sprintf("%.1f", v/1e3)) + "k"
	default:
		return trimZero(fmt.Sprintf("%.1f", v))
	}
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

func esc(s string) string { return html.EscapeString(s) }

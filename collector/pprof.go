package collector

import (
	"fmt"
	"net/http"
	"runtime/pprof"
	"strconv"
	"time"
)

// maxProfileSeconds bounds a CPU profile request.
const maxProfileSeconds = 300

// pprofHandler serves the runtime's profiles in pprof's protobuf format:
// /debug/pprof/profile?seconds=N (CPU) and /debug/pprof/NAME (heap,
// allocs, goroutine, block, mutex, threadcreate), readable with
// `go tool pprof URL`. It is net/http/pprof without its HTML index and
// symbolizer, which would cost the image more than they give an appliance.
func pprofHandler(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "profile" {
		secs, err := strconv.Atoi(r.URL.Query().Get("seconds"))
		if err != nil || secs <= 0 {
			secs = 30
		}
		secs = min(secs, maxProfileSeconds)
		w.Header().Set("Content-Type", "application/octet-stream")
		if err := pprof.StartCPUProfile(w); err != nil {
			http.Error(w, fmt.Sprintf("cpu profile: %v", err), http.StatusConflict)
			return
		}
		select {
		case <-time.After(time.Duration(secs) * time.Second):
		case <-r.Context().Done():
		}
		pprof.StopCPUProfile()
		return
	}
	p := pprof.Lookup(name)
	if p == nil {
		http.Error(w, "unknown profile: use profile?seconds=N, heap, allocs, goroutine, block, mutex or threadcreate", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_ = p.WriteTo(w, 0) // a failed write means the client went away
}

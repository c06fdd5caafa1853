package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// child is a process the harness started: it is always waited for, and
// stopped by its own pid only.
type child struct {
	cmd    *exec.Cmd
	log    *os.File
	exited chan struct{}
	err    error // Wait's result, valid after exited is closed
}

// startChild runs name with args, its output going to logPath.
func startChild(logPath, dir string, name string, args ...string) (*child, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{cmd: cmd, log: lf, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		lf.Close()
		close(c.exited)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop sends SIGTERM, then SIGKILL after grace, and returns how it ended.
func (c *child) stop(grace time.Duration) error {
	select {
	case <-c.exited:
		return c.err
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		return c.err
	case <-time.After(grace):
	}
	_ = c.cmd.Process.Kill()
	<-c.exited
	return fmt.Errorf("did not stop within %s after SIGTERM (killed)", grace)
}

// runCapture runs a command to completion with a timeout and returns stdout,
// stderr and its CPU time (user+system, from rusage).
func runCapture(ctx context.Context, timeout time.Duration, dir string, name string, args ...string) (stdout, stderr []byte, cpu float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	if cmd.ProcessState != nil {
		cpu = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%s: timed out after %s", name, timeout)
	}
	return o.Bytes(), e.Bytes(), cpu, err
}

// selfCPU returns the harness's own CPU seconds (user+system).
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// isSignalExit reports whether a process ended because of the SIGTERM the
// harness sent (daemons that do not trap it end that way).
func isSignalExit(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM
}

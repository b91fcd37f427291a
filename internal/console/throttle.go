package console

import (
	"sync"
	"time"
)

// Lockout (SPEC 9): 5 failed logins within 15 minutes lock the account for 15 minutes.
const (
	lockoutFailures = 5
	lockoutWindow   = 15 * time.Minute
	lockoutFor      = 15 * time.Minute
)

// Throttling by remote address, before any account is looked at: at most ipAttempts login
// attempts per ipWindow from one address. It slows password guessing over many accounts.
const (
	ipAttempts  = 30
	ipWindow    = 15 * time.Minute
	ipMaxTracks = 10000
)

// locked reports whether op is locked at now.
func locked(op *Operator, now time.Time) bool { return now.Before(op.LockedUntil) }

// recordFailure adds a failed login at now, keeps only those within the window, and locks the
// account when they reach the limit. It reports whether the account is locked now.
func recordFailure(op *Operator, now time.Time) bool {
	kept := op.Failures[:0]
	for _, t := range op.Failures {
		if now.Sub(t) < lockoutWindow {
			kept = append(kept, t)
		}
	}
	op.Failures = append(kept, now)
	if len(op.Failures) >= lockoutFailures {
		op.LockedUntil = now.Add(lockoutFor)
		op.Failures = nil
		return true
	}
	return false
}

// recordSuccess clears the failures of a successful login.
func recordSuccess(op *Operator, now time.Time) {
	op.Failures = nil
	op.LockedUntil = time.Time{}
	op.LastLogin = now
}

// addrLimiter counts login attempts per remote address in a sliding window.
type addrLimiter struct {
	mu sync.Mutex
	m  map[string][]time.Time
}

func newAddrLimiter() *addrLimiter { return &addrLimiter{m: map[string][]time.Time{}} }

// allow records an attempt from addr at now and reports whether it is within the limit.
func (l *addrLimiter) allow(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) >= ipMaxTracks {
		for k, ts := range l.m {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= ipWindow {
				delete(l.m, k)
			}
		}
	}
	ts := l.m[addr]
	kept := ts[:0]
	for _, t := range ts {
		if now.Sub(t) < ipWindow {
			kept = append(kept, t)
		}
	}
	if len(kept) >= ipAttempts {
		l.m[addr] = kept
		return false
	}
	l.m[addr] = append(kept, now)
	return true
}

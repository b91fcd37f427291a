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

// recordFailure counts a failed login at now: failures count from the first one within the
// window, and the lockoutFailures-th within it locks the account. It reports whether the account
// is locked now.
func recordFailure(op *Operator, now time.Time) bool {
	if op.FailedLogins == 0 || now.Sub(op.FirstFailure) >= lockoutWindow {
		op.FailedLogins, op.FirstFailure = 0, now
	}
	op.FailedLogins++
	if op.FailedLogins >= lockoutFailures {
		op.LockedUntil = now.Add(lockoutFor)
		op.FailedLogins, op.FirstFailure = 0, time.Time{}
		return true
	}
	return false
}

// recordSuccess clears the failures of a successful login.
func recordSuccess(op *Operator, now time.Time) {
	op.FailedLogins, op.FirstFailure = 0, time.Time{}
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

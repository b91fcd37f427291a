// Package loopback decides whether an address may be used without TLS: the one rule shared by
// the IMAP poller and the SMTP sender (SPEC 6, 7, 10: "insecure" only for loopback addresses).
package loopback

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
)

// ErrNotLoopback is returned when the host has an address that is not loopback.
var ErrNotLoopback = errors.New("not a loopback address")

// Resolve returns addr with its host replaced by its loopback IP, or an error when the host
// cannot be resolved, has no address, or any of its addresses is not loopback. Dialing the
// returned IP (not the name again) keeps a later DNS answer from pointing elsewhere.
func Resolve(ctx context.Context, r *net.Resolver, addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	var ips []net.IP
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		ips = []net.IP{ip}
	} else {
		ias, err := r.LookupIPAddr(ctx, host)
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", host, err)
		}
		for _, ia := range ias {
			ips = append(ips, ia.IP)
		}
	}
	if len(ips) == 0 {
		return "", fmt.Errorf("%s has no address", host)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return "", fmt.Errorf("allowed only for loopback addresses, and %s is %w", host, ErrNotLoopback)
		}
	}
	return net.JoinHostPort(ips[0].String(), port), nil
}

package webhook

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// Guard decides which addresses webhooks may connect to. An endpoint URL is chosen by a
// tenant, so without it a tenant could make the server call its own internal network (the
// metadata store, a cloud's instance metadata at 169.254.169.254, an admin port on
// loopback): server-side request forgery. Only public unicast addresses are allowed,
// unless the operator allows some networks explicitly (a receiver on the company LAN).
//
// The check runs on the address actually dialled (net.Dialer.Control), after DNS: a
// name that resolved to a public address when the endpoint was created and to a private
// one later (DNS rebinding) is refused at connection time.
type Guard struct {
	// Allow lists networks reachable although internal, e.g. 10.20.0.0/16.
	Allow []netip.Prefix
}

// deniedPrefixes are the special-purpose ranges (RFC 6890 and successors) that netip's
// predicates do not cover.
var deniedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT, often internal
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
	netip.MustParsePrefix("100::/64"),        // discard-only
}

// embedded4 are IPv6 forms that carry an IPv4 address a gateway may route to: the
// embedded address is checked too.
var (
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
	six4  = netip.MustParsePrefix("2002::/16")
)

// Permitted reports why an address may not be reached, or nil.
func (g Guard) Permitted(a netip.Addr) error {
	a = a.Unmap()
	for _, p := range g.Allow {
		if p.Contains(a) {
			return nil
		}
	}
	if internal(a) {
		return fmt.Errorf("%s is an internal address; webhooks cannot be aimed at internal networks unless the operator allows them (--webhook-allow-networks)", a)
	}
	return nil
}

func internal(a netip.Addr) bool {
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	for _, p := range deniedPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return internal(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case six4.Contains(a):
			return internal(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	return false
}

// control refuses a connection to an address the guard does not permit. It runs for
// every address the dialer tries, after name resolution.
func (g Guard) control(network, address string, _ syscall.RawConn) error {
	if !strings.HasPrefix(network, "tcp") {
		return fmt.Errorf("webhook: network %s refused", network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: address %q: %v", address, err)
	}
	return g.Permitted(ap.Addr())
}

// CheckURL resolves an endpoint URL's host and refuses it when any of its addresses is not
// permitted, so that a tenant learns at once that an endpoint cannot work.
func (g Guard) CheckURL(ctx context.Context, u *url.URL, r *net.Resolver) error {
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		return g.Permitted(a)
	}
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("the host %s cannot be resolved: %v", host, err)
	}
	for _, a := range addrs {
		if err := g.Permitted(a); err != nil {
			return fmt.Errorf("the host %s resolves to %w", host, err)
		}
	}
	return nil
}

// ParseNetworks parses a comma-separated list of CIDR prefixes (or single addresses).
func ParseNetworks(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or a network (10.0.0.0/8)", f)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a network (10.0.0.0/8)", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

/*-------------------------------------------------------------------------
 *
 * test_pattern.c
 *		Unit tests of pattern.c: parsing, matching and issuer pins
 *		(SPEC section 3).  Certificates are built by hand.
 *
 *-------------------------------------------------------------------------
 */
#include "issuer_pin.h"
#include "mi_alloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <time.h>

#include "pattern.h"
#include "regex_posix.h"
#include "san_index.h"
#include "tap.h"

#define U MI_SAN_URI
#define D MI_SAN_DNS
#define E MI_SAN_EMAIL

/* a certificate with one SAN value of len bytes; IP SANs from text */
static void
one_san_cert(MiCert *c, MiSan *san, MiSanKind kind, const char *v, size_t len)
{
	memset(c, 0, sizeof(*c));
	memset(san, 0, sizeof(*san));
	san->kind = kind;
	san->value = (char *) v;
	san->len = (int) len;
	if (kind == MI_SAN_IP)
	{
		if (inet_pton(AF_INET, v, san->ip) == 1)
			san->iplen = 4;
		else if (inet_pton(AF_INET6, v, san->ip) == 1)
			san->iplen = 16;
	}
	c->sans = san;
	c->nsans = 1;
	c->subject_dn = "";
}

static MiPattern *
parse(const char *text, char *err, size_t errlen)
{
	return mi_pattern_parse(text, strlen(text), posix_regex_fn, NULL,
							err, errlen);
}

/* does pattern match a certificate with the one SAN v[0..len)? */
static int
match_san_len(const char *pat, MiSanKind kind, const char *v, size_t len,
			  const char *role)
{
	char		err[256];
	MiPattern  *p = parse(pat, err, sizeof(err));
	MiCert		c;
	MiSan		san;
	int			idx = -7;
	bool		m;

	if (p == NULL)
	{
		printf("# parse failed: %s: %s\n", pat, err);
		return -1;
	}
	one_san_cert(&c, &san, kind, v, len);
	m = mi_pattern_match(p, &c, role, posix_regex_fn, NULL, &idx);
	mi_pattern_free(p);
	if (m && idx != 0)
		return -2;
	if (!m && idx != -1)
		return -3;
	/* every case also checks that the prefilter keeps what matches */
	{
		MiSanIndex *ix = mi_san_index_build(&c);
		bool		may = mi_san_index_may_match(ix, pat, strlen(pat));

		mi_san_index_free(ix);
		if (m && !may)
			return -4;
	}
	return m ? 1 : 0;
}

static int
match_san(const char *pat, MiSanKind kind, const char *v, const char *role)
{
	return match_san_len(pat, kind, v, strlen(v), role);
}

#define YES(pat, kind, v, role) \
	ok(match_san(pat, kind, v, role) == 1, "%s matches %s%s%s", pat, v, \
	   role ? " as role " : "", role ? role : "")
#define NO(pat, kind, v, role) \
	ok(match_san(pat, kind, v, role) == 0, "%s does not match %s%s%s", pat, v, \
	   role ? " as role " : "", role ? role : "")
/* with explicit length, for values with NUL bytes */
#define NOLEN(pat, kind, v, role, desc) \
	ok(match_san_len(pat, kind, v, sizeof(v) - 1, role) == 0, \
	   "%s does not match %s", pat, desc)

/* parse fails, and the message contains want */
static void
refuse(const char *text, size_t len, const char *want, const char *desc)
{
	char		err[512];
	MiPattern  *p = mi_pattern_parse(text, len, posix_regex_fn, NULL,
									 err, sizeof(err));

	if (p != NULL)
	{
		ok(0, "refuse %s", desc);
		mi_pattern_free(p);
		return;
	}
	ok(strstr(err, want) != NULL, "refuse %s (%s)", desc, err);
}

#define REFUSE(text, want) refuse(text, strlen(text), want, text)

static void
accept_text(const char *text, const char *canonical)
{
	char		err[512];
	MiPattern  *p = parse(text, err, sizeof(err));

	if (p == NULL)
	{
		ok(0, "accept %s (%s)", text, err);
		return;
	}
	ok(strcmp(mi_pattern_text(p), canonical ? canonical : text) == 0,
	   "accept %s as %s", text, mi_pattern_text(p));
	mi_pattern_free(p);
}

#define ACCEPT(text) accept_text(text, NULL)

static void
test_uri(void)
{
	const char *exact = "uri:spiffe://example.org/ns/prod/sa/billing";
	const char *star = "uri:spiffe://example.org/ns/*/sa/billing";
	const char *dstar = "uri:spiffe://example.org/ns/prod/**";
	const char *any = "uri:spiffe://example.org/**";
	const char *rx = "uri:~spiffe://example\\.org/.*";

	YES(exact, U, "spiffe://example.org/ns/prod/sa/billing", NULL);
	NO(exact, U, "spiffe://example.org/ns/prod/sa/billinG", NULL);
	NO(exact, U, "spiffe://example.org/ns/prod/sa/billing/x", NULL);
	NO(exact, U, "spiffe://example.org/ns/prod/sa", NULL);
	NO(exact, U, "SPIFFE://example.org/ns/prod/sa/billing", NULL);
	NO(exact, U, "spiffe://Example.org/ns/prod/sa/billing", NULL);
	NO(exact, U, "spiffe://example.org.evil.com/ns/prod/sa/billing", NULL);
	NO(exact, U, "spiffe://example.org/ns/prod/sa/billing/", NULL);
	NO(exact, U, "spiffe://example.org/ns/prod/sa/./billing", NULL);
	NO(exact, D, "spiffe://example.org/ns/prod/sa/billing", NULL);
	NOLEN(exact, U, "spiffe://example.org/ns/prod/sa/billing\0", NULL,
		  "the exact value followed by a NUL");

	YES(star, U, "spiffe://example.org/ns/dev/sa/billing", NULL);
	YES(star, U, "spiffe://example.org/ns/*/sa/billing", NULL);
	NO(star, U, "spiffe://example.org/ns/a/b/sa/billing", NULL);
	NO(star, U, "spiffe://example.org/ns//sa/billing", NULL);
	NO(star, U, "spiffe://example.org/ns/sa/billing", NULL);
	NO(star, U, "spiffe://example.org/ns/../sa/billing", NULL);
	NO(star, U, "spiffe://example.org/ns/./sa/billing", NULL);
	NO(star, U, "spiffe://example.org/ns/a%2fb/sa/billing", NULL);
	NO(star, U, "spiffe://example.org/ns/dev/sa/billing2", NULL);

	YES(dstar, U, "spiffe://example.org/ns/prod/a", NULL);
	YES(dstar, U, "spiffe://example.org/ns/prod/a/b/c", NULL);
	NO(dstar, U, "spiffe://example.org/ns/prod", NULL);
	NO(dstar, U, "spiffe://example.org/ns/prod/", NULL);
	NO(dstar, U, "spiffe://example.org/ns/prodx/a", NULL);
	NO(dstar, U, "spiffe://example.org/ns/prod/a/", NULL);
	NO(dstar, U, "spiffe://example.org/ns/prod/a//b", NULL);
	NO(dstar, U, "spiffe://example.org/ns/prod/../../admin", NULL);
	NO(dstar, U, "spiffe://example.org/ns/dev/a", NULL);

	YES("uri:spiffe://example.org", U, "spiffe://example.org", NULL);
	NO("uri:spiffe://example.org", U, "spiffe://example.org/x", NULL);
	NO("uri:spiffe://example.org", U, "spiffe://example.org/", NULL);
	NO(any, U, "spiffe://example.org", NULL);
	YES(any, U, "spiffe://example.org/a", NULL);
	YES("uri:spiffe://example.org/*/**", U, "spiffe://example.org/a/b", NULL);
	NO("uri:spiffe://example.org/*/**", U, "spiffe://example.org/a", NULL);
	YES("uri:https://host:8443/a", U, "https://host:8443/a", NULL);

	/* every hostile form, against patterns that would match otherwise */
	NO(any, U, "spiffe://example.org/a%2e%2e", NULL);
	NO(any, U, "spiffe://example.org/a?x=1", NULL);
	NO(any, U, "spiffe://example.org/a#frag", NULL);
	NO(any, U, "spiffe://example.org/a/./b", NULL);
	NO(any, U, "spiffe://example.org/a/../b", NULL);
	NO(any, U, "spiffe://example.org/.", NULL);
	NO(any, U, "spiffe://example.org/..", NULL);
	NO(any, U, "spiffe://example.org/a//b", NULL);
	NO(any, U, "spiffe://example.org//a", NULL);
	NO(any, U, "spiffe://example.org/a/", NULL);
	NO(any, U, "spiffe://example.org/caf\xc3\xa9", NULL);
	NO(any, U, "spiffe://example.org/a\tb", NULL);
	NO(any, U, "spiffe://example.org/a\x7f", NULL);
	NO(any, U, "spiffe://example.org/a b", NULL);
	NOLEN(any, U, "spiffe://example.org/a\0b", NULL, "a URI with a NUL");
	NO(any, U, "spiffe:/example.org/a", NULL);
	NO(any, U, "spiffe//example.org/a", NULL);
	NO(any, U, "://example.org/a", NULL);
	NO(any, U, "1spiffe://example.org/a", NULL);
	NO("uri:spiffe://x/**", U, "spiffe:///x/a", NULL);
	NO(any, U, "", NULL);

	/* a regex never matches a hostile URI either */
	YES(rx, U, "spiffe://example.org/a/b", NULL);
	NO(rx, U, "spiffe://example.org/a/../b", NULL);
	NO(rx, U, "spiffe://example.org/a%2fb", NULL);
	NO(rx, U, "spiffe://example.org/a?b", NULL);
	NO(rx, U, "spiffe://example.org/a/", NULL);
	NO(rx, U, "spiffe://example.org/caf\xc3\xa9", NULL);
	NO(rx, U, "xspiffe://example.org/a", NULL);
	NO("uri:~spiffe://example\\.org/a", U, "spiffe://example.org/ab", NULL);

	/* {role} */
	YES("uri:spiffe://example.org/sa/{role}", U, "spiffe://example.org/sa/billing", "billing");
	NO("uri:spiffe://example.org/sa/{role}", U, "spiffe://example.org/sa/billing", "billin");
	NO("uri:spiffe://example.org/sa/{role}", U, "spiffe://example.org/sa/billing", "Billing");
	NO("uri:spiffe://example.org/sa/{role}", U, "spiffe://example.org/sa/billing", NULL);
	NO("uri:spiffe://example.org/sa/{role}", U, "spiffe://example.org/sa/billing", "*");
	YES("uri:spiffe://example.org/sa/{role}", U, "spiffe://example.org/sa/*", "*");
	NO("uri:spiffe://example.org/sa/{role}", U, "spiffe://example.org/sa/a/b", "a/b");
	NO("uri:spiffe://example.org/sa/{role}", U, "spiffe://example.org/sa/..", "..");
	NO("uri:spiffe://example.org/sa/{role}", U, "spiffe://example.org/sa/", "");
	NO("uri:spiffe://example.org/sa/{role}", U, "spiffe://example.org/sa/x", "**");
	YES("uri:spiffe://example.org/sa/{role}", U, "spiffe://example.org/sa/a.b", "a.b");
	YES("uri:spiffe://example.org/sa/{role}-{role}", U, "spiffe://example.org/sa/x-x", "x");
	NO("uri:spiffe://example.org/sa/{role}-{role}", U, "spiffe://example.org/sa/x-y", "x");
	YES("uri:spiffe://{role}.example.org/a", U, "spiffe://db.example.org/a", "db");
	NO("uri:spiffe://{role}.example.org/a", U, "spiffe://x/y.example.org/a", "x/y");
	YES("uri:~spiffe://example\\.org/sa/{role}", U, "spiffe://example.org/sa/a.b", "a.b");
	NO("uri:~spiffe://example\\.org/sa/{role}", U, "spiffe://example.org/sa/axb", "a.b");
	NO("uri:~spiffe://example\\.org/sa/{role}", U, "spiffe://example.org/sa/anything", ".*");
	NO("uri:~spiffe://example\\.org/sa/{role}", U, "spiffe://example.org/sa/..", "..");

	/* pattern errors */
	REFUSE("uri:spiffe://x/a%20b", "must not contain");
	REFUSE("uri:spiffe://x/a?b", "must not contain");
	REFUSE("uri:spiffe://x/a#b", "must not contain");
	REFUSE("uri:spiffe://x/./a", "\".\" or \"..\"");
	REFUSE("uri:spiffe://x/a/..", "\".\" or \"..\"");
	REFUSE("uri:spiffe://x//a", "empty path segment");
	REFUSE("uri:spiffe://x/a/", "empty path segment");
	REFUSE("uri:spiffe://x/", "empty path segment");
	REFUSE("uri:spiffe://x/a*", "whole path segment");
	REFUSE("uri:spiffe://x/*a/b", "whole path segment");
	REFUSE("uri:spiffe://x/***", "whole path segment");
	REFUSE("uri:spiffe://x/**/a", "final path segment");
	REFUSE("uri:spiffe://x/a**", "whole path segment");
	REFUSE("uri:spiffe://x/a*/b", "whole path segment");
	REFUSE("uri:spiffe://x/*a", "whole path segment");
	REFUSE("uri:spiffe://*/a", "authority");
	REFUSE("uri:spiffe://*.x/a", "authority");
	REFUSE("uri:spiffe:///a", "empty authority");
	REFUSE("uri:spiffe://", "empty authority");
	REFUSE("uri:spiffe:x", "scheme://authority");
	REFUSE("uri:/a/b", "scheme://authority");
	REFUSE("uri:{role}://x/a", "scheme://authority");
	REFUSE("uri:spiffe://x/caf\xc3\xa9", "ASCII");
	REFUSE("uri:spiffe://x/a b", "ASCII");
	ACCEPT("uri:spiffe://example.org/ns/*/sa/{role}/**");
}

static void
test_dns(void)
{
	const char *exact = "dns:db.example.com";
	const char *wild = "dns:*.example.com";

	YES(exact, D, "db.example.com", NULL);
	YES(exact, D, "DB.Example.COM", NULL);
	YES(exact, D, "db.example.com.", NULL);
	YES("dns:db.example.com.", D, "db.example.com", NULL);
	YES("dns:DB.EXAMPLE.COM", D, "db.example.com", NULL);
	NO(exact, D, "db.example.com..", NULL);
	NO(exact, D, "xdb.example.com", NULL);
	NO(exact, D, "db.example.co", NULL);
	NO(exact, D, "a.db.example.com", NULL);
	NO(exact, D, "db.example.com.evil", NULL);
	NO(exact, U, "db.example.com", NULL);
	NOLEN(exact, D, "db.example.com\0.evil.com", NULL, "a name with a NUL");
	YES("dns:_srv-1.example.com", D, "_srv-1.example.com", NULL);

	YES(wild, D, "a.example.com", NULL);
	YES(wild, D, "A.EXAMPLE.com", NULL);
	YES(wild, D, "a.example.com.", NULL);
	NO(wild, D, "example.com", NULL);
	NO(wild, D, "a.b.example.com", NULL);
	NO(wild, D, "*.example.com", NULL);
	NO(wild, D, "a*.example.com", NULL);
	NO(wild, D, ".example.com", NULL);
	NO(wild, D, "a..example.com", NULL);
	NO(wild, D, "a.example.org", NULL);
	NO(wild, D, "d\xc3\xa9.example.com", NULL);
	NO(wild, D, "a b.example.com", NULL);
	NOLEN(wild, D, "a\0.example.com", NULL, "a wildcard name with a NUL");

	/* hostile SANs never match a regex */
	YES("dns:~.*\\.example\\.com", D, "a.b.example.com", NULL);
	NO("dns:~.*\\.example\\.com", D, "d\xc3\xa9.example.com", NULL);
	NO("dns:~.*\\.example\\.com", D, "*.example.com", NULL);
	NO("dns:~.*\\.example\\.com", D, "a..example.com", NULL);
	NO("dns:~[a-z]+\\.example\\.com", D, "x.example.com.evil.org", NULL);

	YES("dns:{role}.db.example.com", D, "dave.db.example.com", "dave");
	YES("dns:{role}.db.example.com", D, "DAVE.db.example.com", "dave");
	NO("dns:{role}.db.example.com", D, "a.b.db.example.com", "a.b");
	NO("dns:{role}.db.example.com", D, "x.db.example.com", "*");
	NO("dns:{role}.db.example.com", D, "db.example.com", "");
	NO("dns:{role}.db.example.com", D, "evil.com.db.example.com", "evil.com");
	YES("dns:x-{role}.example.com", D, "x-app.example.com", "app");

	REFUSE("dns:*", "at least two labels");
	REFUSE("dns:*.com", "at least two labels");
	REFUSE("dns:*.com.", "at least two labels");
	REFUSE("dns:a.*.com", "leftmost label");
	REFUSE("dns:*.*.example.com", "leftmost label");
	REFUSE("dns:a*.example.com", "leftmost label");
	REFUSE("dns:**.example.com", "leftmost label");
	REFUSE("dns:a..b", "empty label");
	REFUSE("dns:.a.b", "empty label");
	REFUSE("dns:a.b..", "empty label");
	REFUSE("dns:.", "empty DNS name");
	REFUSE("dns:a b.com", "invalid character");
	REFUSE("dns:caf\xc3\xa9.com", "non-ASCII character");
	REFUSE("dns:a/b.com", "invalid character");
	ACCEPT("dns:*.Example.com.");
	ACCEPT("dns:{role}.example.com");
}

static void
test_email(void)
{
	const char *exact = "email:alice@example.com";
	const char *any = "email:*@example.com";

	YES(exact, E, "alice@example.com", NULL);
	YES(exact, E, "alice@EXAMPLE.Com", NULL);
	YES("email:alice@Example.COM", E, "alice@example.com", NULL);
	NO(exact, E, "Alice@example.com", NULL);
	NO(exact, E, "alice@example.com.", NULL);
	NO(exact, E, "alice@sub.example.com", NULL);
	NO(exact, E, "alice@example.com.evil.org", NULL);
	NO(exact, E, "alice@@example.com", NULL);
	NO(exact, D, "alice@example.com", NULL);
	NOLEN(exact, E, "alice@example.com\0x", NULL, "an address with a NUL");

	YES(any, E, "bob@example.com", NULL);
	YES(any, E, "Bob.Smith+tag@EXAMPLE.com", NULL);
	NO(any, E, "bob@sub.example.com", NULL);
	NO(any, E, "@example.com", NULL);
	NO(any, E, "bob@", NULL);
	NO(any, E, "bob", NULL);
	NO(any, E, "bob@example.com.evil", NULL);
	NO(any, E, "b*b@example.com", NULL);
	NO(any, E, "*@example.com", NULL);
	NO(any, E, "a@b@example.com", NULL);
	NO(any, E, "b\xc3\xb6" "b@example.com", NULL);
	NO(any, E, "b b@example.com", NULL);
	NO(any, E, "b\tb@example.com", NULL);
	NOLEN(any, E, "b\0b@example.com", NULL, "a local part with a NUL");

	YES("email:{role}@example.com", E, "dave@example.com", "dave");
	NO("email:{role}@example.com", E, "Dave@example.com", "dave");
	NO("email:{role}@example.com", E, "dave@example.com", "Dave");
	NO("email:{role}@example.com", E, "dave@evil.com@example.com", "dave@evil.com");
	NO("email:{role}@example.com", E, "dave@example.com", "dave@evil.com");
	NO("email:{role}@example.com", E, "x@example.com", "*");
	YES("email:admin@{role}.example.com", E, "admin@db.example.com", "db");
	NO("email:admin@{role}.example.com", E, "admin@a.b.example.com", "a.b");

	YES("email:~[a-z]+@example\\.com", E, "bob@example.com", NULL);
	NO("email:~[a-z]+@example\\.com", E, "bob@example.com.evil.org", NULL);
	NO("email:~.*", E, "a@b@c", NULL);
	YES("email:~{role}@example\\.com", E, "a.b@example.com", "a.b");
	NO("email:~{role}@example\\.com", E, "axb@example.com", "a.b");

	REFUSE("email:alice", "local@domain");
	REFUSE("email:@example.com", "local@domain");
	REFUSE("email:alice@", "local@domain");
	REFUSE("email:a@b@c", "local@domain");
	REFUSE("email:a*@example.com", "whole local part");
	REFUSE("email:*a@example.com", "whole local part");
	REFUSE("email:*@*.example.com", "leftmost label");
	REFUSE("email:a b@example.com", "ASCII without spaces");
	REFUSE("email:alice@example..com", "empty label");
	REFUSE("email:alice@example.com.", "empty label");
	REFUSE("email:alice@exa mple.com", "invalid character");
	ACCEPT("email:*@Example.com");
}

/* does the ip pattern match the IP SAN given as text? */
static void
ip_case(const char *pat, const char *addr, int want)
{
	ok(match_san(pat, MI_SAN_IP, addr, NULL) == want,
	   "%s %s %s", pat, want ? "matches" : "does not match", addr);
}

static void
test_ip(void)
{
	ip_case("ip:10.0.0.1", "10.0.0.1", 1);
	ip_case("ip:10.0.0.1", "10.0.0.2", 0);
	ip_case("ip:10.0.0.1/32", "10.0.0.1", 1);
	ip_case("ip:10.0.0.1/32", "10.0.0.0", 0);
	ip_case("ip:10.0.0.0/8", "10.255.1.2", 1);
	ip_case("ip:10.0.0.0/8", "11.0.0.0", 0);
	ip_case("ip:10.0.0.0/8", "9.255.255.255", 0);
	ip_case("ip:10.0.0.0/9", "10.127.255.255", 1);
	ip_case("ip:10.0.0.0/9", "10.128.0.0", 0);
	ip_case("ip:0.0.0.0/0", "1.2.3.4", 1);
	ip_case("ip:0.0.0.0/0", "::1", 0);
	ip_case("ip:::1", "::1", 1);
	ip_case("ip:::1", "::2", 0);
	ip_case("ip:::/0", "2001:db8::1", 1);
	ip_case("ip:::/0", "10.0.0.1", 0);
	ip_case("ip:2001:db8::/32", "2001:db8:1::1", 1);
	ip_case("ip:2001:db8::/32", "2001:db9::", 0);
	ip_case("ip:2001:DB8::1/128", "2001:db8::1", 1);
	ip_case("ip:2001:db8::1/128", "2001:db8::2", 0);
	ip_case("ip:2001:db8::/127", "2001:db8::1", 1);
	/* IPv4-mapped IPv6 addresses are IPv6: no cross-family match */
	ip_case("ip:::ffff:10.0.0.1", "10.0.0.1", 0);
	ip_case("ip:::ffff:10.0.0.1", "::ffff:10.0.0.1", 1);
	ip_case("ip:10.0.0.1", "::ffff:10.0.0.1", 0);
	ip_case("ip:10.0.0.0/8", "::ffff:10.0.0.1", 0);
	ip_case("ip:::ffff:0:0/96", "10.0.0.1", 0);

	/* an IP SAN of a bad length never matches, not even /0 */
	{
		char		err[256];
		MiPattern  *p = parse("ip:0.0.0.0/0", err, sizeof(err));
		MiCert		c;
		MiSan		san;

		one_san_cert(&c, &san, MI_SAN_IP, "x", 1);
		ok(p && san.iplen == 0 && !mi_pattern_match(p, &c, NULL, NULL, NULL, NULL),
		   "ip:0.0.0.0/0 does not match an IP SAN of length 0");
		san.iplen = 4;
		san.hostile = true;
		ok(p && !mi_pattern_match(p, &c, NULL, NULL, NULL, NULL),
		   "ip:0.0.0.0/0 does not match an IP SAN flagged hostile");
		mi_pattern_free(p);
	}

	REFUSE("ip:10.0.0.1/8", "host bits are set (the network is 10.0.0.0/8)");
	REFUSE("ip:10.0.0.0/33", "invalid CIDR \"10.0.0.0/33\"");
	REFUSE("ip:::/129", "invalid CIDR");
	REFUSE("ip:2001:db8::1/64", "host bits are set (the network is 2001:db8::/64)");
	REFUSE("ip:10.0.0.0/", "invalid CIDR");
	REFUSE("ip:10.0.0.0/08", "invalid CIDR");
	REFUSE("ip:10.0.0.0/-1", "invalid CIDR");
	REFUSE("ip:10.0.0.0/1a", "invalid CIDR");
	REFUSE("ip:10.0.0.0/8/8", "invalid CIDR");
	REFUSE("ip:10.0.0", "invalid IP address");
	REFUSE("ip:010.0.0.1", "invalid IP address");
	REFUSE("ip:256.0.0.1", "invalid IP address");
	REFUSE("ip:fe80::1%eth0", "invalid IP address");
	REFUSE("ip:/8", "invalid IP address");
	REFUSE("ip:example.com", "invalid IP address");
	REFUSE("ip:~10\\..*", "not supported for identity kind \"ip\"");
	REFUSE("ip:{role}", "{role} is not supported");
	ACCEPT("ip:0.0.0.0/0");
	ACCEPT("ip:::/0");
	ACCEPT("ip:2001:db8::/32");
}

/* a certificate with a CN and a DN, no SANs */
static bool
match_subject(const char *pat, const char *cn, int cn_len, bool cn_hostile,
			  const char *dn, const char *role)
{
	char		err[256];
	MiPattern  *p = parse(pat, err, sizeof(err));
	MiCert		c;
	int			idx = 5;
	bool		m;

	if (p == NULL)
	{
		printf("# parse failed: %s: %s\n", pat, err);
		return false;
	}
	memset(&c, 0, sizeof(c));
	c.cn = (char *) cn;
	c.cn_len = cn_len;
	c.cn_hostile = cn_hostile;
	c.subject_dn = (char *) dn;
	m = mi_pattern_match(p, &c, role, posix_regex_fn, NULL, &idx);
	mi_pattern_free(p);
	return m && idx == -1;
}

#define CN_YES(pat, cn, role) \
	ok(match_subject(pat, cn, (int) strlen(cn), false, "", role), \
	   "%s matches CN %s", pat, cn)
#define CN_NO(pat, cn, role) \
	ok(!match_subject(pat, cn, (int) strlen(cn), false, "", role), \
	   "%s does not match CN %s", pat, cn)

static void
test_subject(void)
{
	CN_YES("cn:alice", "alice", NULL);
	CN_NO("cn:alice", "Alice", NULL);
	CN_NO("cn:alice", "alice ", NULL);
	CN_NO("cn:alice", "alic", NULL);
	CN_YES("cn:*", "*", NULL);
	CN_NO("cn:*", "bob", NULL);
	CN_YES("cn:Jos\xc3\xa9 M", "Jos\xc3\xa9 M", NULL);
	CN_YES("cn:{role}", "bob", "bob");
	CN_NO("cn:{role}", "bob", "bo");
	CN_NO("cn:{role}", "bob", NULL);
	CN_YES("cn:app-{role}", "app-bob", "bob");
	ok(!match_subject("cn:alice", NULL, 0, false, "", NULL),
	   "cn:alice does not match a certificate without CN");
	ok(!match_subject("cn:alice", "alice", 5, true, "", NULL),
	   "cn:alice does not match a CN flagged hostile");
	ok(!match_subject("cn:~.*", "alice", 5, true, "", NULL),
	   "cn:~.* does not match a CN flagged hostile");
	ok(!match_subject("cn:alice", "alice\0x", 7, false, "", NULL),
	   "cn:alice does not match a CN with a NUL after alice");

	/* regex anchoring */
	CN_YES("cn:~a.c", "abc", NULL);
	CN_NO("cn:~a.c", "xabcx", NULL);
	CN_NO("cn:~a.c", "abcx", NULL);
	CN_NO("cn:~a.c", "xabc", NULL);
	CN_YES("cn:~a|b", "a", NULL);
	CN_NO("cn:~a|b", "ab", NULL);
	CN_NO("cn:~a|b", "xa", NULL);
	CN_NO("cn:~a|b", "bx", NULL);
	/* {role} is a literal in a regex */
	CN_YES("cn:~{role}", ".*", ".*");
	CN_NO("cn:~{role}", "anything", ".*");
	CN_YES("cn:~{role}", "a+b", "a+b");
	CN_NO("cn:~{role}", "aab", "a+b");
	CN_YES("cn:~x{role}y", "x(a|b)[c]^$\\y", "(a|b)[c]^$\\");
	CN_NO("cn:~x{role}y", "xay", "(a|b)[c]^$\\");
	CN_YES("cn:~(dev|prod)-{role}", "prod-bob", "bob");
	CN_NO("cn:~(dev|prod)-{role}", "test-bob", "bob");

	ok(match_subject("dn:CN=alice,O=Example", "alice", 5, false,
					 "CN=alice,O=Example", NULL), "dn exact matches");
	ok(!match_subject("dn:CN=alice,O=Example", "alice", 5, false,
					  "CN=alice,O=Example2", NULL), "dn exact is not a prefix match");
	ok(!match_subject("dn:CN=alice,O=Example", "alice", 5, false,
					  "cn=alice,o=example", NULL), "dn exact is case-sensitive");
	ok(match_subject("dn:CN={role},O=Example", NULL, 0, false,
					 "CN=bob,O=Example", "bob"), "dn with {role} matches");
	ok(!match_subject("dn:CN={role},O=Example", NULL, 0, false,
					  "CN=bob,O=Example", "bob,O=Example"),
	   "dn with {role} does not match a longer role");
	ok(match_subject("dn:~CN=[a-z]+,O=Example", NULL, 0, false,
					 "CN=bob,O=Example", NULL), "dn regex matches");
	ok(!match_subject("dn:~CN=[a-z]+,O=Example", NULL, 0, false,
					  "CN=bob,O=Example,C=US", NULL), "dn regex is anchored");
	ok(!match_subject("dn:CN=a", NULL, 0, false, NULL, NULL),
	   "dn does not match a certificate without subject DN");

	REFUSE("cn:~(", "invalid regular expression");
	REFUSE("cn:~a{2}", "only {role} may be written in braces");
	REFUSE("cn:{rol}", "only {role}");
	REFUSE("cn:{role", "only {role}");
	REFUSE("cn:a}", "only {role}");
	REFUSE("cn:{role}}", "only {role}");
	REFUSE("dns:{ROLE}.example.com", "only {role}");
	REFUSE("cn:a\tb", "control character");
	REFUSE("cn:a\x7f", "control character");
	refuse("cn:a\0b", 6, "control character", "cn with a NUL");
	refuse("cn:a\nb", 6, "control character", "cn with a newline");
	ACCEPT("cn:*");
	ACCEPT("dn:CN=a\\,b,O=Example");
}

/* parse fails without a regex engine too (labels read at login, enforcer) */
static void
refuse_nocb(const char *text, const char *want)
{
	char		err[512];
	MiPattern  *p = mi_pattern_parse(text, strlen(text), NULL, NULL,
									 err, sizeof(err));

	if (p != NULL)
	{
		ok(0, "refuse %s without a regex engine", text);
		mi_pattern_free(p);
		return;
	}
	ok(strstr(err, want) != NULL, "refuse %s without a regex engine (%s)",
	   text, err);
}

#define REFUSE_ALWAYS(text, want) \
	do { REFUSE(text, want); refuse_nocb(text, want); } while (0)

/* issue 10 defect 4: no regex escapes its anchoring or runs unbounded */
static void
test_regex_rules(void)
{
	char		big[MI_MAX_VALUE_LEN + 64];
	char		err[256];
	MiPattern  *p;

	/* the escape of the report, and its siblings */
	REFUSE_ALWAYS("uri:~spiffe://example\\.org/ns/prod/sa/billing)|(nomatch",
				  "unbalanced \")\"");
	REFUSE_ALWAYS("dns:~a)|(.*", "unbalanced \")\"");
	REFUSE_ALWAYS("email:~x)|(.*", "unbalanced \")\"");
	REFUSE_ALWAYS("dn:~CN=a)|(.*", "unbalanced \")\"");
	REFUSE_ALWAYS("cn:~a)(b", "unbalanced \")\"");
	REFUSE_ALWAYS("cn:~(a", "unbalanced \"(\"");
	REFUSE_ALWAYS("cn:~((a)", "unbalanced \"(\"");
	REFUSE_ALWAYS("cn:~a\\", "ends with a backslash");
	REFUSE_ALWAYS("cn:~[a\\", "ends with a backslash");
	/* directors and embedded options change meaning when wrapped */
	REFUSE_ALWAYS("cn:~***:a", "ARE director");
	REFUSE_ALWAYS("cn:~***=a)|(b", "ARE director");
	REFUSE_ALWAYS("cn:~(?i)a", "embedded options");
	REFUSE_ALWAYS("cn:~(?x)a # )|(.*", "embedded options");
	REFUSE_ALWAYS("cn:~a(?b)", "embedded options");
	/* unbounded: back-references, lookaround */
	REFUSE_ALWAYS("cn:~(a*)(a*)(a*)\\1\\2\\3", "back-references");
	REFUSE_ALWAYS("cn:~(a)\\1", "back-references (\"\\1\")");
	REFUSE_ALWAYS("cn:~(a)[\\9]", "back-references");
	REFUSE_ALWAYS("uri:~(x)\\1{role}", "back-references");
	REFUSE_ALWAYS("cn:~a(?=b)", "lookahead");
	REFUSE_ALWAYS("cn:~(?!a)b", "lookahead");
	REFUSE_ALWAYS("cn:~(?<=a)b", "lookbehind");
	REFUSE_ALWAYS("cn:~(?<!a)b", "lookbehind");
	/* non-greedy quantifiers; at most MI_MAX_REGEX_QUANTIFIERS quantifiers */
	REFUSE_ALWAYS("cn:~(a*?b*)", "non-greedy");
	REFUSE_ALWAYS("cn:~a+?", "non-greedy");
	REFUSE_ALWAYS("cn:~a??", "non-greedy");
	{
		char		q[MI_MAX_PATTERN_LEN];

		strcpy(q, "cn:~");
		for (int i = 0; i < MI_MAX_REGEX_QUANTIFIERS; i++)
			strcat(q, "(a|b)*");
		ACCEPT(q);
		strcat(q, "c?");
		REFUSE_ALWAYS(q, "too many quantifiers");
		/* escaped and bracketed ones are characters; (?: is no quantifier */
		strcpy(q, "cn:~");
		for (int i = 0; i < MI_MAX_REGEX_QUANTIFIERS; i++)
			strcat(q, "(?:a)*");
		strcat(q, "\\*[*+?]\\?x");
		ACCEPT(q);
	}

	/* a bracket expression cannot hide or bring parentheses or {role} */
	REFUSE_ALWAYS("cn:~[(]a", "inside a bracket expression");
	REFUSE_ALWAYS("cn:~[)]a", "inside a bracket expression");
	REFUSE_ALWAYS("cn:~a[]|)(]b", "inside a bracket expression");
	REFUSE_ALWAYS("cn:~[{role}]", "{role} is not allowed inside a bracket");
	REFUSE_ALWAYS("cn:~[abc", "unterminated bracket");
	REFUSE_ALWAYS("cn:~[]abc", "unterminated bracket");
	REFUSE_ALWAYS("cn:~[[:alpha:]", "unterminated bracket");
	REFUSE_ALWAYS("cn:~[[:alpha]x", "unterminated \"[:\"");

	/* still accepted: groups, brackets, classes, escaped parentheses */
	CN_YES("cn:~(a|b)c", "bc", NULL);
	CN_NO("cn:~(a|b)c", "abc", NULL);
	CN_YES("cn:~(?:a|b)c", "ac", NULL);
	CN_YES("cn:~[]a]x", "]x", NULL);
	CN_NO("cn:~[]a]x", "bx", NULL);
	CN_YES("cn:~[^]a]x", "bx", NULL);
	CN_YES("cn:~[[:alpha:]]+-[0-9]", "abc-1", NULL);
	CN_YES("cn:~x\\(y\\)", "x(y)", NULL);
	CN_NO("cn:~x\\(y\\)|z", "x(y)z", NULL);

	/* the reported binding, written as a group, stays anchored */
	YES("uri:~spiffe://example\\.org/ns/prod/sa/(billing|nomatch)", U,
		"spiffe://example.org/ns/prod/sa/billing", NULL);
	NO("uri:~spiffe://example\\.org/ns/prod/sa/(billing|nomatch)", U,
	   "spiffe://example.org/ns/prod/sa/billing/extra", NULL);
	NO("uri:~spiffe://example\\.org/ns/prod/sa/(billing|nomatch)", U,
	   "spiffe://evil.org/nomatch", NULL);

	/* a role name with ")", "|" or "\" is a literal, never an escape */
	CN_YES("cn:~{role}", ")|(.*", ")|(.*");
	CN_NO("cn:~{role}", "zzz", ")|(.*");
	CN_NO("cn:~a{role}", "azzz", ")|(.*");
	CN_YES("cn:~a{role}b", "a\\)b", "\\)");
	CN_NO("cn:~a{role}b", "a)b", "\\)");
	CN_NO("cn:~{role}", "x", "x)|(");

	/*
	 * dn: regexes see RFC 2253 text with its escapes (doc/matching.md): a
	 * class [^,] matches the backslash of "\," and so spans an escaped
	 * comma; treating an escape as a unit does not.
	 */
	ok(match_subject("dn:~CN=[^,]+,O=Example", NULL, 0, false,
					 "CN=a\\,O=Example", NULL),
	   "dn:~CN=[^,]+,O=Example matches CN=a\\,O=Example (documented)");
	ok(!match_subject("dn:~CN=([^,\\\\]|\\\\.)+,O=Example", NULL, 0, false,
					  "CN=a\\,O=Example", NULL),
	   "an escape-aware dn regex does not match CN=a\\,O=Example");
	ok(match_subject("dn:~CN=([^,\\\\]|\\\\.)+,O=Example", NULL, 0, false,
					 "CN=Smith\\, Bob,O=Example", NULL),
	   "an escape-aware dn regex matches CN=Smith\\, Bob,O=Example");

	/* the subject a regex sees is bounded */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "CN=", 3);
	ok(!match_subject("dn:~CN=a+", NULL, 0, false, big, NULL),
	   "a regex never sees a subject DN longer than MI_MAX_VALUE_LEN");
	big[MI_MAX_VALUE_LEN] = '\0';
	ok(match_subject("dn:~CN=a+", NULL, 0, false, big, NULL),
	   "a regex sees a subject DN of MI_MAX_VALUE_LEN bytes");

	/* what validation hands the engine: the body alone, then anchored */
	regex_calls = 0;
	p = parse("cn:~(a|b)", err, sizeof(err));
	ok(p != NULL && regex_calls == 2,
	   "validation compiles the body alone and the anchored form (%d calls)",
	   regex_calls);
	mi_pattern_free(p);
}

/* issue 10 defect 7: one key per identity, whatever the spelling */
static void
same(const char *a, const char *b, bool want)
{
	ok(mi_identity_same(a, b) == want && mi_identity_same(b, a) == want,
	   "%s %s %s", a, want ? "is the same binding as" : "is not the same binding as", b);
}

static void
test_identity_key(void)
{
	same("sha256:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99",
		 "sha256:aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899", true);
	same("sha256:AABBCCDDEEFF00112233445566778899AABBCCDDEEFF00112233445566778899",
		 "sha256:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99", true);
	same("sha256:aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899",
		 "sha256:aabbccddeeff00112233445566778899aabbccddeeff00112233445566778800", false);
	same("dns:DB.Example.COM.", "dns:db.example.com", true);
	same("dns:*.Example.com", "dns:*.example.com.", true);
	same("dns:{role}.Example.com", "dns:{role}.example.com", true);
	same("dns:db.example.com", "dns:db.example.org", false);
	same("dns:~db\\.example\\.com", "dns:db.example.com", false);
	same("email:Dave@EXAMPLE.com", "email:Dave@example.com", true);
	same("email:Dave@example.com", "email:dave@example.com", false);
	same("email:*@Example.COM", "email:*@example.com", true);
	same("ip:::1", "ip:0:0:0:0:0:0:0:1", true);
	same("ip:::1", "ip:::1/128", true);
	same("ip:10.0.0.1", "ip:10.0.0.1/32", true);
	same("ip:2001:DB8::/32", "ip:2001:0db8:0:0::/32", true);
	same("ip:10.0.0.0/8", "ip:10.0.0.0/16", false);
	same("ip:::ffff:10.0.0.1", "ip:10.0.0.1", false);
	same("uri:spiffe://Example.org/a", "uri:spiffe://example.org/a", false);
	same("cn:Alice", "cn:alice", false);
	same("dn:CN=a,O=b", "dn:CN=a, O=b", false);
	same("cn:~(a|b)", "cn:~(a|b)", true);
	same("cn:~(a|b)", "cn:~(b|a)", false);
	/* a stored identity that no longer parses is found by its exact text */
	same("cn:~a)|(b", "cn:~a)|(b", true);
	same("cn:~a)|(b", "cn:~a)|(c", false);
	same("foo:bar", "foo:bar", true);
}

/* issue 10 item 9b: {role} in a DNS name only as a lowercase DNS label */
static void
test_dns_role_case(void)
{
	YES("dns:{role}.db.example.com", D, "dave.db.example.com", "dave");
	NO("dns:{role}.db.example.com", D, "dave.db.example.com", "Dave");
	NO("dns:{role}.db.example.com", D, "DAVE.db.example.com", "DAVE");
	NO("dns:*.{role}.example.com", D, "x.dave.example.com", "Dave");
	YES("dns:*.{role}.example.com", D, "x.Dave.example.com", "dave");
	YES("dns:{role}.db.example.com", D, "a-b_c9.db.example.com", "a-b_c9");
	NO("email:*@{role}.example.com", E, "x@dave.example.com", "Dave");
	YES("email:*@{role}.example.com", E, "x@DAVE.example.com", "dave");
	/* the email local part is exact: Dave and dave are different there */
	YES("email:{role}@example.com", E, "Dave@example.com", "Dave");
}

static void
test_sha256(void)
{
	static const char hex[] =
		"a3f1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
	char		upper_colons[200];
	char		err[256];
	MiCert		c;
	MiPattern  *p;
	int			idx = 3;

	memset(&c, 0, sizeof(c));
	c.subject_dn = "";
	for (int i = 0; i < 32; i++)
	{
		unsigned int b;

		sscanf(hex + 2 * i, "%2x", &b);
		c.sha256[i] = (unsigned char) b;
	}
	strcpy(upper_colons, "sha256:");
	for (int i = 0; i < 32; i++)
	{
		char		pair[4];

		snprintf(pair, sizeof(pair), "%c%c%s",
				 hex[2 * i] >= 'a' ? hex[2 * i] - 32 : hex[2 * i],
				 hex[2 * i + 1] >= 'a' ? hex[2 * i + 1] - 32 : hex[2 * i + 1],
				 i < 31 ? ":" : "");
		strcat(upper_colons, pair);
	}

	p = parse(upper_colons, err, sizeof(err));
	ok(p != NULL, "sha256 with colons and uppercase parses");
	ok(p && strncmp(mi_pattern_text(p), "sha256:", 7) == 0 &&
	   strcmp(mi_pattern_text(p) + 7, hex) == 0,
	   "sha256 canonical form is lowercase without colons");
	ok(p && mi_pattern_match(p, &c, NULL, NULL, NULL, &idx) && idx == -1,
	   "sha256 with colons matches the fingerprint");
	mi_pattern_free(p);

	{
		char		plain[100];

		snprintf(plain, sizeof(plain), "sha256:%s", hex);
		p = parse(plain, err, sizeof(err));
		ok(p && mi_pattern_match(p, &c, NULL, NULL, NULL, NULL),
		   "sha256 without colons matches");
		c.sha256[31] ^= 1;
		ok(p && !mi_pattern_match(p, &c, NULL, NULL, NULL, NULL),
		   "sha256 does not match another fingerprint");
		c.sha256[31] ^= 1;
		mi_pattern_free(p);
	}

	REFUSE("sha256:abc", "64 hex digits");
	REFUSE("sha256:a3f1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
		   "64 hex digits");
	REFUSE("sha256:a3f1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f900",
		   "64 hex digits");
	REFUSE("sha256:g3f1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
		   "64 hex digits");
	REFUSE("sha256: a3f1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
		   "64 hex digits");
	REFUSE("sha256:~a3.*", "not supported for identity kind \"sha256\"");
	REFUSE("sha256:{role}", "{role} is not supported");
}

static void
test_parse_errors(void)
{
	char		big[MI_MAX_PATTERN_LEN + 2];

	REFUSE("", "kind:pattern");
	REFUSE("spiffe", "kind:pattern");
	REFUSE("URI:spiffe://x/a", "unknown identity kind \"URI\"");
	REFUSE("foo:bar", "unknown identity kind \"foo\"");
	REFUSE(":bar", "unknown identity kind \"\"");
	REFUSE("uri:", "empty pattern");
	REFUSE("cn:", "empty pattern");
	REFUSE("dns:~", "empty regular expression");
	REFUSE("cn:~", "empty regular expression");

	memcpy(big, "cn:", 3);
	memset(big + 3, 'a', sizeof(big) - 3);
	refuse(big, MI_MAX_PATTERN_LEN + 1, "too long", "an identity of 1025 bytes");
	{
		char		err[256];
		MiPattern  *p = mi_pattern_parse(big, MI_MAX_PATTERN_LEN, NULL, NULL,
										 err, sizeof(err));

		ok(p != NULL, "an identity of 1024 bytes is accepted");
		mi_pattern_free(p);
	}
	{
		char		err[256];
		MiPattern  *p = mi_pattern_parse("cn:~*a", 6, NULL, NULL, err, sizeof(err));

		ok(p != NULL, "without a regex callback a regex is not compiled");
		ok(p && !mi_pattern_match(p, &(MiCert) {.cn = "*a", .cn_len = 2}, NULL,
								  NULL, NULL, NULL),
		   "without a regex callback a regex never matches");
		mi_pattern_free(p);
	}
	{
		char		err[256];
		MiPattern  *p = parse("uri:spiffe://x/{role}", err, sizeof(err));

		ok(p && mi_pattern_has_role(p) && mi_pattern_kind(p) == MI_KIND_URI,
		   "has_role and kind of uri:spiffe://x/{role}");
		mi_pattern_free(p);
		p = parse("email:a@b.c", err, sizeof(err));
		ok(p && !mi_pattern_has_role(p) && mi_pattern_kind(p) == MI_KIND_EMAIL,
		   "has_role and kind of email:a@b.c");
		mi_pattern_free(p);
	}
}

/* is s valid UTF-8? */
static bool
valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	while (*p)
	{
		int			n = *p < 0x80 ? 0 : *p >= 0xF0 ? 3 : *p >= 0xE0 ? 2 : *p >= 0xC0 ? 1 : -1;

		if (n < 0)
			return false;
		p++;
		for (; n > 0; n--, p++)
			if ((*p & 0xC0) != 0x80)
				return false;
	}
	return true;
}

static void
test_messages_utf8(void)
{
	char		kind[200] = "";
	char		text[220];
	char		err[256];
	char		small[64];

	for (int i = 0; i < 40; i++)
		strcat(kind, "\xc3\xa9");		/* 80 bytes of "é" */
	snprintf(text, sizeof(text), "%s:x", kind);
	ok(parse(text, err, sizeof(err)) == NULL && valid_utf8(err) &&
	   strstr(err, "unknown identity kind"),
	   "a long non-ASCII kind is quoted without cutting a character");
	{
		bool		all_valid = true;
		char		full[256];
		size_t		at;

		/* where the "é" is in the untruncated message */
		mi_pattern_parse("cn:\xc3\xa9{x}", 8, NULL, NULL, full, sizeof(full));
		at = (size_t) (strstr(full, "\xc3\xa9") - full);
		for (size_t n = 1; n <= sizeof(small); n++)
		{
			if (mi_pattern_parse("cn:\xc3\xa9{x}", 8, NULL, NULL, small, n) != NULL ||
				!valid_utf8(small))
				all_valid = false;
			/* room for the first byte of the "é" only: it is dropped */
			if (n == at + 2 && strlen(small) != at)
				all_valid = false;
		}
		ok(all_valid && at + 2 <= sizeof(small),
		   "error messages truncated at any length stay valid UTF-8");
	}
	ok(valid_utf8(small), "last truncated message is valid UTF-8: %s", small);
}

static void
test_multi_san(void)
{
	MiSan		sans[5];
	MiCert		c;
	char		err[256];
	MiPattern  *p;
	int			idx = -5;

	memset(&c, 0, sizeof(c));
	memset(sans, 0, sizeof(sans));
	sans[0] = (MiSan) {.kind = MI_SAN_DNS, .value = "a.example.com", .len = 13};
	sans[1] = (MiSan) {.kind = MI_SAN_URI, .value = "spiffe://x/../y", .len = 15};
	sans[2] = (MiSan) {.kind = MI_SAN_URI, .value = "spiffe://x/y", .len = 12, .hostile = true};
	sans[3] = (MiSan) {.kind = MI_SAN_URI, .value = "spiffe://x/z", .len = 12};
	sans[4] = (MiSan) {.kind = MI_SAN_OTHER, .value = "spiffe://x/z", .len = 12};
	c.sans = sans;
	c.nsans = 5;
	c.subject_dn = "";

	p = parse("uri:spiffe://x/*", err, sizeof(err));
	ok(p && mi_pattern_match(p, &c, NULL, NULL, NULL, &idx) && idx == 3,
	   "the first matching SAN is reported (index 3)");
	mi_pattern_free(p);
	p = parse("uri:spiffe://x/y", err, sizeof(err));
	ok(p && !mi_pattern_match(p, &c, NULL, NULL, NULL, &idx) && idx == -1,
	   "a SAN flagged hostile by cert.c never matches");
	mi_pattern_free(p);
	p = parse("uri:~spiffe://x/y", err, sizeof(err));
	ok(p && !mi_pattern_match(p, &c, NULL, posix_regex_fn, NULL, &idx),
	   "a SAN flagged hostile by cert.c never matches a regex");
	mi_pattern_free(p);

	ok(mi_san_wellformed(&sans[0]), "wellformed: a.example.com");
	ok(!mi_san_wellformed(&sans[1]), "not wellformed: URI with ..");
	ok(!mi_san_wellformed(&sans[2]), "not wellformed: flagged hostile");
	ok(mi_san_wellformed(&sans[3]), "wellformed: spiffe://x/z");
	ok(!mi_san_wellformed(&sans[4]), "not wellformed: other SAN kind");
	ok(!mi_san_wellformed(&(MiSan) {.kind = MI_SAN_IP, .iplen = 0}),
	   "not wellformed: IP SAN of length 0");
	ok(mi_san_wellformed(&(MiSan) {.kind = MI_SAN_IP, .iplen = 16}),
	   "wellformed: IP SAN of length 16");
	ok(!mi_san_wellformed(&(MiSan) {.kind = MI_SAN_DNS, .value = NULL}),
	   "not wellformed: NULL value");
}

/* many huge SANs: linear time, regex compiled once per call */
static void
test_big(void)
{
	int			n = MI_MAX_SANS;
	int			vlen = MI_MAX_VALUE_LEN;
	MiSan	   *sans = calloc(n, sizeof(MiSan));
	MiCert		c;
	char		err[256];
	MiPattern  *p;
	int			idx;
	clock_t		t0 = clock();
	char	   *role = malloc(2000);
	char	   *pat;

	memset(&c, 0, sizeof(c));
	for (int i = 0; i < n; i++)
	{
		char	   *v = malloc(vlen + 1);

		memcpy(v, "spiffe://example.org", 20);
		for (int k = 20; k < vlen; k += 2)
		{
			v[k] = '/';
			v[k + 1] = 'a';
		}
		v[vlen] = '\0';
		if (i == n - 1)
			v[vlen - 1] = 'b';
		sans[i].kind = MI_SAN_URI;
		sans[i].value = v;
		sans[i].len = vlen;
	}
	c.sans = sans;
	c.nsans = n;
	c.subject_dn = "";

	p = parse("uri:spiffe://example.org/a/**", err, sizeof(err));
	ok(p && mi_pattern_match(p, &c, NULL, NULL, NULL, &idx) && idx == 0,
	   "a /** pattern matches a 4096-byte SAN");
	mi_pattern_free(p);

	/* a pattern of 511 segments matching none of 4096 SANs until the last */
	pat = malloc(MI_MAX_PATTERN_LEN + 1);
	strcpy(pat, "uri:spiffe://example.org");
	while (strlen(pat) + 2 <= MI_MAX_PATTERN_LEN - 3)
		strcat(pat, "/*");
	strcat(pat, "/**");
	p = parse(pat, err, sizeof(err));
	ok(p && mi_pattern_match(p, &c, NULL, NULL, NULL, &idx) && idx == 0,
	   "a pattern of many * segments matches");
	mi_pattern_free(p);

	memset(role, 'a', 1999);
	role[1999] = '\0';
	p = parse("uri:spiffe://example.org/{role}/b", err, sizeof(err));
	ok(p && !mi_pattern_match(p, &c, role, NULL, NULL, &idx),
	   "a long role against 4096 big SANs does not match");
	mi_pattern_free(p);
	p = parse("uri:spiffe://example.org/**/b", err, sizeof(err));
	ok(p == NULL, "/**/b is refused");

	regex_calls = 0;
	p = parse("uri:~spiffe://example\\.org(/a)*/b", err, sizeof(err));
	ok(p && mi_pattern_match(p, &c, NULL, posix_regex_fn, NULL, &idx) &&
	   idx == n - 1 && regex_calls == 2 + n,
	   "a regex is compiled twice (alone, anchored) and runs once per URI SAN (%d calls)",
	   regex_calls);
	mi_pattern_free(p);

	ok((double) (clock() - t0) / CLOCKS_PER_SEC < 20.0,
	   "4096 SANs of 4096 bytes take little time (%.2fs)",
	   (double) (clock() - t0) / CLOCKS_PER_SEC);
	for (int i = 0; i < n; i++)
		free(sans[i].value);
	free(sans);
	free(role);
	free(pat);
}

static void
issuer_norm(const char *in, const char *want)
{
	char		err[256];
	char	   *out = mi_issuer_normalize(in, strlen(in), err, sizeof(err));

	if (want == NULL)
		ok(out == NULL, "issuer %s refused (%s)", in, err);
	else
		ok(out != NULL && strcmp(out, want) == 0, "issuer %s normalized to %s",
		   in, out ? out : err);
	free(out);
}

static void
test_issuer(void)
{
	MiChainEntry chain[2];
	MiCert		c;
	char		big[1100];
	char		err[256];

	issuer_norm("sha256:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
				"sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	issuer_norm("SHA256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
				"sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	issuer_norm("CN=Client CA,O=Example", "CN=Client CA,O=Example");
	issuer_norm("CN=Client CA, O=Example", "CN=Client CA, O=Example");
	issuer_norm("", NULL);
	issuer_norm("Client CA", NULL);
	issuer_norm("CN=a\tb", NULL);
	issuer_norm("sha256:abcd", NULL);
	issuer_norm("sha256:", NULL);
	memset(big, 'a', sizeof(big));
	memcpy(big, "CN=", 3);
	ok(mi_issuer_normalize(big, 1025, err, sizeof(err)) == NULL &&
	   strstr(err, "too long"), "an issuer of 1025 bytes is refused");
	{
		char	   *s = mi_issuer_normalize(big, 1024, err, sizeof(err));

		ok(s != NULL, "an issuer of 1024 bytes is accepted");
		free(s);
	}

	memset(&c, 0, sizeof(c));
	memset(chain, 0, sizeof(chain));
	chain[0].subject_dn = "CN=Intermediate CA,O=Example";
	for (int i = 0; i < 32; i++)
		chain[0].sha256[i] = (unsigned char) (0x11 * (i % 16));
	chain[0].has_sha256 = true;
	chain[1].subject_dn = "CN=Root CA,O=Example";
	chain[1].has_sha256 = false;
	c.chain = chain;
	c.nchain = 2;

	ok(mi_issuer_match("CN=Intermediate CA,O=Example", &c), "DN pin of the intermediate matches");
	ok(mi_issuer_match("CN=Root CA,O=Example", &c), "DN pin of the root matches");
	ok(!mi_issuer_match("CN=Other CA,O=Example", &c), "DN pin of another CA does not match");
	ok(!mi_issuer_match("cn=root ca,o=example", &c), "DN pins compare bytes");
	ok(!mi_issuer_match("CN=Root CA", &c), "DN pins are not prefixes");
	ok(mi_issuer_match("sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", &c),
	   "sha256 pin of the intermediate matches");
	ok(!mi_issuer_match("sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeef0", &c),
	   "another sha256 pin does not match");
	ok(!mi_issuer_match("sha256:0000000000000000000000000000000000000000000000000000000000000000", &c),
	   "a zero sha256 pin does not match an entry without fingerprint");
	ok(!mi_issuer_match(NULL, &c), "a NULL pin does not match");
	/* a pin written by hand, in a spelling mi_issuer_normalize accepts */
	ok(mi_issuer_match("SHA256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF", &c),
	   "a hand-written SHA256:AA:BB:... pin matches like its normalized form");
	ok(mi_issuer_same("SHA256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
					  "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
	   "mi_issuer_same: sha256 pins in two spellings");
	ok(!mi_issuer_same("CN=Root CA,O=Example", "cn=root ca,o=example"),
	   "mi_issuer_same: DN pins compare as written");
	ok(mi_issuer_same(NULL, NULL) && !mi_issuer_same(NULL, "CN=a"),
	   "mi_issuer_same: no pin is only the same as no pin");
	c.nchain = 0;
	ok(!mi_issuer_match("CN=Root CA,O=Example", &c), "no chain, no match");
}

/* the exact-binding prefilter: may a binding match a two-SAN certificate? */
static bool
may(const char *identity)
{
	MiCert		c;
	MiSan		sans[4];
	MiSanIndex *ix;
	bool		r;

	memset(&c, 0, sizeof(c));
	memset(sans, 0, sizeof(sans));
	sans[0].kind = U;
	sans[0].value = "spiffe://example.org/ns/prod/sa/billing";
	sans[0].len = (int) strlen(sans[0].value);
	sans[1].kind = D;
	sans[1].value = "Db.Example.COM.";
	sans[1].len = (int) strlen(sans[1].value);
	sans[2].kind = U;			/* hostile: never indexed */
	sans[2].value = "spiffe://example.org/ns/x/../sa/y";
	sans[2].len = (int) strlen(sans[2].value);
	sans[3].kind = D;			/* flagged hostile by cert.c */
	sans[3].value = "evil.example.com";
	sans[3].len = (int) strlen(sans[3].value);
	sans[3].hostile = true;
	c.sans = sans;
	c.nsans = 4;
	c.subject_dn = "";
	ix = mi_san_index_build(&c);
	r = mi_san_index_may_match(ix, identity, strlen(identity));
	mi_san_index_free(ix);
	return r;
}

/* a plain URI literal, the slow way (the rules of uri_wellformed, no * { }) */
static bool
naive_uri_literal(const char *v, size_t len)
{
	size_t		i = 0;
	size_t		start;

	for (size_t k = 0; k < len; k++)
	{
		unsigned char c = (unsigned char) v[k];

		if (c <= 0x20 || c >= 0x7f || strchr("%?#*{}", c) != NULL)
			return false;
	}
	if (len == 0 || !isalpha((unsigned char) v[0]))
		return false;
	while (i < len && (isalnum((unsigned char) v[i]) || v[i] == '+' || v[i] == '.' || v[i] == '-'))
		i++;
	if (len - i < 3 || memcmp(v + i, "://", 3) != 0)
		return false;
	i += 3;
	start = i;
	while (i < len && v[i] != '/')
		i++;
	if (i == start)
		return false;
	while (i < len)
	{
		start = ++i;
		while (i < len && v[i] != '/')
			i++;
		if (i == start || (i - start == 1 && v[start] == '.') ||
			(i - start == 2 && v[start] == '.' && v[start + 1] == '.'))
			return false;
	}
	return true;
}

/* the fast literal check agrees with the slow one on many strings */
static void
test_literal_differential(void)
{
	static const char alphabet[] = "ab:/./.%?#*{}~ \x7f\x80\x01AZ09+-_";
	const char *prefixes[] = {"", "s://", "spiffe://", "spiffe://h", "spiffe://h/", "x-1.+://a/"};
	unsigned	seed = 12345;
	int			disagree = 0;
	int			plain = 0;
	char		id[80];

	for (int n = 0; n < 200000; n++)
	{
		const char *pre = prefixes[n % 6];
		size_t		plen = strlen(pre);
		size_t		len = (seed = seed * 1103515245 + 12345) >> 16 & 31;

		memcpy(id, "uri:", 4);
		memcpy(id + 4, pre, plen);
		for (size_t k = 0; k < len; k++)
		{
			seed = seed * 1103515245 + 12345;
			id[4 + plen + k] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		len += plen;
		if ((mi_identity_literal(id, len + 4) == MI_LITERAL_URI) !=
			naive_uri_literal(id + 4, len))
		{
			if (disagree < 5)
			{
				printf("# disagree (fast %d): '", mi_identity_literal(id, len + 4) == MI_LITERAL_URI);
				for (size_t k = 0; k < len + 4; k++)
					printf(isprint((unsigned char) id[k]) ? "%c" : "\\x%02x", (unsigned char) id[k]);
				printf("'\n");
			}
			disagree++;
		}
		else if (naive_uri_literal(id + 4, len))
			plain++;
	}
	ok(disagree == 0, "the URI literal check agrees with a naive one on 200000 strings (%d disagree)", disagree);
	ok(plain > 1000, "... of which %d are plain literals", plain);
}

static void
test_prefilter(void)
{
	MiCert		none;
	MiSanIndex *ix;

	ok(may("uri:spiffe://example.org/ns/prod/sa/billing"), "prefilter: the exact URI is kept");
	ok(!may("uri:spiffe://example.org/ns/prod/sa/billin"), "prefilter: a shorter URI is left out");
	ok(!may("uri:spiffe://example.org/ns/prod/sa/Billing"), "prefilter: URIs compare byte for byte");
	ok(!may("uri:SPIFFE://example.org/ns/prod/sa/billing"), "prefilter: the scheme compares byte for byte");
	ok(may("dns:db.example.com"), "prefilter: DNS is case-insensitive, trailing dot ignored");
	ok(may("dns:DB.EXAMPLE.COM."), "prefilter: DNS pattern with trailing dot");
	ok(!may("dns:db.example.co"), "prefilter: another DNS name is left out");
	ok(!may("dns:evil.example.com"), "prefilter: a hostile SAN is not indexed");
	ok(may("uri:spiffe://example.org/ns/x/../sa/y"),
	   "prefilter: a literal that is not a well-formed SAN is compiled (the parser refuses it)");
	ok(may("uri:spiffe://example.org/ns/*/sa/other"), "prefilter: a wildcard is compiled");
	ok(may("uri:spiffe://example.org/**"), "prefilter: ** is compiled");
	ok(may("uri:~spiffe://.*"), "prefilter: a regex is compiled");
	ok(may("uri:spiffe://example.org/ns/prod/sa/{role}"), "prefilter: {role} is compiled");
	ok(may("uri:spiffe://example.org/ns/prod/sa/}"), "prefilter: a stray brace is compiled");
	ok(may("dns:*.example.com"), "prefilter: a DNS wildcard is compiled");
	ok(may("email:a@example.com"), "prefilter: other kinds are compiled");
	ok(may("ip:10.0.0.1"), "prefilter: ip is compiled");
	ok(may("cn:billing"), "prefilter: cn is compiled");
	ok(may("sha256:00"), "prefilter: sha256 is compiled");
	ok(may("uri:"), "prefilter: an empty body is the parser's business");
	ok(may("ur"), "prefilter: garbage is the parser's business");
	ok(mi_san_index_may_match(NULL, "uri:a://b", 9), "prefilter: no index, everything is compiled");

	memset(&none, 0, sizeof(none));
	ix = mi_san_index_build(&none);
	ok(!mi_san_index_may_match(ix, "uri:a://b", 9), "prefilter: no SAN, an exact URI cannot match");
	ok(!mi_san_index_may_match(ix, "dns:a.b", 7), "prefilter: no SAN, an exact DNS name cannot match");
	mi_san_index_free(ix);
}

int
main(void)
{
	test_prefilter();
	test_literal_differential();
	test_uri();
	test_dns();
	test_email();
	test_ip();
	test_subject();
	test_regex_rules();
	test_identity_key();
	test_dns_role_case();
	test_sha256();
	test_parse_errors();
	test_messages_utf8();
	test_multi_san();
	test_issuer();
	test_big();
	done_testing();
}

/*-------------------------------------------------------------------------
 *
 * test_decision.c
 *		Unit tests of decision.c (the login rules of SPEC section 4) and of
 *		cert_serial.c (the bounded form of a certificate in shared memory).
 *
 * Certificates are built by hand as MiCert structs; the regex callback is
 * POSIX regex (see regex_posix.h).
 *
 *-------------------------------------------------------------------------
 */
#include "mi_alloc.h"

#include "cert_serial.h"
#include "decision.h"
#include "pattern.h"
#include "regex_posix.h"
#include "tap.h"

#define NOW INT64_C(1800000000)

static MiSan sans_store[8];

static MiCert
make_cert(const char *uri, const char *dns)
{
	MiCert		c;
	int			n = 0;

	memset(&c, 0, sizeof(c));
	memset(sans_store, 0, sizeof(sans_store));
	if (uri)
	{
		sans_store[n].kind = MI_SAN_URI;
		sans_store[n].value = (char *) uri;
		sans_store[n].len = (int) strlen(uri);
		n++;
	}
	if (dns)
	{
		sans_store[n].kind = MI_SAN_DNS;
		sans_store[n].value = (char *) dns;
		sans_store[n].len = (int) strlen(dns);
		n++;
	}
	c.sans = sans_store;
	c.nsans = n;
	c.subject_dn = (char *) "";
	c.issuer_dn = (char *) "CN=Client CA";
	c.serial_hex = (char *) "0A";
	c.not_before = NOW - 3600;
	c.not_after = NOW + 3600;
	return c;
}

static MiRule rules_store[4];

static MiRuleSet
make_rules(const char *identity, const char *issuer)
{
	MiRuleSet	rs;
	char		err[256];

	memset(&rs, 0, sizeof(rs));
	memset(rules_store, 0, sizeof(rules_store));
	if (identity)
	{
		rules_store[0].pattern = mi_pattern_parse(identity, strlen(identity),
												  posix_regex_fn, NULL, err, sizeof(err));
		rules_store[0].issuer = issuer;
		rs.rules = rules_store;
		rs.nrules = 1;
	}
	return rs;
}

static MiReason
decide(const MiCert *cert, const MiRuleSet *rs, bool trust, bool local,
	   bool revoked, MiDecision *d)
{
	MiDecisionInput in;

	memset(&in, 0, sizeof(in));
	in.cert = cert;
	in.role = "billing";
	in.rules = rs;
	in.method_is_trust = trust;
	in.local_socket = local;
	in.exempt_local = true;
	in.require_client_auth_eku = true;
	in.revoked = revoked;
	in.now = NOW;
	in.regex_fn = posix_regex_fn;
	mi_decide(&in, d);
	return d->reason;
}

static void
test_rules(void)
{
	MiCert		c = make_cert("spiffe://example.org/ns/prod/sa/billing", NULL);
	MiRuleSet	none = make_rules(NULL, NULL);
	MiRuleSet	rs;
	MiDecision	d;

	/* rule 1, no binding */
	ok(decide(&c, &none, true, false, false, &d) == MI_REASON_NO_BINDING && d.governed,
	   "certificate, trust, no binding: no_binding");
	ok(decide(&c, &none, false, false, false, &d) == MI_REASON_OK && !d.governed,
	   "certificate, other method, no binding: PostgreSQL decides");

	/* rule 2, no certificate */
	ok(decide(NULL, &none, true, false, false, &d) == MI_REASON_OK && !d.governed,
	   "no certificate, unbound role: not governed");
	rs = make_rules("uri:spiffe://example.org/ns/*/sa/billing", NULL);
	ok(decide(NULL, &rs, true, false, false, &d) == MI_REASON_NO_CERTIFICATE,
	   "no certificate, bound role over TCP: no_certificate");
	ok(decide(NULL, &rs, true, true, false, &d) == MI_REASON_OK && d.governed,
	   "no certificate, bound role over a Unix socket with exempt_local: allowed");

	/* rule 1, matching */
	ok(decide(&c, &rs, true, false, false, &d) == MI_REASON_OK &&
	   d.identity && strcmp(d.identity, "uri:spiffe://example.org/ns/prod/sa/billing") == 0 &&
	   d.matched_san == 0,
	   "matching certificate: ok, identity is the typed SAN");
	ok(decide(&c, &rs, false, false, false, &d) == MI_REASON_OK,
	   "bound role under another method: the binding still decides (match)");
	mi_free(d.identity);
	{
		MiCert		other = make_cert("spiffe://example.org/ns/prod/sa/other", NULL);

		ok(decide(&other, &rs, true, false, false, &d) == MI_REASON_NO_MATCH,
		   "non-matching certificate: no_match");
		ok(decide(&other, &rs, false, false, false, &d) == MI_REASON_NO_MATCH,
		   "non-matching certificate under another method: no_match");
	}
	c = make_cert("spiffe://example.org/ns/prod/sa/billing", NULL);
	rs = make_rules("uri:spiffe://example.org/ns/*/sa/billing", "CN=Other CA");
	ok(decide(&c, &rs, true, false, false, &d) == MI_REASON_ISSUER_MISMATCH,
	   "pattern matches, issuer pin does not: issuer_mismatch");

	/* rule 3, in order */
	rs = make_rules("uri:spiffe://example.org/ns/*/sa/billing", NULL);
	ok(decide(&c, &rs, true, false, true, &d) == MI_REASON_REVOKED, "revoked");
	rs.has_cutoff = true;
	rs.cutoff_unix = c.not_before + 1;
	ok(decide(&c, &rs, true, false, false, &d) == MI_REASON_ISSUED_BEFORE_CUTOFF,
	   "notBefore before the role's cutoff: issued_before_cutoff");
	rs.cutoff_unix = c.not_before;
	ok(decide(&c, &rs, true, false, false, &d) == MI_REASON_OK,
	   "notBefore equal to the cutoff: allowed");
	rs.has_cutoff = false;
	rules_store[0].has_cutoff = true;
	rules_store[0].cutoff_unix = c.not_before + 1;
	ok(decide(&c, &rs, true, false, false, &d) == MI_REASON_ISSUED_BEFORE_CUTOFF,
	   "the binding's own role cutoff applies too");
	rules_store[0].has_cutoff = false;
	c.not_after = NOW - 1;
	ok(decide(&c, &rs, true, false, false, &d) == MI_REASON_EXPIRED, "expired");
	c.not_after = NOW;
	ok(decide(&c, &rs, true, false, false, &d) == MI_REASON_OK, "notAfter is inclusive");
	c.not_before = NOW + 1;
	c.not_after = NOW + 3600;
	ok(decide(&c, &rs, true, false, false, &d) == MI_REASON_EXPIRED, "not yet valid: expired");
	c.not_before = NOW - 3600;
	c.has_eku = true;
	c.eku_client_auth = false;
	ok(decide(&c, &rs, true, false, false, &d) == MI_REASON_NOT_CLIENT_AUTH,
	   "EKU without clientAuth: not_client_auth");
	c.eku_client_auth = true;
	ok(decide(&c, &rs, true, false, false, &d) == MI_REASON_OK, "EKU with clientAuth: ok");
	ok(decide(&c, &rs, true, false, true, &d) == MI_REASON_REVOKED,
	   "revocation is checked before everything else of rule 3");
	{
		MiDecisionInput in;

		memset(&in, 0, sizeof(in));
		in.cert = &c;
		in.role = "billing";
		in.rules = &rs;
		in.method_is_trust = true;
		in.max_lifetime = 3600;
		in.now = NOW;
		in.regex_fn = posix_regex_fn;
		mi_decide(&in, &d);
		ok(d.reason == MI_REASON_LIFETIME_TOO_LONG, "lifetime over the maximum: lifetime_too_long");
		in.max_lifetime = 7200;
		mi_decide(&in, &d);
		ok(d.reason == MI_REASON_OK, "lifetime equal to the maximum: ok");
	}
	ok(strcmp(mi_reason_name(MI_REASON_ISSUED_BEFORE_CUTOFF), "issued_before_cutoff") == 0 &&
	   strcmp(mi_reason_name(MI_NUM_REASONS), "unknown") == 0, "reason names");
}

static void
test_serial(void)
{
	MiCert		c;
	MiCert		r;
	MiSan		many[300];
	char		vals[300][32];
	char	   *buf = mi_alloc0(32768);
	size_t		len;
	bool		order = true;

	memset(&c, 0, sizeof(c));
	for (int i = 0; i < 300; i++)
	{
		memset(&many[i], 0, sizeof(MiSan));
		snprintf(vals[i], sizeof(vals[i]), "host-%d.example.com", i);
		many[i].kind = MI_SAN_DNS;
		many[i].value = vals[i];
		many[i].len = (int) strlen(vals[i]);
	}
	c.sans = many;
	c.nsans = 300;
	c.subject_dn = (char *) "CN=x";
	c.issuer_dn = (char *) "CN=ca";
	c.serial_hex = (char *) "01";
	c.not_before = 1;
	c.not_after = 2;
	c.has_eku = true;
	c.eku_client_auth = true;

	len = mi_cert_serialize(&c, 150, buf, 32768);
	ok(mi_cert_deserialize(buf, len, &r), "300 SANs: round trip");
	for (int i = 0; i < r.nsans && i < 300; i++)
		if (strcmp(r.sans[i].value, vals[i]) != 0)
			order = false;
	ok(r.nsans == 300 && order && !r.sans_truncated,
	   "300 SANs kept in certificate order, not truncated");
	ok(strcmp(r.subject_dn, "CN=x") == 0 && r.not_after == 2 && r.has_eku &&
	   r.eku_client_auth && r.cn == NULL, "fields survive the round trip");
	mi_cert_free(&r);

	/* a small buffer: truncated, in order, and the priority SAN survives */
	len = mi_cert_serialize(&c, 299, buf, 2048);
	ok(len <= 2048 && mi_cert_deserialize(buf, len, &r), "small buffer: fits");
	order = true;
	for (int i = 0; i + 1 < r.nsans; i++)
		if (strcmp(r.sans[i].value, vals[i]) != 0)
			order = false;
	ok(r.sans_truncated && r.nsans > 1 && r.nsans < 300 && order &&
	   strcmp(r.sans[r.nsans - 1].value, vals[299]) == 0,
	   "small buffer: truncated, in order, matched SAN kept (%d SANs)", r.nsans);
	mi_cert_free(&r);

	/* huge names in a small buffer: cut, and everything after them still there */
	{
		char	   *dn = mi_alloc0(20001);

		memset(dn, 'a', 20000);
		c.subject_dn = dn;
		c.issuer_dn = dn;
		len = mi_cert_serialize(&c, 10, buf, 4096);
		ok(len > 0 && len <= 4096 && mi_cert_deserialize(buf, len, &r),
		   "20 kB names in a 4 kB buffer: fits and reads back");
		bool		kept = false;

		for (int i = 0; i < r.nsans; i++)
			if (strcmp(r.sans[i].value, vals[10]) == 0)
				kept = true;
		ok(r.sans_truncated && strlen(r.subject_dn) < 4096 && r.not_after == 2 &&
		   r.nsans < 300 && kept,
		   "names cut, flagged, validity and the matched SAN kept");
		mi_cert_free(&r);

		/*
		 * The smallest buffer (a session slot without overflow memory, an
		 * auth_log event): the issuer gets twice the subject's share, cut
		 * names end in "...", a cut CN can never match.
		 */
		{
			char	   *iss = mi_alloc0(301);

			memset(iss, 'i', 300);
			c.issuer_dn = iss;
			c.cn = dn;
			c.cn_len = 20000;
			len = mi_cert_serialize(&c, 10, buf, MI_SER_MIN_CAP);
			ok(len > 0 && len <= MI_SER_MIN_CAP && mi_cert_deserialize(buf, len, &r),
			   "1 kB buffer: fits and reads back");
			ok(strcmp(r.issuer_dn, iss) == 0,
			   "1 kB buffer: a 300-byte issuer is kept whole (revocation looks it up)");
			ok(strlen(r.subject_dn) == (MI_SER_MIN_CAP - 128) / 5 &&
			   strcmp(r.subject_dn + strlen(r.subject_dn) - 3, "...") == 0,
			   "1 kB buffer: the subject is cut at a fifth and ends in ...");
			ok(r.cn != NULL && r.cn_hostile && r.sans_truncated,
			   "1 kB buffer: the cut CN is hostile, the certificate flagged");
			mi_cert_free(&r);
			c.cn = NULL;
			c.cn_len = 0;
			mi_free(iss);
		}
		ok(mi_cert_serialize(&c, -1, buf, 100) == 0, "a buffer below the minimum gives 0");
		c.subject_dn = (char *) "CN=x";
		c.issuer_dn = (char *) "CN=ca";
		mi_free(dn);
	}

	ok(!mi_cert_deserialize(buf, 10, &r), "a cut buffer is refused");
	buf[0] ^= 0x55;
	ok(!mi_cert_deserialize(buf, len, &r), "a wrong magic is refused");
	mi_free(buf);
}

int
main(void)
{
	test_rules();
	test_serial();
	done_testing();
}

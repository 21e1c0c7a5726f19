# Identities and matching (SPEC section 3, doc/matching.md): every kind of
# binding and every pattern form lets the right certificate log in, with
# the right identity, and refuses the wrong one; {role} templates on
# groups; issuer pins.  Real TLS connections through the recommended
# "hostssl ... trust clientcert=verify-ca" line.

use strict;
use warnings FATAL => 'all';

use Digest::SHA qw(sha256_hex);
use MIME::Base64 qw(decode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;

# Minted certificates expire within days: no expiry WARNING on stderr.
my $node = new_node('login', conf => "mtls_ident.expiry_warning = 0\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

# --- helpers -----------------------------------------------------------------

# helpers in MtlsTest.pm: bind_role, cert_accepted, cert_refused
sub role_with { bind_role($node, @_); return; }

# $cert logs in as $role; the session's identity is $identity.
sub accepts { local $Test::Builder::Level = $Test::Builder::Level + 1; cert_accepted($node, @_); return; }

# $cert is refused as $role, for $reason (in the server log only).
sub refuses { local $Test::Builder::Level = $Test::Builder::Level + 1; cert_refused($node, @_); return; }

# SHA-256 of a CA certificate in certs/ (CAs have no .leaf.crt).
sub ca_fingerprint
{
	my ($name) = @_;
	my $pem = slurp_file(pki_dir() . "/$name.crt");
	$pem =~ /-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----/s
	  or die "no certificate in $name.crt";
	return sha256_hex(decode_base64($1));
}

# "AB:CD:..." as openssl x509 -fingerprint prints it
sub colon_upper
{
	my ($hex) = @_;
	return join ':', map { uc } unpack('(A2)*', $hex);
}

my $billing_uri = 'spiffe://example.org/ns/prod/sa/billing';

# --- uri ---------------------------------------------------------------------

role_with('uri_exact', "uri:$billing_uri");
accepts('spiffe_billing', 'uri_exact', "uri:$billing_uri",
	'uri exact: the same URI logs in');
refuses('spiffe_billing_staging', 'uri_exact', 'no_match',
	'uri exact: another namespace is refused');
refuses('spiffe_deep', 'uri_exact', 'no_match',
	'uri exact: a longer path is refused');
refuses('spiffe_other', 'uri_exact', 'no_match',
	'uri exact: another trust domain is refused');

role_with('uri_star', 'uri:spiffe://example.org/ns/*/sa/billing');
accepts('spiffe_billing', 'uri_star', "uri:$billing_uri",
	'uri "*": matches the prod segment');
accepts(
	'spiffe_billing_staging', 'uri_star',
	'uri:spiffe://example.org/ns/staging/sa/billing',
	'uri "*": matches the staging segment');
refuses('spiffe_deep', 'uri_star', 'no_match',
	'uri "*": a path with extra segments is refused');
refuses('spiffe_other', 'uri_star', 'no_match',
	'uri "*": the trust domain is compared exactly');
refuses('spiffe_dave', 'uri_star', 'no_match',
	'uri "*": the segments around it still have to match');

role_with('uri_star_tail', "uri:$billing_uri/*");
refuses('spiffe_deep', 'uri_star_tail', 'no_match',
	'uri final "*": matches exactly one segment, not two');
refuses('spiffe_billing', 'uri_star_tail', 'no_match',
	'uri final "*": needs a segment');

role_with('uri_tail', "uri:$billing_uri/**");
accepts(
	'spiffe_deep', 'uri_tail',
	"uri:$billing_uri/extra/deep",
	'uri final "/**": matches two more segments');
refuses('spiffe_billing', 'uri_tail', 'no_match',
	'uri final "/**": needs at least one more segment');
refuses('spiffe_dave', 'uri_tail', 'no_match',
	'uri final "/**": the prefix must match');

role_with('uri_domain_tail', 'uri:spiffe://example.org/**');
accepts('spiffe_billing', 'uri_domain_tail', "uri:$billing_uri",
	'uri "scheme://authority/**" matches any path in that trust domain');
refuses('spiffe_other', 'uri_domain_tail', 'no_match',
	'uri "scheme://authority/**" does not match another trust domain');

# --- dns ---------------------------------------------------------------------

role_with('dns_exact', 'dns:db.example.com');
accepts('dns_db', 'dns_exact', 'dns:db.example.com', 'dns exact');
accepts('dns_upper', 'dns_exact', 'dns:DB.Example.COM.',
	'dns exact: case-insensitive, trailing dot ignored');
refuses('dns_sub', 'dns_exact', 'no_match',
	'dns exact: a subdomain is refused');

role_with('dns_dot', 'dns:DB.example.com.');
accepts('dns_db', 'dns_dot', 'dns:db.example.com',
	'dns exact: the pattern\'s own case and trailing dot are ignored too');

role_with('dns_wild', 'dns:*.db.example.com');
accepts('dns_sub', 'dns_wild', 'dns:a.db.example.com',
	'dns "*.": matches one label');
refuses('dns_subsub', 'dns_wild', 'no_match',
	'dns "*.": does not match two labels');
refuses('dns_db', 'dns_wild', 'no_match',
	'dns "*.": does not match the bare domain');

# --- email -------------------------------------------------------------------

role_with('email_exact', 'email:dave@example.com');
accepts('email_dave', 'email_exact', 'email:dave@example.com', 'email exact');
accepts('email_dave_upperdomain', 'email_exact', 'email:dave@EXAMPLE.COM',
	'email: the domain is compared case-insensitively');
refuses('email_dave_upperlocal', 'email_exact', 'no_match',
	'email: the local part is exact');
refuses('email_eve', 'email_exact', 'no_match',
	'email exact: another local part is refused');
refuses('email_in_dn', 'email_exact', 'no_match',
	'email: an emailAddress in the subject DN is not an rfc822Name SAN');

role_with('email_upper_local', 'email:Dave@example.com');
refuses('email_dave', 'email_upper_local', 'no_match',
	'email: pattern Dave@ does not match dave@');

role_with('email_wild', 'email:*@example.com');
accepts('email_eve', 'email_wild', 'email:eve@example.com',
	'email "*@domain": any local part');
accepts('email_dave_upperdomain', 'email_wild', 'email:dave@EXAMPLE.COM',
	'email "*@domain": domain case-insensitive');
refuses('email_dave_subdomain', 'email_wild', 'no_match',
	'email "*@domain": not a subdomain');

# --- ip ----------------------------------------------------------------------

role_with('ip4_exact', 'ip:10.1.2.3');
accepts('ip4', 'ip4_exact', 'ip:10.1.2.3', 'ip: IPv4 exact');
refuses('ip6', 'ip4_exact', 'no_match', 'ip: IPv4 exact vs an IPv6 SAN');

role_with('ip4_net', 'ip:10.0.0.0/8');
accepts('ip4', 'ip4_net', 'ip:10.1.2.3', 'ip: IPv4 CIDR contains the SAN');
role_with('ip4_othernet', 'ip:10.1.3.0/24');
refuses('ip4', 'ip4_othernet', 'no_match',
	'ip: IPv4 CIDR not containing the SAN');

role_with('ip4_all', 'ip:0.0.0.0/0');
accepts('ip4', 'ip4_all', 'ip:10.1.2.3', 'ip: 0.0.0.0/0 matches an IPv4 SAN');
refuses('ip6', 'ip4_all', 'no_match',
	'ip: 0.0.0.0/0 never matches an IPv6 SAN');

role_with('ip6_exact', 'ip:2001:db8::1');
accepts('ip6', 'ip6_exact', 'ip:2001:db8::1', 'ip: IPv6 exact');
role_with('ip6_net', 'ip:2001:db8::/32');
accepts('ip6', 'ip6_net', 'ip:2001:db8::1', 'ip: IPv6 CIDR contains the SAN');
role_with('ip6_othernet', 'ip:2001:db9::/32');
refuses('ip6', 'ip6_othernet', 'no_match',
	'ip: IPv6 CIDR not containing the SAN');
role_with('ip6_all', 'ip:::/0');
refuses('ip4', 'ip6_all', 'no_match', 'ip: ::/0 never matches an IPv4 SAN');
role_with('ip6_mapped', 'ip:::ffff:10.1.2.3');
refuses('ip4', 'ip6_mapped', 'no_match',
	'ip: an IPv4-mapped IPv6 pattern does not match the IPv4 SAN');

my $mapped = mint_cert(san => 'IP:::ffff:10.1.2.3', end_offset => 30 * 86400);
refuses($mapped, 'ip4_net', 'no_match',
	'ip: an IPv4 CIDR does not match an IPv4-mapped IPv6 SAN');
refuses($mapped, 'ip4_exact', 'no_match',
	'ip: an IPv4 address does not match the IPv4-mapped IPv6 SAN of it');
accepts($mapped, 'ip6_mapped', 'ip:::ffff:10.1.2.3',
	'ip: the IPv4-mapped IPv6 pattern matches the same IPv6 SAN');

# --- cn and dn ---------------------------------------------------------------

role_with('cn_exact', 'cn:legacy-app');
accepts('cn_legacy', 'cn_exact', 'cn:legacy-app', 'cn exact');
refuses('dn_alice', 'cn_exact', 'no_match', 'cn exact: another CN');
refuses('spiffe_billing', 'cn_exact', 'no_match',
	'cn exact: a certificate with an empty subject');
role_with('cn_prefix', 'cn:legacy');
refuses('cn_legacy', 'cn_prefix', 'no_match', 'cn: a prefix does not match');
role_with('cn_star', 'cn:*');
refuses('cn_legacy', 'cn_star', 'no_match', 'cn: "*" is an ordinary character');

my $alice_dn = 'CN=alice,OU=eng,O=Example';
role_with('dn_exact', "dn:$alice_dn");
accepts('dn_alice', 'dn_exact', "dn:$alice_dn", 'dn exact (RFC 2253 order)');
refuses('cn_legacy', 'dn_exact', 'no_match', 'dn exact: another subject');
role_with('dn_reversed', 'dn:O=Example,OU=eng,CN=alice');
refuses('dn_alice', 'dn_reversed', 'no_match',
	'dn: the reversed (non-RFC 2253) order does not match');
role_with('dn_cn_only', 'dn:CN=alice');
refuses('dn_alice', 'dn_cn_only', 'no_match',
	'dn: part of the DN does not match');

role_with('dn_escaped', 'dn:CN=Smith\, John,O=Example');
accepts('dn_comma', 'dn_escaped', 'dn:CN=Smith\, John,O=Example',
	'dn: RFC 2253 escaped comma');
role_with('dn_unescaped', 'dn:CN=Smith, John,O=Example');
refuses('dn_comma', 'dn_unescaped', 'no_match',
	'dn: the unescaped comma is another DN');

my $long_dn =
	'CN=a-rather-long-service-account-name.prod.example.com,'
  . 'OU=Platform Engineering and Operations,O=Example Corporation Worldwide';
role_with('dn_long', "dn:$long_dn");
accepts('dn_long', 'dn_long', "dn:$long_dn",
	'dn: a 125-byte subject matches in full');
role_with('dn_long63', 'dn:' . substr($long_dn, 0, 63));
refuses('dn_long', 'dn_long63', 'no_match',
	'dn: the first 63 bytes of the subject do not match');

# --- sha256 ------------------------------------------------------------------

my $fp = cert_fingerprint('spiffe_billing');
role_with('pinned', 'sha256:' . colon_upper($fp));
accepts('spiffe_billing', 'pinned', "sha256:$fp",
	'sha256 pin given with colons and upper case');
refuses('spiffe_billing_alt', 'pinned', 'no_match',
	'sha256 pin: another certificate with the same SAN is refused');
is( $node->safe_psql(
		'postgres',
		"SELECT identity FROM mtls_ident.bindings WHERE role = 'pinned'"),
	"sha256:$fp",
	'sha256 pin is stored lowercase without colons');
role_with('pinned_plain', 'sha256:' . cert_fingerprint('spiffe_billing_alt'));
accepts(
	'spiffe_billing_alt', 'pinned_plain',
	'sha256:' . cert_fingerprint('spiffe_billing_alt'),
	'sha256 pin given as plain lowercase hex');
refuses('spiffe_billing', 'pinned_plain', 'no_match',
	'sha256 pin of the alt certificate refuses the original');

# --- regular expressions -----------------------------------------------------

role_with('rx_alt', 'uri:~spiffe://example\.org/ns/(prod|staging)/sa/billing');
accepts('spiffe_billing', 'rx_alt', "uri:$billing_uri",
	'regex alternation: first branch');
accepts(
	'spiffe_billing_staging', 'rx_alt',
	'uri:spiffe://example.org/ns/staging/sa/billing',
	'regex alternation: second branch');
refuses('spiffe_deep', 'rx_alt', 'no_match',
	'regex: anchored at the end (a longer URI is refused)');

role_with('rx_prefix', 'uri:~spiffe://example\.org/ns/prod');
refuses('spiffe_billing', 'rx_prefix', 'no_match',
	'regex matching only a prefix is refused');
role_with('rx_substring', 'uri:~sa/billing');
refuses('spiffe_billing', 'rx_substring', 'no_match',
	'regex matching only a substring is refused');
role_with('rx_top_alt', 'uri:~nothing|spiffe://example\.org/ns/prod');
refuses('spiffe_billing', 'rx_top_alt', 'no_match',
	'regex: the anchors wrap a top-level alternation');

role_with('rx_dns', 'dns:~[a-z]+\.example\.com');
accepts('dns_db', 'rx_dns', 'dns:db.example.com', 'regex on a DNS SAN');
refuses('dns_sub', 'rx_dns', 'no_match',
	'regex on a DNS SAN: "." is escaped, one label only');

role_with('rx_dn', 'dn:~CN=alice,OU=[a-z]+,O=Example');
accepts('dn_alice', 'rx_dn', "dn:$alice_dn", 'regex on the subject DN');
role_with('rx_dn_part', 'dn:~alice');
refuses('dn_alice', 'rx_dn_part', 'no_match',
	'regex on the DN matching only part of it is refused');

role_with('rx_cn', 'cn:~legacy-.*');
accepts('cn_legacy', 'rx_cn', 'cn:legacy-app', 'regex on the subject CN');

# --- several SANs: which one matched is the identity -------------------------

role_with('multi_ip', 'ip:10.9.8.0/24');
accepts('multi_san', 'multi_ip', 'ip:10.9.8.7',
	'several SANs: the IP SAN matched');
role_with('multi_email', 'email:multi@example.com');
accepts('multi_san', 'multi_email', 'email:multi@example.com',
	'several SANs: the email SAN matched');
role_with('multi_ip6', 'ip:2001:db8::7');
accepts('multi_san', 'multi_ip6', 'ip:2001:db8::7',
	'several SANs: the IPv6 SAN matched');
role_with('many300', "uri:$billing_uri");
accepts('many_sans_300', 'many300', "uri:$billing_uri",
	'300 DNS SANs, then the matching URI');
role_with('two_bindings', 'dns:nothing.example.com',
	'uri:spiffe://example.org/ns/prod/sa/multi');
accepts('multi_san', 'two_bindings', 'uri:spiffe://example.org/ns/prod/sa/multi',
	'any binding of the role may match');

# --- {role} templates --------------------------------------------------------

# staff carries templates; dave is a direct member, eve a member of middle,
# a member of staff.
$node->safe_psql(
	'postgres', q{
	CREATE ROLE staff NOLOGIN;
	CREATE ROLE middle NOLOGIN IN ROLE staff;
	CREATE ROLE dave LOGIN IN ROLE staff;
	CREATE ROLE eve LOGIN IN ROLE middle;
	CREATE ROLE billing LOGIN;
	CREATE ROLE carol LOGIN;
	CREATE ROLE plaingroup NOLOGIN;
	GRANT plaingroup TO carol;
});
role_with('staff', 'email:{role}@example.com',
	'uri:spiffe://example.org/ns/prod/sa/{role}');
role_with('middle', "uri:$billing_uri");
role_with('plaingroup', "uri:$billing_uri", 'email:*@example.com');

accepts('email_dave', 'dave', 'email:dave@example.com',
	'{role} email template on a group: direct member');
accepts('spiffe_dave', 'dave', 'uri:spiffe://example.org/ns/prod/sa/dave',
	'{role} URI template on a group: direct member');
accepts('email_eve', 'eve', 'email:eve@example.com',
	'{role} template: indirect member (through a middle group)');
refuses('email_eve', 'dave', 'no_match',
	'{role} template: another member\'s certificate is refused');
refuses('email_dave', 'eve', 'no_match',
	'{role} template: another member\'s certificate is refused (indirect)');
refuses('spiffe_billing', 'billing', 'no_binding',
	'{role} template: a non-member gets nothing from it');
refuses('spiffe_billing', 'eve', 'no_match',
	'a binding without {role} on a middle group does not apply to members');
refuses('spiffe_billing', 'carol', 'no_binding',
	'bindings without {role} on a group do not apply to its members');
refuses('email_eve', 'carol', 'no_binding',
	'a wildcard binding on a group does not apply to its members');

# Role names are substituted as literals.
$node->safe_psql(
	'postgres', q{
	CREATE ROLE rxgroup NOLOGIN;
	CREATE ROLE rx_user LOGIN IN ROLE rxgroup;
	CREATE ROLE "bill.ng" LOGIN IN ROLE rxgroup;
	CREATE ROLE "b.*" LOGIN IN ROLE rxgroup;
	CREATE ROLE pathgroup NOLOGIN;
	CREATE ROLE prod LOGIN IN ROLE pathgroup;
	CREATE ROLE "a/b" LOGIN IN ROLE pathgroup;
	CREATE ROLE "*" LOGIN IN ROLE pathgroup;
	CREATE ROLE "prod/sa/billing" LOGIN IN ROLE pathgroup;
	CREATE ROLE dnsgroup NOLOGIN;
	CREATE ROLE db LOGIN IN ROLE dnsgroup;
	CREATE ROLE "a.db" LOGIN IN ROLE dnsgroup;
	CREATE ROLE "DB" LOGIN IN ROLE dnsgroup;
});
role_with('rxgroup', 'uri:~spiffe://example\.org/ns/prod/sa/{role}');
my $rx_cert = mint_cert(
	san        => 'URI:spiffe://example.org/ns/prod/sa/rx_user',
	end_offset => 30 * 86400);
accepts($rx_cert, 'rx_user', 'uri:spiffe://example.org/ns/prod/sa/rx_user',
	'{role} in a regex: member accepted');
refuses('spiffe_billing', 'bill.ng', 'no_match',
	'{role} in a regex: "." in the role name is a literal');
refuses('spiffe_billing', 'b.*', 'no_match',
	'{role} in a regex: ".*" in the role name is literal');

# A quantifier after {role} applies to the whole role name, never to its
# last character alone.
$node->safe_psql(
	'postgres', q{
	CREATE ROLE quantgroup NOLOGIN;
	CREATE ROLE tess LOGIN IN ROLE quantgroup;
});
role_with('quantgroup', 'uri:~spiffe://example\.org/ns/prod/sa/{role}?');
my $tess_cert = mint_cert(
	san        => 'URI:spiffe://example.org/ns/prod/sa/tess',
	end_offset => 30 * 86400);
my $tes_cert = mint_cert(
	san        => 'URI:spiffe://example.org/ns/prod/sa/tes',
	end_offset => 30 * 86400);
accepts($tess_cert, 'tess', 'uri:spiffe://example.org/ns/prod/sa/tess',
	'{role}? in a regex: the role name itself matches');
refuses($tes_cert, 'tess', 'no_match',
	'{role}? in a regex: "?" does not make the last letter of the role optional'
);

# A backslash before {role} cannot turn the role name into a regex escape
# ("\w", "\d", ...): either bind refuses the pattern, or it never matches
# another character.
$node->safe_psql(
	'postgres', q{
	CREATE ROLE escgroup NOLOGIN;
	CREATE ROLE w LOGIN IN ROLE escgroup;
});
{
	my ($ret) = $node->psql('postgres',
		q[SELECT mtls_ident.bind('escgroup', 'uri:~spiffe://example\.org/ns/prod/sa/x\{role}')]
	);
	my $xa_cert = mint_cert(
		san        => 'URI:spiffe://example.org/ns/prod/sa/xa',
		end_offset => 30 * 86400);
	my ($login) = $node->psql('postgres', 'SELECT 1',
		connstr      => client_connstr($node, $xa_cert, user => 'w'),
		extra_params => ['-w']);
	ok($ret != 0 || $login != 0,
		'"\{role}" in a regex: role "w" does not become the class \w');
}

role_with('pathgroup', 'uri:spiffe://example.org/ns/{role}/sa/billing',
	'uri:spiffe://example.org/ns/{role}');
accepts('spiffe_billing', 'prod', "uri:$billing_uri",
	'{role} as a URI segment: member accepted');
my $ab_cert = mint_cert(
	san        => 'URI:spiffe://example.org/ns/a/b/sa/billing',
	end_offset => 30 * 86400);
refuses($ab_cert, 'a/b', 'no_match',
	'{role} in a URI: a role name with "/" never matches');
refuses('spiffe_billing', 'prod/sa/billing', 'no_match',
	'{role} in a URI: a role name with "/" cannot span segments');
refuses('spiffe_billing', '*', 'no_match',
	'{role} in a URI: a role named "*" is not a wildcard');

role_with('dnsgroup', 'dns:{role}.example.com');
accepts('dns_db', 'db', 'dns:db.example.com', '{role} as a DNS label');
accepts('dns_upper', 'db', 'dns:DB.Example.COM.',
	'{role} as a DNS label: the SAN compared case-insensitively');
refuses('dns_db', 'DB', 'no_match',
	'{role} as a DNS label: a role name with upper case never matches (roles DB and db do not share a DNS identity)');
refuses('dns_sub', 'a.db', 'no_match',
	'{role} in a DNS name: a role name with "." never matches');

# --- issuer pins -------------------------------------------------------------

my $client_ca_dn = 'CN=mtls_ident test client CA,O=mtls_ident test';
my $root_ca_dn = 'CN=mtls_ident test root CA,O=mtls_ident test';

role_with('pin_client_ca', [ "uri:$billing_uri", $client_ca_dn ]);
accepts('spiffe_billing', 'pin_client_ca', "uri:$billing_uri",
	'issuer pin on the client CA DN: issued by it');
refuses('root2_client', 'pin_client_ca', 'issuer_mismatch',
	'issuer pin on the client CA DN: same SAN from root2 is refused');
refuses('root_client', 'pin_client_ca', 'issuer_mismatch',
	'issuer pin on the client CA DN: same SAN straight from the root is refused'
);
refuses('spiffe_other', 'pin_client_ca', 'no_match',
	'issuer pin: a certificate whose SAN does not match is no_match');

role_with('pin_root2', [ "uri:$billing_uri",
	'sha256:' . colon_upper(ca_fingerprint('root2_ca')) ]);
accepts('root2_client', 'pin_root2', "uri:$billing_uri",
	'issuer pin on the sha256 of root2: issued by it');
refuses('spiffe_billing', 'pin_root2', 'issuer_mismatch',
	'issuer pin on the sha256 of root2: the client CA\'s certificate is refused');

role_with('pin_root', [ "uri:$billing_uri", $root_ca_dn ]);
accepts('spiffe_billing', 'pin_root', "uri:$billing_uri",
	'issuer pin on the root DN: the chain contains the root');
accepts('root_client', 'pin_root', "uri:$billing_uri",
	'issuer pin on the root DN: issued by the root itself');
refuses('root2_client', 'pin_root', 'issuer_mismatch',
	'issuer pin on the root DN: another root is refused');

role_with('pin_root_sha', [ "uri:$billing_uri",
	'sha256:' . ca_fingerprint('root_ca') ]);
accepts('spiffe_billing', 'pin_root_sha', "uri:$billing_uri",
	'issuer pin on the sha256 of the root: the chain contains it');

# The leaf is not a CA of its own chain.
role_with('pin_leaf', [ "uri:$billing_uri",
	'sha256:' . cert_fingerprint('spiffe_billing') ]);
refuses('spiffe_billing', 'pin_leaf', 'issuer_mismatch',
	'issuer pin on the leaf\'s own fingerprint does not match');
role_with('pin_leaf_dn', [ "dn:$alice_dn", $alice_dn ]);
refuses('dn_alice', 'pin_leaf_dn', 'issuer_mismatch',
	'issuer pin on the leaf\'s own subject DN does not match');

# One pinned binding fails, another one matches: accepted.
role_with('pin_two', [ "uri:$billing_uri", $root_ca_dn ],
	[ "uri:$billing_uri", 'sha256:' . ca_fingerprint('root2_ca') ]);
accepts('root2_client', 'pin_two', "uri:$billing_uri",
	'the same identity pinned to two issuers: the second one matches');
accepts('spiffe_billing', 'pin_two', "uri:$billing_uri",
	'the same identity pinned to two issuers: the first one matches');

# unbind removes the identity whatever its pins.
is( $node->safe_psql('postgres',
		"SELECT mtls_ident.unbind('pin_two', 'uri:$billing_uri')"),
	't', 'unbind of an identity pinned twice');
refuses('spiffe_billing', 'pin_two', 'no_binding',
	'after unbind the role has no binding left');

# Certificates the client sends beyond its verified chain do not count: a
# client appends root2_ca to its chain (libpq sends the whole file).
my $extra_dir = PostgreSQL::Test::Utils::tempdir('extra_chain');
{
	my $bundle = "$extra_dir/extra";
	open my $fh, '>', "$bundle.crt" or die "$bundle.crt: $!";
	print $fh slurp_file(cert_path('spiffe_billing'));
	print $fh slurp_file(pki_dir() . '/root2_ca.crt');
	close $fh or die "$bundle.crt: $!";
	open $fh, '>', "$bundle.leaf.crt" or die "$bundle.leaf.crt: $!";
	print $fh cert_pem('spiffe_billing');
	close $fh or die "$bundle.leaf.crt: $!";
	open $fh, '>', "$bundle.key" or die "$bundle.key: $!";
	print $fh slurp_file(cert_path('spiffe_billing', 'key'));
	close $fh or die "$bundle.key: $!";
	chmod 0600, "$bundle.key";

	refuses($bundle, 'pin_root2', 'issuer_mismatch',
		'issuer pin (sha256): an extra CA certificate sent by the client is not part of the verified chain'
	);
	role_with('pin_root2_dn',
		[ "uri:$billing_uri", 'CN=mtls_ident test root CA 2,O=mtls_ident test' ]);
	refuses($bundle, 'pin_root2_dn', 'issuer_mismatch',
		'issuer pin (DN): an extra CA certificate sent by the client is not part of the verified chain'
	);
	accepts('root2_client', 'pin_root2_dn', "uri:$billing_uri",
		'issuer pin on the root2 DN: control');
	accepts($bundle, 'pin_client_ca', "uri:$billing_uri",
		'the certificate with the extra CA still matches through its real chain');
}

# --- the server survived -----------------------------------------------------

is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still answers');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|was terminated|server process .* exited with exit code [^01]/,
	'no backend crashed');

done_testing();

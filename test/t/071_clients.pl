# Clients unchanged: a client that does not use libpq -- node-postgres (npm
# package pg 8, pure JavaScript, TLS from Node's own OpenSSL) -- logs in
# with a client certificate, reads session_identity() and session_sans(),
# gets the expiry WARNING as a notice, and is refused with PostgreSQL's own
# error (SQLSTATE 28000) for a certificate that matches no binding.  The
# package is installed by this test with npm into a cache directory
# (MTLS_TEST_CACHE, default /tmp/mtls_ident-test-cache); when node or the
# package cannot be had, the test fails.

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;
use MtlsSession;

use IPC::Run;
use JSON::PP;

my $cache = $ENV{MTLS_TEST_CACHE} // '/tmp/mtls_ident-test-cache';
my $prefix = "$cache/node";

# ---------------------------------------------------------------------------
# node and node-postgres
# ---------------------------------------------------------------------------
my ($out, $err) = ('', '');
ok(IPC::Run::run([ 'node', '--version' ], '<', \undef, '>', \$out, '2>', \$err),
	'node runs (' . ($out =~ s/\s+\z//r) . ')')
  or die "node is missing: install nodejs (test/lib/common.sh lists it)";
mkdir $cache;
mkdir $prefix;
($out, $err) = ('', '');
ok( IPC::Run::run(
		[
			'npm', 'install', '--prefix', $prefix, '--cache', "$cache/npm",
			'--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error',
			'pg@8'
		],
		'<', \undef, '>', \$out, '2>', \$err),
	'npm install pg@8')
  or die "npm install pg@8 failed: $err";
my $pg_version = JSON::PP->new->decode(
	slurp_file("$prefix/node_modules/pg/package.json"))->{version};
like($pg_version, qr/^8\./, "node-postgres $pg_version");

# The client: one connection, one query; prints JSON (rows and notices, or
# the error the server sent).
my $script = PostgreSQL::Test::Utils::tempdir('node') . '/client.js';
open my $fh, '>', $script or die "$script: $!";
print $fh <<'JS';
const fs = require('fs');
const { Client } = require(process.env.PG_MODULE);
const c = JSON.parse(process.argv[2]);
const client = new Client({
  host: c.host, port: c.port, user: c.user, database: 'postgres',
  ssl: c.cert === null ? { ca: fs.readFileSync(c.ca), rejectUnauthorized: true }
                       : { ca: fs.readFileSync(c.ca), cert: fs.readFileSync(c.cert),
                           key: fs.readFileSync(c.key), rejectUnauthorized: true },
});
const notices = [];
client.on('notice', (n) => notices.push({ severity: n.severity, message: n.message }));
client.on('error', () => {});
(async () => {
  try {
    await client.connect();
    const r = await client.query(c.sql);
    console.log(JSON.stringify({ ok: true, rows: r.rows, notices }));
    await client.end();
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: { code: e.code || null,
      severity: e.severity || null, message: e.message } }));
  }
})();
JS
close $fh;

# ---------------------------------------------------------------------------
# The cluster
# ---------------------------------------------------------------------------
my $node = new_node('clients', conf => "mtls_ident.expiry_warning = '2d'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');
bound_role($node, 'billing', 'billing');

my $good = mint_cert(
	san => [ spiffe('billing'), 'DNS:billing.example.org' ],
	end_offset => 86400);
my $intruder = mint_cert(san => spiffe('intruder'));

# Run the client; returns the decoded JSON.
sub node_client
{
	my ($cert, $user, $sql) = @_;
	my %cfg = (
		host => '127.0.0.1',
		port => $node->port,
		user => $user,
		ca   => pki_dir() . '/root_ca.crt',
		cert => undef,
		key  => undef,
		sql  => $sql // 'SELECT 1');
	if (defined $cert)
	{
		$cfg{cert} = cert_path($cert, 'crt');
		$cfg{key} = cert_path($cert, 'key');
	}
	my ($o, $e) = ('', '');
	IPC::Run::run([ 'node', $script, JSON::PP->new->canonical->encode(\%cfg) ],
		'<', \undef, '>', \$o, '2>', \$e,
		init => sub { $ENV{PG_MODULE} = "$prefix/node_modules/pg"; })
	  or die "node client failed: $e";
	return JSON::PP->new->decode($o);
}

# ---------------------------------------------------------------------------
# Accepted: the identity and the SANs, as libpq clients see them
# ---------------------------------------------------------------------------
my $offset = -s $node->logfile;
my $r = node_client($good, 'billing',
	"SELECT current_user AS who, mtls_ident.session_identity() AS identity,
	        mtls_ident.session_sans() AS sans,
	        (SELECT identity FROM mtls_ident.sessions WHERE pid = pg_backend_pid()) AS view_identity,
	        (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl");
ok($r->{ok}, 'node-postgres logs in with the client certificate')
  or diag(explain $r);
my $row = $r->{rows}[0] // {};
is($row->{who}, 'billing', 'as role billing');
is($row->{identity}, 'uri:spiffe://example.org/ns/prod/sa/billing',
	'session_identity() is the SPIFFE ID that matched');
is_deeply($row->{sans},
	[ 'uri:spiffe://example.org/ns/prod/sa/billing', 'dns:billing.example.org' ],
	'session_sans() comes back as a JavaScript array of every SAN');
is($row->{view_identity}, 'uri:spiffe://example.org/ns/prod/sa/billing',
	'the session is in mtls_ident.sessions with that identity');
ok($row->{ssl}, 'the connection is TLS (pg_stat_ssl)');
ok( scalar(grep { $_->{severity} eq 'WARNING'
			&& $_->{message} =~ /^your client certificate expires in \d+ seconds/ }
		@{ $r->{notices} // [] }),
	'the expiry WARNING reaches node-postgres as a notice')
  or diag(explain $r->{notices});
$node->wait_for_log(
	qr/outcome=accept reason=ok role="billing" database="postgres" client=127\.0\.0\.1\S* identity=uri:spiffe:\/\/example\.org\/ns\/prod\/sa\/billing /,
	$offset);
ok(1, 'the server logged the accepted login with its identity');

# ---------------------------------------------------------------------------
# Refused: PostgreSQL's error, nothing more
# ---------------------------------------------------------------------------
$offset = -s $node->logfile;
$r = node_client($intruder, 'billing');
ok(!$r->{ok}, 'node-postgres is refused for a certificate that matches no binding');
is($r->{error}{code}, '28000', 'SQLSTATE 28000 (invalid_authorization_specification)');
is($r->{error}{severity}, 'FATAL', 'severity FATAL');
is($r->{error}{message}, 'certificate authentication failed for user "billing"',
	'the generic message, no reason given to the client');
$node->wait_for_log(qr/outcome=reject reason=no_match role="billing" /, $offset);
ok(1, 'the server logged the refusal with reason no_match');

$r = node_client(undef, 'billing');
ok(!$r->{ok}, 'node-postgres without a certificate is refused');
is($r->{error}{code}, '28000', 'SQLSTATE 28000 without a certificate');

is( $node->safe_psql(
		'postgres',
		"SELECT count FROM mtls_ident.stats WHERE outcome = 'reject' AND reason = 'no_match'"),
	'1',
	'the refusal is counted in stats');

$node->stop;
done_testing();

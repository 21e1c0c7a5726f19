# Clients unchanged: clients that do not use libpq -- node-postgres (npm
# package pg 8, pure JavaScript, TLS from Node's own OpenSSL) and pgjdbc
# (Debian's libpostgresql-jdbc-java, Java's own TLS) -- log in with a
# client certificate, read session_identity() and session_sans(), get the
# expiry WARNING, and are refused with PostgreSQL's own error (SQLSTATE
# 28000) for a certificate that matches no binding.  node-postgres is
# installed by this test with npm into a cache directory (MTLS_TEST_CACHE,
# default /tmp/mtls_ident-test-cache); when node, the npm package, pgjdbc
# or javac cannot be had, the test fails.

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

# ---------------------------------------------------------------------------
# pgjdbc (Debian's libpostgresql-jdbc-java): Java's own TLS (JSSE), no
# OpenSSL at all on the client side
# ---------------------------------------------------------------------------
my $jar = '/usr/share/java/postgresql.jar';
ok(-f $jar, "pgjdbc is installed ($jar)")
  or die "pgjdbc is missing: install libpostgresql-jdbc-java (test/lib/common.sh lists it)";
my $jdir = PostgreSQL::Test::Utils::tempdir('jdbc');
open $fh, '>', "$jdir/Client.java" or die "$jdir/Client.java: $!";
print $fh <<'JAVA';
import java.sql.*;
import java.util.Properties;

/* One connection, one query: prints "ROW<TAB>who<TAB>identity<TAB>sans
 * joined by |", a "WARNING<TAB>message" line per warning, or
 * "ERROR<TAB>sqlstate<TAB>message". */
public class Client {
    public static void main(String[] a) {
        Properties p = new Properties();
        p.setProperty("user", a[2]);
        p.setProperty("ssl", "true");
        p.setProperty("sslmode", "verify-full");
        p.setProperty("sslrootcert", a[3]);
        p.setProperty("sslcert", a[4]);
        p.setProperty("sslkey", a[5]);
        String url = "jdbc:postgresql://" + a[0] + ":" + a[1] + "/postgres";
        try (Connection c = DriverManager.getConnection(url, p);
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(
                 "SELECT current_user, mtls_ident.session_identity(), mtls_ident.session_sans()")) {
            while (rs.next()) {
                String[] sans = (String[]) rs.getArray(3).getArray();
                System.out.println("ROW\t" + rs.getString(1) + "\t" + rs.getString(2)
                                   + "\t" + String.join("|", sans));
            }
            for (SQLWarning w = st.getWarnings(); w != null; w = w.getNextWarning())
                System.out.println("WARNING\t" + w.getMessage());
            for (SQLWarning w = c.getWarnings(); w != null; w = w.getNextWarning())
                System.out.println("WARNING\t" + w.getMessage());
        } catch (SQLException e) {
            System.out.println("ERROR\t" + e.getSQLState() + "\t" + e.getMessage());
        }
    }
}
JAVA
close $fh;
($out, $err) = ('', '');
ok( IPC::Run::run([ 'javac', '-d', $jdir, '-cp', $jar, "$jdir/Client.java" ],
		'<', \undef, '>', \$out, '2>', \$err),
	'the JDBC client compiles')
  or die "javac failed: $err";

# pgjdbc wants the key as unencrypted PKCS#8 DER.
sub pk8
{
	my ($cert) = @_;
	my $der = "$jdir/" . ($cert =~ s{.*/}{}r) . '.pk8';
	my ($o, $e) = ('', '');
	IPC::Run::run([ 'openssl', 'pkcs8', '-topk8', '-nocrypt', '-outform', 'DER',
			'-in', cert_path($cert, 'key'), '-out', $der ],
		'<', \undef, '>', \$o, '2>', \$e)
	  or die "openssl pkcs8: $e";
	return $der;
}

sub jdbc_client
{
	my ($cert, $user) = @_;
	my ($o, $e) = ('', '');
	IPC::Run::run(
		[
			'java', '-cp', "$jar:$jdir", 'Client', '127.0.0.1', $node->port,
			$user, pki_dir() . '/root_ca.crt', cert_path($cert, 'crt'), pk8($cert)
		],
		'<', \undef, '>', \$o, '2>', \$e)
	  or die "java failed: $e";
	return $o;
}

# Java refuses to parse a certificate whose subject is empty unless its
# SAN extension is critical (RFC 5280 4.2.1.6), as mint_cert() makes them:
# the JDBC certificates carry a CN (doc/clients.md).
my $good_j = mint_cert(
	cn => 'billing client',
	san => [ spiffe('billing'), 'DNS:billing.example.org' ],
	end_offset => 86400);
my $intruder_j = mint_cert(cn => 'intruder', san => spiffe('intruder'));

$offset = -s $node->logfile;
my $jout = jdbc_client($good_j, 'billing');
like($jout,
	qr/^ROW\tbilling\turi:spiffe:\/\/example\.org\/ns\/prod\/sa\/billing\turi:spiffe:\/\/example\.org\/ns\/prod\/sa\/billing\|dns:billing\.example\.org$/m,
	'pgjdbc logs in with the client certificate; session_identity() and session_sans() as with libpq')
  or diag($jout);
like($jout, qr/^WARNING\tyour client certificate expires in \d+ seconds/m,
	'the expiry WARNING reaches pgjdbc as an SQLWarning');
$node->wait_for_log(qr/outcome=accept reason=ok role="billing" database="postgres" client=127\.0\.0\.1\S* identity=uri:spiffe:/,
	$offset);
ok(1, 'the server logged the pgjdbc login as accepted');

$offset = -s $node->logfile;
$jout = jdbc_client($intruder_j, 'billing');
like($jout,
	qr/^ERROR\t28000\tFATAL: certificate authentication failed for user "billing"$/m,
	'pgjdbc is refused with SQLSTATE 28000 and the generic message')
  or diag($jout);
$node->wait_for_log(qr/outcome=reject reason=no_match role="billing" /, $offset);
ok(1, 'the server logged the pgjdbc refusal with reason no_match');

$node->stop;
done_testing();

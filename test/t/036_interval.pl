# A changed setting takes effect at once (SPEC sections 2 and 6): lowering
# mtls_ident.enforce_interval does not wait out the old, longer interval;
# enforce_interval = 0 disables the sweep and setting it again resumes it
# at once; mode and max_certificate_lifetime are read by the worker on every
# sweep; expiry_warning by each new login.

use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use FindBin;
use lib $FindBin::RealBin;
use MtlsTest;
use MtlsSession;

my $node = new_node(
	'interval',
	conf => "mtls_ident.enforce_interval = '1s'\n"
	  . "mtls_ident.expiry_warning = 0\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mtls_ident');

sub set_conf
{
	my ($line) = @_;
	$node->append_conf('postgresql.conf', "$line\n");
	$node->reload;
	# the worker wakes at least once a second and reloads; give it time to
	# have slept under the new setting at least once
	sleep(3);
	return;
}

# true when the backend $pid is gone within $secs seconds
sub gone_within
{
	my ($pid, $secs) = @_;
	my $deadline = time() + $secs;
	while (time() < $deadline)
	{
		return 1 unless session_alive($node, $pid);
		usleep(200_000);
	}
	return 0;
}

sub unbind
{
	my ($role, $sa) = @_;
	$node->safe_psql('postgres',
		"SELECT mtls_ident.unbind('$role', 'uri:spiffe://example.org/ns/prod/sa/$sa')");
	return;
}

bound_role($node, 'iv', map { "iv$_" } 1 .. 6);
my %c = map { $_ => mint_cert(san => spiffe("iv$_")) } 1 .. 6;

# --- 1h, then 1s: the new interval applies at once ---------------------------

my $s1 = open_session($node, $c{1}, 'iv');
set_conf("mtls_ident.enforce_interval = '1h'");
unbind('iv', 'iv1');
sleep(4);
still_alive($node, $s1, 'interval 1h: an unbound session waits for the next sweep');
set_conf("mtls_ident.enforce_interval = '1s'");
ok(gone_within($s1->pid, 30),
	'interval lowered from 1h to 1s: the unbound session is ended at once, not after the old hour');
like($s1->ended_message,
	qr/terminating connection because the client certificate no longer matches the role's bindings/,
	'and is told why');
$s1->quit;

# --- 0 (disabled), then 1s: the sweep resumes at once -------------------------

my $s2 = open_session($node, $c{2}, 'iv');
set_conf("mtls_ident.enforce_interval = 0");
unbind('iv', 'iv2');
sleep(4);
still_alive($node, $s2, 'interval 0: the sweep is disabled');
set_conf("mtls_ident.enforce_interval = '1s'");
ok(gone_within($s2->pid, 30), 'interval 0 -> 1s: the sweep resumes at once');
$s2->quit;

# --- 1h, then 0, then 1s ----------------------------------------------------

my $s3 = open_session($node, $c{3}, 'iv');
set_conf("mtls_ident.enforce_interval = '1h'");
set_conf("mtls_ident.enforce_interval = 0");
unbind('iv', 'iv3');
set_conf("mtls_ident.enforce_interval = '1s'");
ok(gone_within($s3->pid, 30), 'interval 1h -> 0 -> 1s: the sweep resumes at once');
$s3->quit;

# --- mode off -> enforce, with a long interval in between --------------------

my $s4 = open_session($node, $c{4}, 'iv');
set_conf("mtls_ident.mode = off");
unbind('iv', 'iv4');
sleep(3);
still_alive($node, $s4, 'mode off: nothing is ended');
set_conf("mtls_ident.mode = enforce");
ok(gone_within($s4->pid, 30), 'mode off -> enforce: the sweep resumes at once');
$s4->quit;

# --- settings the worker reads on every sweep --------------------------------

my $s5 = open_session($node, $c{5}, 'iv');
set_conf("mtls_ident.max_certificate_lifetime = '1h'");
ok(gone_within($s5->pid, 30),
	'max_certificate_lifetime lowered on reload: a live session with a longer certificate is ended');
like($s5->ended_message, qr/max_certificate_lifetime/, 'and is told why');
$s5->quit;
set_conf("mtls_ident.max_certificate_lifetime = 0");

# (require_client_auth_eku is read the same way, on every sweep, but a
# certificate without clientAuth never gets past PostgreSQL's TLS handshake,
# so no live session can test it: 011_login_methods.pl tests it with check().)

# --- expiry_warning: read by each new login -----------------------------------

my $soon = mint_cert(san => spiffe('iv5'), end_offset => 3600);
sub login_stderr
{
	my ($ret, $out, $err) = $node->psql('postgres', 'SELECT 1',
		connstr => client_connstr($node, $soon, user => 'iv'));
	is($ret, 0, 'the login succeeds');
	return $err;
}
unlike(login_stderr(), qr/WARNING/, 'expiry_warning 0: no warning');
$node->append_conf('postgresql.conf', "mtls_ident.expiry_warning = '2h'\n");
$node->reload;
ok( $node->poll_query_until('postgres',
		"SELECT setting = '7200' FROM pg_settings WHERE name = 'mtls_ident.expiry_warning'"),
	'expiry_warning reloaded');
like(login_stderr(), qr/WARNING:  your client certificate expires in \d+ seconds/,
	'expiry_warning 2h after reload: the next login is warned');

$node->stop;
done_testing();

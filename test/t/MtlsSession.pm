# Copyright: see the LICENSE file at the top of the repository.

=pod

=head1 NAME

MtlsSession - a live psql session over TLS, held open by a TAP test

=head1 SYNOPSIS

  use MtlsSession;

  my $s = MtlsSession->start($node, client_connstr($node, $cert, user => 'u'));
  my $pid = $s->pid;
  my ($out, $err) = $s->query('SELECT 1');
  ok(session_gone($node, $pid), 'the enforcer ended it');
  like($s->ended_message, qr/certificate expired/, 'the client was told why');
  $s->quit;

=head1 DESCRIPTION

PostgreSQL::Test::Cluster::background_psql connects with the node's own
connection string; these sessions connect with any libpq connection string
(a client certificate, TCP, TLS), so that mtls_ident governs them.

=cut

package MtlsSession;

use strict;
use warnings FATAL => 'all';

use Carp;
use Exporter 'import';
use IPC::Run;
use MtlsTest ();
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(open_session session_gone session_alive still_alive spiffe bound_role);

=pod

=over

=item MtlsSession->start($node, $connstr)

Start psql on $connstr and wait until it is connected.  Dies when it cannot
connect.

=cut

sub start
{
	my ($class, $node, $connstr) = @_;
	my $self = bless { in => '', out => '', err => '', n => 0 }, $class;
	$self->{timer} = IPC::Run::timer($PostgreSQL::Test::Utils::timeout_default);
	my @cmd = (
		$node->installed_command('psql'),
		'-XAtq', '-v', 'VERBOSITY=default', '-d', $connstr, '-f', '-');
	$self->{run} = IPC::Run::start(\@cmd, '<', \$self->{in}, '>',
		\$self->{out}, '2>', \$self->{err}, $self->{timer});
	my ($out, $err) = $self->query('SELECT pg_backend_pid()');
	croak "session did not start: $err" unless $out =~ /^(\d+)$/;
	$self->{pid} = $1;
	return $self;
}

=pod

=item $s->pid

The backend's pid.

=cut

sub pid
{
	my ($self) = @_;
	return $self->{pid};
}

=pod

=item $s->query($sql)

Run $sql; return (stdout, stderr) in list context, stdout in scalar
context.  Returns early when psql exits (e.g. the server ended the
session).

=cut

sub query
{
	my ($self, $sql) = @_;
	my $mark = sprintf('__mtls_session_done_%d__', ++$self->{n});
	$self->{out} = '';
	$self->{err} = '';
	$self->{timer}->start($PostgreSQL::Test::Utils::timeout_default);
	$self->{in} .= "$sql;\n\\echo $mark\n";
	while ($self->{out} !~ /\Q$mark\E\n/)
	{
		last if $self->{timer}->is_expired;
		last unless $self->{run}->pumpable;
		# psql may exit while we write to it
		eval { $self->{run}->pump; };
	}
	croak "psql timed out running: $sql" if $self->{timer}->is_expired;
	my $out = $self->{out};
	$out =~ s/\Q$mark\E\n//;
	chomp $out;
	return wantarray ? ($out, $self->{err}) : $out;
}

=pod

=item $s->ended_message

For a session the server has ended: run a statement, and return what psql
printed on stderr (the FATAL message the server sent, then the lost
connection).

=cut

sub ended_message
{
	my ($self) = @_;
	my (undef, $err) = $self->query('SELECT 1');
	return $err;
}

=pod

=item $s->quit

End psql (if it still runs).

=cut

sub quit
{
	my ($self) = @_;
	$self->{in} .= "\\q\n";
	eval { $self->{run}->finish; };
	return;
}

=pod

=item open_session($node, $cert, $role)

MtlsSession->start over TLS presenting certificate $cert (see
MtlsTest::client_connstr) as $role.

=cut

sub open_session
{
	my ($node, $cert, $role) = @_;
	return MtlsSession->start($node,
		MtlsTest::client_connstr($node, $cert, user => $role));
}

=pod

=item spiffe($sa)

The SAN (OpenSSL syntax, for mint_cert) URI:spiffe://example.org/ns/prod/sa/$sa.

=cut

sub spiffe
{
	my ($sa) = @_;
	return "URI:spiffe://example.org/ns/prod/sa/$sa";
}

=pod

=item bound_role($node, $role, @sas)

Create login role $role bound to uri:spiffe://example.org/ns/prod/sa/$sa
for each $sa.

=cut

sub bound_role
{
	my ($node, $role, @sas) = @_;
	my $sql = "CREATE ROLE $role LOGIN;";
	$sql .=
	  "SELECT mtls_ident.bind('$role', 'uri:spiffe://example.org/ns/prod/sa/$_');"
	  for @sas;
	$node->safe_psql('postgres', $sql);
	return;
}

=pod

=item session_gone($node, $pid)

Wait (up to the test suite's default timeout) until no backend with $pid
is left; true when it is gone.

=cut

sub session_gone
{
	my ($node, $pid) = @_;
	return $node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid");
}

=pod

=item session_alive($node, $pid)

True when a backend with $pid exists now.

=cut

sub session_alive
{
	my ($node, $pid) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE pid = $pid") eq '1';
}

=pod

=item still_alive($node, $session, $name)

Two tests: the session's backend still exists, and it still answers.

=cut

sub still_alive
{
	my ($node, $s, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	ok(session_alive($node, $s->pid), "$name: session still there");
	is(scalar $s->query('SELECT 42'), '42', "$name: session still works");
	return;
}

=pod

=back

=cut

1;

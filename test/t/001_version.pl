# The version lives in one place, default_version in mtls_ident.control:
# PGXN's META.json (as a semantic version: 1.1 is 1.1.0), the Debian
# changelog's upstream version and the upgrade scripts follow it.  No
# server needed.

use strict;
use warnings FATAL => 'all';

use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;

my $top = "$FindBin::RealBin/../..";
my ($version) = slurp_file("$top/mtls_ident.control") =~ /^\s*default_version\s*=\s*'([^']+)'\s*$/m;
ok(defined $version, 'mtls_ident.control has a default_version');
like($version, qr/^\d+\.\d+$/, 'default_version is MAJOR.MINOR');

# PGXN wants semantic versions: MAJOR.MINOR is MAJOR.MINOR.0
my $semver = "$version.0";
my $meta = JSON::PP->new->decode(slurp_file("$top/META.json"));
is($meta->{name}, 'mtls_ident', 'META.json: name');
is($meta->{version}, $semver, "META.json: version is default_version ($semver)");
is($meta->{provides}{mtls_ident}{version}, $semver, 'META.json: provides mtls_ident at the same version');
ok(-f "$top/$meta->{provides}{mtls_ident}{file}", 'META.json: the file it names exists');
is($meta->{'meta-spec'}{version}, '1.0.0', 'META.json: PGXN meta spec 1.0.0');

my ($deb) = slurp_file("$top/debian/changelog") =~ /^mtls-ident \(([^)]+)\)/;
is($deb, $version, 'debian/changelog: the newest entry is default_version');

# an install or upgrade script reaches default_version, and the Makefile
# installs every script
my @scripts = map { s{.*/}{}r } glob("$top/sql/mtls_ident--*.sql");
ok((grep { /^mtls_ident--(?:[\d.]+--)?\Q$version\E\.sql$/ } @scripts),
	"a script leads to $version");
my $makefile = slurp_file("$top/Makefile") =~ s/\\\n/ /gr;    # join continued lines
my ($data) = $makefile =~ /^DATA\s*=\s*(.*)$/m;
is_deeply([ sort map { s{.*/}{}r } split ' ', $data ], [ sort @scripts ],
	'Makefile DATA lists every sql/mtls_ident--*.sql script');

done_testing();

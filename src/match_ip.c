/*-------------------------------------------------------------------------
 *
 * match_ip.c
 *		IP patterns: an address or CIDR, matched against IP SANs
 *		(SPEC section 3).
 *
 * ip: IPv4 or IPv6 address, or CIDR; host bits set is an error; IPv4 and
 * IPv6 never match each other (::ffff:a.b.c.d is IPv6 only).
 *
 *-------------------------------------------------------------------------
 */
#include "match_ip.h"
#include "mi_alloc.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>

#include "mi_err.h"
#include "pattern_int.h"

bool
mi_parse_ip(MiPattern *p, char *err, size_t errlen)
{
	const char *b = p->body;
	int			len = p->blen;
	const char *slash = memchr(b, '/', len);
	int			alen = slash ? (int) (slash - b) : len;
	char		buf[64];
	int			maxbits;

	if (alen <= 0 || alen >= (int) sizeof(buf))
		goto bad_addr;
	memcpy(buf, b, alen);
	buf[alen] = '\0';
	if (memchr(buf, ':', alen) != NULL)
	{
		if (inet_pton(AF_INET6, buf, p->ip) != 1)
			goto bad_addr;
		p->iplen = 16;
	}
	else
	{
		if (inet_pton(AF_INET, buf, p->ip) != 1)
			goto bad_addr;
		p->iplen = 4;
	}
	maxbits = p->iplen * 8;
	p->prefix = maxbits;
	if (slash != NULL)
	{
		const char *d = slash + 1;
		int			dlen = len - alen - 1;
		int			v = 0;

		if (dlen < 1 || dlen > 3 || (dlen > 1 && d[0] == '0'))
			goto bad_cidr;
		for (int i = 0; i < dlen; i++)
		{
			if (d[i] < '0' || d[i] > '9')
				goto bad_cidr;
			v = v * 10 + (d[i] - '0');
		}
		if (v > maxbits)
			goto bad_cidr;
		p->prefix = v;
		/* no host bits may be set */
		for (int bit = v; bit < maxbits; bit++)
		{
			if (p->ip[bit / 8] & (0x80 >> (bit % 8)))
			{
				unsigned char net[16];
				char		nbuf[64];

				memcpy(net, p->ip, sizeof(net));
				for (int k = v; k < maxbits; k++)
					net[k / 8] &= (unsigned char) ~(0x80 >> (k % 8));
				if (inet_ntop(p->iplen == 4 ? AF_INET : AF_INET6, net,
							  nbuf, sizeof(nbuf)) == NULL)
					nbuf[0] = '\0';
				mi_set_err(err, errlen,
						"invalid CIDR \"%.*s\": host bits are set (the network is %s/%d)",
						len, b, nbuf, v);
				return false;
			}
		}
	}
	return true;

bad_addr:
	mi_set_err(err, errlen, "invalid IP address \"%.*s\"", len, b);
	return false;
bad_cidr:
	mi_set_err(err, errlen, "invalid CIDR \"%.*s\"", len, b);
	return false;
}

bool
mi_match_ip(const MiPattern *p, const MiSan *san)
{
	int			full = p->prefix / 8;
	int			rest = p->prefix % 8;

	if (san->iplen != p->iplen)
		return false;
	if (memcmp(san->ip, p->ip, full) != 0)
		return false;
	if (rest != 0)
	{
		unsigned char mask = (unsigned char) (0xff << (8 - rest));

		if ((san->ip[full] & mask) != (p->ip[full] & mask))
			return false;
	}
	return true;
}


/*
 * The comparison key of an ip: pattern: the address as inet_ntop writes it
 * and the prefix length, always ("ip:::1/128" for "ip:0:0:0:0:0:0:0:1").
 * Allocated.
 */
char *
mi_ip_key(const MiPattern *p)
{
	char		buf[INET6_ADDRSTRLEN + 1];
	char	   *k = (char *) mi_alloc0(3 + sizeof(buf) + 5);

	if (inet_ntop(p->iplen == 4 ? AF_INET : AF_INET6, p->ip, buf,
				  sizeof(buf)) == NULL)
		buf[0] = '\0';
	snprintf(k, 3 + sizeof(buf) + 5, "ip:%s/%d", buf, p->prefix);
	return k;
}

/*-------------------------------------------------------------------------
 *
 * cert_serial.c
 *		A compact, bounded byte form of MiCert, for shared memory.
 *
 * Layout (native byte order: it never leaves the machine):
 *	  u32 magic, u32 flags, i64 not_before, i64 not_after, u8 sha256[32],
 *	  u8 issuer_key[32] (F_ISSUER_KEY says whether it is set),
 *	  str subject_dn, str issuer_dn, str serial_hex, str cn,
 *	  u32 neku, str eku...,
 *	  u32 nchain, { u8 has_sha256, u8 sha256[32], str dn }...,
 *	  u32 nsans, { u8 kind, u8 hostile, u8 iplen, u8 ip[16], str value }...
 * where str is u32 length + bytes.  Counts are written as placeholders and
 * patched when the section is done.  Pure: no backend dependencies.
 *
 *-------------------------------------------------------------------------
 */
#include "mi_alloc.h"

#include "cert_serial.h"

#define MI_SER_MAGIC 0x6d695332u	/* "miS2" */

#define F_TRUNCATED		0x01
#define F_HAS_CN		0x02
#define F_CN_HOSTILE	0x04
#define F_HAS_EKU		0x08
#define F_EKU_CLIENT	0x10
#define F_ISSUER_KEY	0x20

typedef struct Writer
{
	char	   *buf;
	size_t		cap;
	size_t		pos;
	bool		truncated;
} Writer;

static bool
w_bytes(Writer *w, const void *p, size_t n)
{
	if (w->cap - w->pos < n)
		return false;
	if (n == 0)
		return true;			/* p may be NULL (an absent CN) */
	memcpy(w->buf + w->pos, p, n);
	w->pos += n;
	return true;
}

static bool
w_u32(Writer *w, uint32_t v)
{
	return w_bytes(w, &v, sizeof(v));
}

/*
 * A string cut at maxlen, written only if it fits with reserve bytes to
 * spare; false if it does not.
 */
static bool
w_str_max(Writer *w, const char *s, size_t len, size_t maxlen, size_t reserve)
{
	if (s == NULL)
		len = 0;
	if (len > maxlen)
	{
		len = maxlen;
		w->truncated = true;
	}
	if (w->cap - w->pos < sizeof(uint32_t) + len + reserve)
		return false;
	w_u32(w, (uint32_t) len);
	return w_bytes(w, s, len);
}

static bool
w_str(Writer *w, const char *s, size_t len)
{
	return w_str_max(w, s, len, MI_SER_MAX_STRING, 0);
}

/* bytes w_san needs for a SAN */
static size_t
san_size(const MiSan *san)
{
	size_t		len = san->len > 0 ? (size_t) san->len : 0;

	return 3 + 16 + sizeof(uint32_t) + (len > MI_SER_MAX_STRING ? MI_SER_MAX_STRING : len);
}

/* a value cut at MI_SER_MAX_STRING is kept, flagged hostile: never matched */
static bool
w_san(Writer *w, const MiSan *san)
{
	size_t		start = w->pos;
	uint8_t		hdr[3];
	bool		cut = san->len > MI_SER_MAX_STRING;

	hdr[0] = (uint8_t) san->kind;
	hdr[1] = (san->hostile || cut) ? 1 : 0;
	hdr[2] = (uint8_t) san->iplen;
	if (!w_bytes(w, hdr, 3) || !w_bytes(w, san->ip, 16) ||
		!w_str(w, san->value, san->len > 0 ? (size_t) san->len : 0))
	{
		w->pos = start;
		return false;
	}
	return true;
}

size_t
mi_cert_serialize(const MiCert *c, int priority_san, char *buf, size_t cap)
{
	Writer		w = {buf, cap, 0, false};
	uint32_t	flags = 0;
	size_t		flags_at;
	size_t		count_at;
	size_t		hdrmax;
	uint32_t	n;

	if (cap < MI_SER_MIN_CAP)
		return 0;

	/*
	 * Each of the four names may take a fifth of the buffer (less what the
	 * fixed parts and the three counts need), so that everything after
	 * them always has its place; they are cut beyond that.
	 */
	hdrmax = (cap - 128) / 5;
	if (hdrmax > MI_SER_MAX_STRING)
		hdrmax = MI_SER_MAX_STRING;

	w_u32(&w, MI_SER_MAGIC);
	flags_at = w.pos;
	w_u32(&w, 0);
	w_bytes(&w, &c->not_before, 8);
	w_bytes(&w, &c->not_after, 8);
	w_bytes(&w, c->sha256, 32);
	w_bytes(&w, c->issuer_key, MI_NAME_KEY_LEN);
	w_str_max(&w, c->subject_dn, c->subject_dn ? strlen(c->subject_dn) : 0, hdrmax, 0);
	w_str_max(&w, c->issuer_dn, c->issuer_dn ? strlen(c->issuer_dn) : 0, hdrmax, 0);
	w_str_max(&w, c->serial_hex, c->serial_hex ? strlen(c->serial_hex) : 0, hdrmax, 0);
	w_str_max(&w, c->cn, c->cn ? (size_t) c->cn_len : 0, hdrmax, 0);

	/* EKU names, keeping room for the chain and SAN counts */
	count_at = w.pos;
	w_u32(&w, 0);
	n = 0;
	for (int i = 0; i < c->neku; i++, n++)
		if (!w_str_max(&w, c->eku[i], strlen(c->eku[i]), MI_SER_MAX_STRING,
					   2 * sizeof(uint32_t)))
		{
			w.truncated = true;
			break;
		}
	memcpy(buf + count_at, &n, sizeof(n));

	/* chain, keeping room for the SAN count */
	count_at = w.pos;
	w_u32(&w, 0);
	n = 0;
	for (int i = 0; i < c->nchain; i++)
	{
		size_t		start = w.pos;
		uint8_t		has = c->chain[i].has_sha256 ? 1 : 0;
		const char *dn = c->chain[i].subject_dn;

		if (!w_bytes(&w, &has, 1) || !w_bytes(&w, c->chain[i].sha256, 32) ||
			!w_str_max(&w, dn, dn ? strlen(dn) : 0, hdrmax, sizeof(uint32_t)))
		{
			w.pos = start;
			w.truncated = true;
			break;
		}
		n++;
	}
	memcpy(buf + count_at, &n, sizeof(n));

	/*
	 * SANs in certificate order while they fit, always keeping room for the
	 * priority SAN (the one that matched a binding) until it is written.
	 */
	count_at = w.pos;
	if (!w_u32(&w, 0))
		w.truncated = true;
	else
	{
		bool		has_prio = priority_san >= 0 && priority_san < c->nsans;
		size_t		prio_size = has_prio ? san_size(&c->sans[priority_san]) : 0;

		n = 0;
		for (int i = 0; i < c->nsans; i++)
		{
			size_t		reserve = (has_prio && i < priority_san) ? prio_size : 0;

			if (i != priority_san &&
				w.cap - w.pos < san_size(&c->sans[i]) + reserve)
			{
				w.truncated = true;
				if (has_prio && i < priority_san)
				{
					i = priority_san - 1;	/* skip ahead to the priority SAN */
					continue;
				}
				break;
			}
			if (!w_san(&w, &c->sans[i]))
			{
				w.truncated = true;
				break;
			}
			if (c->sans[i].len > MI_SER_MAX_STRING)
				w.truncated = true;
			n++;
		}
		memcpy(buf + count_at, &n, sizeof(n));
	}

	if (w.truncated || c->sans_truncated)
		flags |= F_TRUNCATED;
	if (c->cn != NULL)
		flags |= F_HAS_CN;
	if (c->cn_hostile)
		flags |= F_CN_HOSTILE;
	if (c->has_eku)
		flags |= F_HAS_EKU;
	if (c->eku_client_auth)
		flags |= F_EKU_CLIENT;
	if (c->has_issuer_key)
		flags |= F_ISSUER_KEY;
	memcpy(buf + flags_at, &flags, sizeof(flags));
	return w.pos;
}

typedef struct Reader
{
	const char *buf;
	size_t		len;
	size_t		pos;
	bool		ok;
} Reader;

static void
r_bytes(Reader *r, void *p, size_t n)
{
	if (!r->ok || r->len - r->pos < n)
	{
		r->ok = false;
		memset(p, 0, n);
		return;
	}
	memcpy(p, r->buf + r->pos, n);
	r->pos += n;
}

static uint32_t
r_u32(Reader *r)
{
	uint32_t	v;

	r_bytes(r, &v, sizeof(v));
	return v;
}

/* an allocated NUL-terminated copy; *lenp gets the length */
static char *
r_str(Reader *r, int *lenp)
{
	uint32_t	len = r_u32(r);
	char	   *s;

	if (!r->ok || len > MI_SER_MAX_STRING || r->len - r->pos < len)
	{
		r->ok = false;
		if (lenp)
			*lenp = 0;
		return mi_strdup("");
	}
	s = mi_strndup(r->buf + r->pos, len);
	r->pos += len;
	if (lenp)
		*lenp = (int) len;
	return s;
}

bool
mi_cert_deserialize(const char *buf, size_t len, MiCert *c)
{
	Reader		r = {buf, len, 0, true};
	uint32_t	flags;
	uint32_t	n;
	static const char hex[] = "0123456789abcdef";

	memset(c, 0, sizeof(*c));
	if (r_u32(&r) != MI_SER_MAGIC)
		return false;
	flags = r_u32(&r);
	r_bytes(&r, &c->not_before, 8);
	r_bytes(&r, &c->not_after, 8);
	r_bytes(&r, c->sha256, 32);
	r_bytes(&r, c->issuer_key, MI_NAME_KEY_LEN);
	c->has_issuer_key = (flags & F_ISSUER_KEY) != 0;
	for (int i = 0; i < 32; i++)
	{
		c->fingerprint[2 * i] = hex[c->sha256[i] >> 4];
		c->fingerprint[2 * i + 1] = hex[c->sha256[i] & 0xf];
	}
	c->subject_dn = r_str(&r, NULL);
	c->issuer_dn = r_str(&r, NULL);
	c->serial_hex = r_str(&r, NULL);
	c->cn = r_str(&r, &c->cn_len);
	if (!(flags & F_HAS_CN))
	{
		mi_free(c->cn);
		c->cn = NULL;
		c->cn_len = 0;
	}
	c->cn_hostile = (flags & F_CN_HOSTILE) != 0;
	c->has_eku = (flags & F_HAS_EKU) != 0;
	c->eku_client_auth = (flags & F_EKU_CLIENT) != 0;
	c->sans_truncated = (flags & F_TRUNCATED) != 0;

	n = r_u32(&r);
	if (r.ok && n <= len)
	{
		c->eku = (char **) mi_alloc0(sizeof(char *) * (n + 1));
		for (uint32_t i = 0; i < n && r.ok; i++)
			c->eku[c->neku++] = r_str(&r, NULL);
	}

	n = r_u32(&r);
	if (r.ok && n <= len)
	{
		c->chain = (MiChainEntry *) mi_alloc0(sizeof(MiChainEntry) * (n + 1));
		for (uint32_t i = 0; i < n && r.ok; i++)
		{
			MiChainEntry *e = &c->chain[c->nchain++];
			uint8_t		has;

			r_bytes(&r, &has, 1);
			e->has_sha256 = has != 0;
			r_bytes(&r, e->sha256, 32);
			e->subject_dn = r_str(&r, NULL);
		}
	}

	n = r_u32(&r);
	if (r.ok && n <= len)
	{
		c->sans = (MiSan *) mi_alloc0(sizeof(MiSan) * (n + 1));
		for (uint32_t i = 0; i < n && r.ok; i++)
		{
			MiSan	   *s = &c->sans[c->nsans++];
			uint8_t		hdr[3];

			r_bytes(&r, hdr, 3);
			s->kind = (MiSanKind) hdr[0];
			s->hostile = hdr[1] != 0;
			s->iplen = hdr[2] <= 16 ? hdr[2] : 0;
			r_bytes(&r, s->ip, 16);
			s->value = r_str(&r, &s->len);
			if (s->kind > MI_SAN_OTHER)
			{
				s->kind = MI_SAN_OTHER;
				s->hostile = true;
			}
		}
	}

	if (!r.ok)
	{
		mi_cert_free(c);
		return false;
	}
	return true;
}

/* manifest.c: the MANIFEST of a bundle, text that says what the bundle is and holds
 * (adcnn-bundle(5)). */
#include "config.h"
#include "internal.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TILES 65536
#define MAX_MEMBERS (2 * MAX_TILES + 16)

static const char *kind_names[] = {"tiles", "results", "packed"};

/* percent-encode bytes outside printable ASCII, space and '%' */
static void put_name(char **p, size_t *left, const char *name)
{
	for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
		int n = (*s <= 0x20 || *s >= 0x7f || *s == '%') ? snprintf(*p, *left, "%%%02X", *s)
		                                                 : snprintf(*p, *left, "%c", *s);
		*p += n;
		*left -= (size_t)n;
	}
}

static bool get_name(const char *tok, char **out)
{
	size_t l = strlen(tok), o = 0;
	char *s = malloc(l + 1);

	if (s == NULL)
		return false;
	for (size_t i = 0; i < l; i++) {
		if (tok[i] == '%') {
			unsigned v;
			if (i + 2 >= l) {
				free(s);
				return false;
			}
			if (sscanf(tok + i + 1, "%2x", &v) != 1 || v == 0) {
				free(s);
				return false;
			}
			s[o++] = (char)v;
			i += 2;
		} else {
			s[o++] = tok[i];
		}
	}
	s[o] = '\0';
	*out = s;
	return true;
}

char *adcnn_manifest_format(const struct adcnn_manifest *m, const struct adcnn_bundle *b)
{
	size_t cap = 4096 + (size_t)m->ntiles * 128 + (size_t)b->nmembers * 400 +
	             3 * (strlen(m->input_name) + strlen(m->split_name));
	char *buf = malloc(cap), *p = buf;
	size_t left = cap;
	int n;

	if (buf == NULL)
		return NULL;
#define PUT(...) do { n = snprintf(p, left, __VA_ARGS__); p += n; left -= (size_t)n; } while (0)
	PUT("adcnn-bundle %d.%d\n", ADCNN_BUNDLE_MAJOR, ADCNN_BUNDLE_MINOR);
	PUT("kind %s\n", kind_names[m->kind]);
	PUT("model %s\nprefix %s\njob %s\n", m->model, m->prefix, m->job);
	PUT("mode %s\n", m->mode == ADCNN_MODE_HALO ? "halo" : "fdsp");
	PUT("input ");
	put_name(&p, &left, m->input_name);
	for (int i = 0; i < m->in_rank; i++)
		PUT(" %lld", (long long)m->in_dims[i]);
	PUT("\nsplit ");
	put_name(&p, &left, m->split_name);
	for (int i = 0; i < m->split_rank; i++)
		PUT(" %lld", (long long)m->split_dims[i]);
	PUT("\ngrid %d %d\n", m->rows, m->cols);
	for (int i = 0; i < m->ntiles; i++) {
		const struct adcnn_tile *t = &m->tiles[i];
		PUT("tile %s in %d %d %d %d out %d %d %d %d halo %d %d %d %d\n", t->id,
		    t->in[0], t->in[1], t->in[2], t->in[3], t->out[0], t->out[1], t->out[2], t->out[3],
		    t->halo[0], t->halo[1], t->halo[2], t->halo[3]);
	}
	for (int i = 0; i < b->nmembers; i++) {
		char hex[ADCNN_HASH_HEX];
		adcnn_hash_hex(b->members[i].data, b->members[i].len, hex);
		PUT("member %s %zu %s\n", b->members[i].path, b->members[i].len, hex);
	}
#undef PUT
	return buf;
}

void adcnn_manifest_release(struct adcnn_manifest *m)
{
	free(m->input_name);
	free(m->split_name);
	free(m->tiles);
	memset(m, 0, sizeof(*m));
}

enum adcnn_status adcnn_manifest_copy(struct adcnn_ctx *ctx, struct adcnn_manifest *dst,
                                      const struct adcnn_manifest *src)
{
	*dst = *src;
	dst->input_name = strdup(src->input_name ? src->input_name : "");
	dst->split_name = strdup(src->split_name ? src->split_name : "");
	dst->tiles = malloc(sizeof(*dst->tiles) * ((size_t)src->ntiles + 1));
	if (dst->input_name == NULL || dst->split_name == NULL || dst->tiles == NULL) {
		adcnn_manifest_release(dst);
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	}
	memcpy(dst->tiles, src->tiles, sizeof(*dst->tiles) * (size_t)src->ntiles);
	return ADCNN_OK;
}

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool to_int(const char *s, long long lo, long long hi, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return *s != '\0' && *end == '\0' && errno == 0 && *v >= lo && *v <= hi;
}

#define MAX_TOK 24

enum adcnn_status adcnn_manifest_parse(struct adcnn_ctx *ctx, const char *text, size_t len,
                                       struct adcnn_manifest *m, char ***paths, size_t **sizes,
                                       char ***hashes, int *nlisted)
{
	char *buf = malloc(len + 1), *line, *save = NULL;
	enum adcnn_status st = ADCNN_OK;
	int lineno = 0, cap_tiles = 0, cap_members = 0;
	unsigned seen = 0;

	memset(m, 0, sizeof(*m));
	*paths = NULL;
	*sizes = NULL;
	*hashes = NULL;
	*nlisted = 0;
	if (buf == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (memchr(text, '\0', len) != NULL) {
		st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "MANIFEST: not text");
		goto fail;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok[MAX_TOK], *s2 = NULL, *t;
		int nt = 0;
		long long v;

		lineno++;
		for (t = strtok_r(line, " ", &s2); t && nt < MAX_TOK; t = strtok_r(NULL, " ", &s2))
			tok[nt++] = t;
		if (nt == 0)
			continue;
#define BAD(what) do { st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "MANIFEST line %d: bad %s", lineno, what); goto fail; } while (0)
		if (lineno == 1) {
			int major, minor;
			char extra;
			if (strcmp(tok[0], "adcnn-bundle") != 0 || nt != 2 || sscanf(tok[1], "%d.%d%c", &major, &minor, &extra) != 2) {
				st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "MANIFEST: not an adcnn bundle");
				goto fail;
			}
			if (major != ADCNN_BUNDLE_MAJOR) {
				st = adcnn_set_error(ctx, ADCNN_ERR_VERSION, "unsupported bundle format version %d.%d (this reads %d.x)", major, minor, ADCNN_BUNDLE_MAJOR);
				goto fail;
			}
			m->major = major;
			m->minor = minor;
			continue;
		}
		if (strcmp(tok[0], "kind") == 0 && nt == 2) {
			int k;
			for (k = 0; k < 3; k++)
				if (strcmp(tok[1], kind_names[k]) == 0)
					break;
			if (k == 3)
				BAD("kind");
			m->kind = (enum adcnn_kind)k;
			seen |= 1;
		} else if ((strcmp(tok[0], "model") == 0 || strcmp(tok[0], "prefix") == 0 || strcmp(tok[0], "job") == 0) && nt == 2) {
			if (!is_hex64(tok[1]))
				BAD(tok[0]);
			strcpy(tok[0][0] == 'm' ? m->model : tok[0][0] == 'p' ? m->prefix : m->job, tok[1]);
			seen |= tok[0][0] == 'm' ? 2 : tok[0][0] == 'p' ? 4 : 8;
		} else if (strcmp(tok[0], "mode") == 0 && nt == 2) {
			if (strcmp(tok[1], "fdsp") == 0)
				m->mode = ADCNN_MODE_FDSP;
			else if (strcmp(tok[1], "halo") == 0)
				m->mode = ADCNN_MODE_HALO;
			else
				BAD("mode");
			seen |= 16;
		} else if ((strcmp(tok[0], "input") == 0 || strcmp(tok[0], "split") == 0) && nt >= 2 && nt - 2 <= ADCNN_MAX_RANK) {
			bool in = tok[0][0] == 'i';
			int64_t *dims = in ? m->in_dims : m->split_dims;
			char **name = in ? &m->input_name : &m->split_name;
			size_t cnt;
			if (*name != NULL)
				BAD(tok[0]);
			if (!get_name(tok[1], name))
				BAD("name");
			for (int i = 2; i < nt; i++) {
				if (!to_int(tok[i], 0, (long long)ADCNN_MAX_ELEMS, &v))
					BAD("dimension");
				dims[i - 2] = v;
			}
			if (!adcnn_dims_count(nt - 2, dims, &cnt))
				BAD("shape");
			*(in ? &m->in_rank : &m->split_rank) = nt - 2;
			seen |= in ? 32 : 64;
		} else if (strcmp(tok[0], "grid") == 0 && nt == 3) {
			long long r, c;
			if (!to_int(tok[1], 1, 256, &r) || !to_int(tok[2], 1, 256, &c))
				BAD("grid");
			m->rows = (int)r;
			m->cols = (int)c;
			seen |= 128;
		} else if (strcmp(tok[0], "tile") == 0 && nt == 17) {
			struct adcnn_tile *t;
			long long r, c;
			char extra;
			if (m->ntiles == cap_tiles) {
				int nc = cap_tiles ? cap_tiles * 2 : 16;
				struct adcnn_tile *nt2;
				if (nc > MAX_TILES)
					BAD("tile count");
				nt2 = realloc(m->tiles, sizeof(*nt2) * (size_t)nc);
				if (nt2 == NULL) {
					st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
					goto fail;
				}
				m->tiles = nt2;
				cap_tiles = nc;
			}
			t = &m->tiles[m->ntiles];
			memset(t, 0, sizeof(*t));
			if (strlen(tok[1]) >= sizeof(t->id) || sscanf(tok[1], "r%lldc%lld%c", &r, &c, &extra) != 2 || r < 0 || c < 0 || r > 255 || c > 255)
				BAD("tile id");
			strcpy(t->id, tok[1]);
			t->row = (int)r;
			t->col = (int)c;
			if (strcmp(tok[2], "in") != 0 || strcmp(tok[7], "out") != 0 || strcmp(tok[12], "halo") != 0)
				BAD("tile");
			for (int i = 0; i < 4; i++) {
				long long a, b, h;
				if (!to_int(tok[3 + i], 0, 1 << 30, &a) || !to_int(tok[8 + i], 0, 1 << 30, &b) || !to_int(tok[13 + i], 0, 1 << 30, &h))
					BAD("tile region");
				t->in[i] = (int)a;
				t->out[i] = (int)b;
				t->halo[i] = (int)h;
			}
			if (t->in[0] >= t->in[1] || t->in[2] >= t->in[3] || t->out[0] >= t->out[1] || t->out[2] >= t->out[3])
				BAD("tile region");
			m->ntiles++;
		} else if (strcmp(tok[0], "member") == 0 && nt == 4) {
			long long sz;
			if (*nlisted == cap_members) {
				int nc = cap_members ? cap_members * 2 : 16;
				char **np, **nh;
				size_t *ns;
				if (nc > MAX_MEMBERS)
					BAD("member count");
				np = realloc(*paths, sizeof(char *) * (size_t)nc);
				if (np) *paths = np;
				nh = realloc(*hashes, sizeof(char *) * (size_t)nc);
				if (nh) *hashes = nh;
				ns = realloc(*sizes, sizeof(size_t) * (size_t)nc);
				if (ns) *sizes = ns;
				if (np == NULL || nh == NULL || ns == NULL) {
					st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
					goto fail;
				}
				cap_members = nc;
			}
			if (!to_int(tok[2], 0, (long long)1 << 40, &sz) || !is_hex64(tok[3]))
				BAD("member");
			(*paths)[*nlisted] = strdup(tok[1]);
			(*hashes)[*nlisted] = strdup(tok[3]);
			(*sizes)[*nlisted] = (size_t)sz;
			(*nlisted)++;
			if ((*paths)[*nlisted - 1] == NULL || (*hashes)[*nlisted - 1] == NULL) {
				st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
				goto fail;
			}
		}
		/* unknown keywords are ignored, so that minor versions can add some */
#undef BAD
	}
	if (m->major == 0) {
		st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "MANIFEST: not an adcnn bundle");
		goto fail;
	}
	if (seen != 255) {
		st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "MANIFEST: a required line is missing");
		goto fail;
	}
	if (m->ntiles != m->rows * m->cols) {
		st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "MANIFEST: %d tiles for a %dx%d grid", m->ntiles, m->rows, m->cols);
		goto fail;
	}
	for (int i = 0; i < m->ntiles; i++) {
		const struct adcnn_tile *t = &m->tiles[i];
		if (m->split_rank == 4 && (t->out[1] > m->split_dims[2] || t->out[3] > m->split_dims[3]))
			break;
		if (m->in_rank == 4 && (t->in[1] > m->in_dims[2] || t->in[3] > m->in_dims[3]))
			break;
		if (i == m->ntiles - 1)
			goto ok;
	}
	st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "MANIFEST: a tile lies outside its tensor");
	goto fail;
ok:
	free(buf);
	return ADCNN_OK;
fail:
	free(buf);
	adcnn_manifest_release(m);
	for (int i = 0; i < *nlisted; i++) {
		free((*paths)[i]);
		free((*hashes)[i]);
	}
	free(*paths);
	free(*hashes);
	free(*sizes);
	*paths = NULL;
	*hashes = NULL;
	*sizes = NULL;
	*nlisted = 0;
	return st;
}

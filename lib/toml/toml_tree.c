/*
 * toml/toml_tree.c: the value tree built by the parser and read by the
 * layers above: allocation, table insertion and lookup, array append, free.
 *
 * Tables keep their keys in definition order in a plain array (what
 * callers iterate); once a table grows past a few keys it also gets an
 * open-addressing hash index of slot numbers, so that duplicate-key checks
 * while parsing and toml_get() stay constant-time however many keys a
 * document has.  Keys are compared by length and bytes: a key may hold
 * NUL bytes (\u0000).
 *
 * The index hashes with SipHash-1-3 under a random key drawn once per
 * process: with a fixed hash, a hostile document could choose keys that
 * all land in one probe sequence and make every insertion walk all the
 * keys before it (quadratic).
 */
#include "toml/toml_int.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Tables with fewer keys than this are searched linearly. */
#define TTREE_INDEX_MIN 8

struct toml_value *
ttree_new(enum toml_type type, int line, int col, int depth)
{
	struct toml_node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->v.type = type;
	n->v.line = line;
	n->v.col = col;
	n->depth = depth;
	return &n->v;
}

/* The SipHash key: random, set once (ttree_key_init), then only read. */
static uint64_t ttree_key[2];
static pthread_once_t ttree_key_once = PTHREAD_ONCE_INIT;

static void
ttree_key_init(void)
{
	struct timespec ts;

	if (getrandom(ttree_key, sizeof(ttree_key), GRND_NONBLOCK) ==
	    (ssize_t)sizeof(ttree_key))
		return;
	/* No entropy yet (early boot): still not guessable from outside. */
	clock_gettime(CLOCK_REALTIME, &ts);
	ttree_key[0] ^= (uint64_t)ts.tv_nsec << 32 ^ (uint64_t)ts.tv_sec;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ttree_key[1] ^= (uint64_t)ts.tv_nsec << 32 ^ (uint64_t)getpid() ^
	    (uint64_t)(uintptr_t)&ts;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

/* SipHash-1-3 of s[0..len) under ttree_key. */
static size_t
ttree_hash(const char *s, size_t len)
{
	const unsigned char *in = (const unsigned char *)s;
	uint64_t v0, v1, v2, v3, m, b = (uint64_t)len << 56;
	size_t i, j, end = len & ~(size_t)7;

	pthread_once(&ttree_key_once, ttree_key_init);
	v0 = 0x736f6d6570736575ULL ^ ttree_key[0];
	v1 = 0x646f72616e646f6dULL ^ ttree_key[1];
	v2 = 0x6c7967656e657261ULL ^ ttree_key[0];
	v3 = 0x7465646279746573ULL ^ ttree_key[1];
	for (i = 0; i < end; i += 8) {
		for (m = 0, j = 0; j < 8; j++)
			m |= (uint64_t)in[i + j] << (8 * j);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	for (j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return (size_t)(v0 ^ v1 ^ v2 ^ v3);
}

static int
ttree_key_equal(const struct toml_kv *kv, const char *key, size_t keylen)
{
	return kv->keylen == keylen && memcmp(kv->key, key, keylen) == 0;
}

/* Rebuild the index of table t with room for at least 2 * t->cap keys. */
static int
ttree_reindex(struct toml_node *t)
{
	size_t cap = 16, i, h, *idx;

	while (cap < 2 * t->cap)
		cap *= 2;
	idx = calloc(cap, sizeof(*idx));
	if (idx == NULL)
		return -1;
	for (i = 0; i < t->v.u.tab.n; i++) {
		h = ttree_hash(t->v.u.tab.kv[i].key,
		    t->v.u.tab.kv[i].keylen) & (cap - 1);
		while (idx[h])
			h = (h + 1) & (cap - 1);
		idx[h] = i + 1;
	}
	free(t->index);
	t->index = idx;
	t->index_cap = cap;
	return 0;
}

int
ttree_table_add(struct toml_value *tv, char *key, size_t keylen, int line,
    int col, struct toml_value *val)
{
	struct toml_node *t = tnode(tv);
	struct toml_kv *kv;
	size_t n = tv->u.tab.n, h;

	if (n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 4;

		kv = realloc(tv->u.tab.kv, ncap * sizeof(*kv));
		if (kv == NULL)
			return -1;
		tv->u.tab.kv = kv;
		t->cap = ncap;
	}
	if (n + 1 >= TTREE_INDEX_MIN && t->index_cap < 2 * t->cap) {
		/* Index covers slots [0, n); the new one is added below. */
		if (ttree_reindex(t) == -1)
			return -1;
	}
	kv = &tv->u.tab.kv[n];
	kv->key = key;
	kv->keylen = keylen;
	kv->line = line;
	kv->col = col;
	kv->val = val;
	tv->u.tab.n = n + 1;
	if (t->index) {
		h = ttree_hash(key, keylen) & (t->index_cap - 1);
		while (t->index[h])
			h = (h + 1) & (t->index_cap - 1);
		t->index[h] = n + 1;
	}
	return 0;
}

struct toml_kv *
ttree_table_find(const struct toml_value *tv, const char *key, size_t keylen)
{
	const struct toml_node *t = tnode(tv);
	size_t i, h;

	if (t->index == NULL) {
		for (i = 0; i < tv->u.tab.n; i++)
			if (ttree_key_equal(&tv->u.tab.kv[i], key, keylen))
				return &tv->u.tab.kv[i];
		return NULL;
	}
	h = ttree_hash(key, keylen) & (t->index_cap - 1);
	while (t->index[h]) {
		struct toml_kv *kv = &tv->u.tab.kv[t->index[h] - 1];

		if (ttree_key_equal(kv, key, keylen))
			return kv;
		h = (h + 1) & (t->index_cap - 1);
	}
	return NULL;
}

int
ttree_array_push(struct toml_value *av, struct toml_value *val)
{
	struct toml_node *a = tnode(av);

	if (av->u.arr.n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 4;
		struct toml_value **items;

		items = realloc(av->u.arr.items, ncap * sizeof(*items));
		if (items == NULL)
			return -1;
		av->u.arr.items = items;
		a->cap = ncap;
	}
	av->u.arr.items[av->u.arr.n++] = val;
	return 0;
}

/*
 * Recursion is bounded: the parser refuses trees deeper than
 * TOML_MAX_DEPTH.
 */
void
toml_free(struct toml_value *v)
{
	size_t i;

	if (v == NULL)
		return;
	switch (v->type) {
	case TOML_STRING:
		free(v->u.s.ptr);
		break;
	case TOML_DATETIME:
	case TOML_DATETIME_LOCAL:
	case TOML_DATE_LOCAL:
	case TOML_TIME_LOCAL:
		free(v->u.dt);
		break;
	case TOML_ARRAY:
		for (i = 0; i < v->u.arr.n; i++)
			toml_free(v->u.arr.items[i]);
		free(v->u.arr.items);
		break;
	case TOML_TABLE:
		for (i = 0; i < v->u.tab.n; i++) {
			free(v->u.tab.kv[i].key);
			toml_free(v->u.tab.kv[i].val);
		}
		free(v->u.tab.kv);
		free(tnode(v)->index);
		break;
	default:
		break;
	}
	free(tnode(v));
}

const struct toml_kv *
toml_get_kvn(const struct toml_value *table, const char *key, size_t keylen)
{
	if (table == NULL || key == NULL || table->type != TOML_TABLE)
		return NULL;
	return ttree_table_find(table, key, keylen);
}

const struct toml_kv *
toml_get_kv(const struct toml_value *table, const char *key)
{
	return key ? toml_get_kvn(table, key, strlen(key)) : NULL;
}

const struct toml_value *
toml_get(const struct toml_value *table, const char *key)
{
	const struct toml_kv *kv = toml_get_kv(table, key);

	return kv ? kv->val : NULL;
}

const char *
toml_get_string(const struct toml_value *v)
{
	if (v == NULL || v->type != TOML_STRING ||
	    memchr(v->u.s.ptr, '\0', v->u.s.len) != NULL)
		return NULL;
	return v->u.s.ptr;
}

const char *
toml_type_name(enum toml_type t)
{
	switch (t) {
	case TOML_STRING:
		return "string";
	case TOML_INTEGER:
		return "integer";
	case TOML_FLOAT:
		return "float";
	case TOML_BOOL:
		return "bool";
	case TOML_DATETIME:
		return "datetime";
	case TOML_DATETIME_LOCAL:
		return "datetime-local";
	case TOML_DATE_LOCAL:
		return "date-local";
	case TOML_TIME_LOCAL:
		return "time-local";
	case TOML_ARRAY:
		return "array";
	case TOML_TABLE:
		return "table";
	}
	return "unknown";
}

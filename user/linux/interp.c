/* interp [N] [SEED]: a bytecode interpreter with a garbage-collected heap.
 *
 * A stack machine runs a program assembled at start-up from the text in
 * SCRIPT below (tokens, labels, @variables). Values are 63-bit integers
 * (tagged with a low 1 bit), nil, or pointers to heap objects: pairs,
 * strings, growable arrays and hash maps. Every object is its own malloc;
 * arrays grow by realloc (big ones through mremap in musl's malloc), maps
 * rehash into a fresh calloc. A mark-and-sweep collector runs when the
 * bytes allocated since the last one reach twice the live heap; its mark
 * stack is itself a realloc-grown array. So the memory behaviour is an
 * interpreter's: many small short-lived objects, a slowly changing live
 * set, large buffers that grow and are dropped.
 *
 * The script builds a table of string keys to lists, a short list of
 * garbage per step, and an append-only log that is dropped when it gets
 * long; SEED picks the multiplier that scatters the keys. */
#include "wl.h"

static const char *SCRIPT =
	"    map store @m  arr store @log  push 0 store @sum  push 0 store @i\n"
	"loop:\n"
	"    load @i load @n lt jz done\n"
	/* key = "k" + str(i * mult % 4099) */
	"    str k load @i load @mult mul push 4099 mod itos cat store @key\n"
	/* m[key] = cons(i, m[key]): the live lists */
	"    load @m load @key load @i load @m load @key mget cons mput pop\n"
	/* a list of 8 numbers, summed, then garbage */
	"    nil store @l push 0 store @j\n"
	"build:\n"
	"    load @j push 8 lt jz walk\n"
	"    load @j load @i add dup mul load @l cons store @l\n"
	"    load @j push 1 add store @j jmp build\n"
	"walk:\n"
	"    load @l isnil jnz logged\n"
	"    load @sum load @l car add store @sum  load @l cdr store @l jmp walk\n"
	"logged:\n"
	/* the log: an array that grows to 16384 entries (128 KiB), then is dropped */
	"    load @log load @key apush pop\n"
	"    load @log alen push 16384 lt jnz next\n"
	"    load @sum load @log alen add store @sum  arr store @log\n"
	"next:\n"
	"    load @i push 1 add store @i\n"
	"    load @i push 8191 and jnz loop\n"
	"    map store @m jmp loop\n" /* every 8192 steps the table goes too */
	"done:\n"
	"    push 0 store @j\n"
	"fold:\n"
	"    load @j push 4099 lt jz out\n"
	"    load @m str k load @j itos cat mget store @l\n"
	"flen:\n"
	"    load @l isnil jnz fnext\n"
	"    load @sum load @l car load @j mul add store @sum  load @l cdr store @l jmp flen\n"
	"fnext:\n"
	"    load @j push 1 add store @j jmp fold\n"
	"out:\n"
	"    load @sum print  load @m mlen print  load @log alen print  halt\n";

/* --- values and objects --- */

typedef uint64_t val;
#define NIL ((val)0)
#define IS_INT(v) ((v) & 1)
#define INT(x) ((val)(x) << 1 | 1)
#define GETINT(v) ((int64_t)(v) >> 1)

enum { T_PAIR, T_STR, T_ARR, T_MAP };

struct obj {
	struct obj *next; /* every object, for the sweep */
	uint32_t type, mark;
};
struct pair { struct obj o; val car, cdr; };
struct str { struct obj o; size_t len; uint64_t hash; char s[]; };
struct arr { struct obj o; size_t len, cap; val *v; };
struct map { struct obj o; size_t count, cap; val *kv; }; /* open addressing; key NIL = empty */

static struct obj *objects;
static size_t heap_bytes, live_bytes, next_gc = 1 << 20, peak_bytes;
static uint64_t gcs, freed, allocs;

#define STACK 256
#define NVARS 32
static val stack[STACK], vars[NVARS];
static int sp;

static void fail(const char *what, int pc)
{
	fprintf(stderr, "interp: %s (pc %d)\n", what, pc);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p && n)
		wl_die("interp", "realloc");
	return p;
}

/* --- the collector --- */

static val *marks;
static size_t nmarks, capmarks;

static void push_mark(val v)
{
	if (v == NIL || IS_INT(v) || ((struct obj *)v)->mark)
		return;
	((struct obj *)v)->mark = 1;
	if (nmarks == capmarks) {
		capmarks = capmarks ? capmarks * 2 : 1024;
		marks = xrealloc(marks, capmarks * sizeof *marks);
	}
	marks[nmarks++] = v;
}

static size_t obj_size(struct obj *o)
{
	switch (o->type) {
	case T_PAIR: return sizeof(struct pair);
	case T_STR: return sizeof(struct str) + ((struct str *)o)->len + 1;
	case T_ARR: return sizeof(struct arr) + ((struct arr *)o)->cap * sizeof(val);
	default: return sizeof(struct map) + ((struct map *)o)->cap * 2 * sizeof(val);
	}
}

static void gc(void)
{
	for (int i = 0; i < sp; i++)
		push_mark(stack[i]);
	for (int i = 0; i < NVARS; i++)
		push_mark(vars[i]);
	while (nmarks) {
		struct obj *o = (struct obj *)marks[--nmarks];
		if (o->type == T_PAIR) {
			push_mark(((struct pair *)o)->car);
			push_mark(((struct pair *)o)->cdr);
		} else if (o->type == T_ARR) {
			struct arr *a = (struct arr *)o;
			for (size_t i = 0; i < a->len; i++)
				push_mark(a->v[i]);
		} else if (o->type == T_MAP) {
			struct map *m = (struct map *)o;
			for (size_t i = 0; i < 2 * m->cap; i++)
				push_mark(m->kv[i]);
		}
	}
	live_bytes = 0;
	for (struct obj **p = &objects; *p;) {
		struct obj *o = *p;
		if (o->mark) {
			o->mark = 0;
			live_bytes += obj_size(o);
			p = &o->next;
			continue;
		}
		*p = o->next;
		if (o->type == T_ARR)
			free(((struct arr *)o)->v);
		else if (o->type == T_MAP)
			free(((struct map *)o)->kv);
		free(o);
		freed++;
	}
	heap_bytes = live_bytes;
	next_gc = live_bytes * 2 > (1 << 20) ? live_bytes * 2 : 1 << 20;
	gcs++;
}

/* Count n new bytes; collect first if that passes the threshold. The
 * operands of the running instruction are still on the stack, so they
 * survive. */
static void charge(size_t n)
{
	if (heap_bytes + n > next_gc)
		gc();
	heap_bytes += n;
	if (heap_bytes > peak_bytes)
		peak_bytes = heap_bytes;
}

static void *new_obj(int type, size_t size)
{
	charge(size);
	struct obj *o = malloc(size);
	if (!o)
		wl_die("interp", "malloc");
	o->type = (uint32_t)type;
	o->mark = 0;
	o->next = objects;
	objects = o;
	allocs++;
	return o;
}

static val new_str(const char *s, size_t len)
{
	struct str *p = new_obj(T_STR, sizeof(struct str) + len + 1);
	p->len = len;
	memcpy(p->s, s, len);
	p->s[len] = 0;
	p->hash = wl_fnv(WL_FNV, s, len);
	return (val)p;
}

static int is(val v, int type) { return v != NIL && !IS_INT(v) && ((struct obj *)v)->type == (uint32_t)type; }

static uint64_t key_hash(val k) { return IS_INT(k) ? wl_mix(k) : ((struct str *)k)->hash; }

static int key_eq(val a, val b)
{
	if (a == b)
		return 1;
	if (!is(a, T_STR) || !is(b, T_STR))
		return 0;
	struct str *x = (struct str *)a, *y = (struct str *)b;
	return x->len == y->len && memcmp(x->s, y->s, x->len) == 0;
}

static size_t map_slot(struct map *m, val k)
{
	size_t i = key_hash(k) & (m->cap - 1);
	while (m->kv[2 * i] != NIL && !key_eq(m->kv[2 * i], k))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void map_put(struct map *m, val k, val v)
{
	if ((m->count + 1) * 3 > m->cap * 2) { /* rehash at 2/3 full */
		size_t oldcap = m->cap;
		val *old = m->kv;
		charge(oldcap * 2 * sizeof(val)); /* may collect: m is on the stack */
		m->cap = oldcap * 2;
		m->kv = calloc(m->cap * 2, sizeof(val));
		if (!m->kv)
			wl_die("interp", "calloc");
		for (size_t i = 0; i < oldcap; i++)
			if (old[2 * i] != NIL) {
				size_t s = map_slot(m, old[2 * i]);
				m->kv[2 * s] = old[2 * i];
				m->kv[2 * s + 1] = old[2 * i + 1];
			}
		free(old);
	}
	size_t s = map_slot(m, k);
	if (m->kv[2 * s] == NIL) {
		m->count++;
		m->kv[2 * s] = k;
	}
	m->kv[2 * s + 1] = v;
}

/* --- the assembler --- */

enum op {
	PUSH, LOAD, STORE, STR, JMP, JZ, JNZ, /* these take an operand */
	ADD, SUB, MUL, MOD, AND, LT, EQ, DUP, POP, SWAP,
	NIL_, CONS, CAR, CDR, ISNIL, ARR, APUSH, AGET, ALEN, MAP, MPUT, MGET, MLEN,
	ITOS, CAT, PRINT, HALT, NOPS
};
static const char *opname[NOPS] = {
	"push", "load", "store", "str", "jmp", "jz", "jnz",
	"add", "sub", "mul", "mod", "and", "lt", "eq", "dup", "pop", "swap",
	"nil", "cons", "car", "cdr", "isnil", "arr", "apush", "aget", "alen", "map", "mput", "mget", "mlen",
	"itos", "cat", "print", "halt",
};

struct insn { int op; int64_t arg; };
static struct insn *code;
static int ncode;
static char *strs[64], *varname[NVARS], *labels[64], *fixname[512];
static int nstrs, nvars, nlabels, labelpc[64], nfix, fixpc[512];

static int intern(char **tab, int *n, int max, const char *s, size_t len)
{
	for (int i = 0; i < *n; i++)
		if (strlen(tab[i]) == len && memcmp(tab[i], s, len) == 0)
			return i;
	if (*n == max)
		fail("assembler: table full", ncode);
	tab[*n] = strndup(s, len);
	return (*n)++;
}

static void assemble(const char *src)
{
	int cap = 0;
	while (*src) {
		while (*src == ' ' || *src == '\n')
			src++;
		if (!*src)
			break;
		size_t len = strcspn(src, " \n");
		const char *tok = src;
		src += len;
		if (tok[len - 1] == ':') {
			int l = intern(labels, &nlabels, 64, tok, len - 1);
			labelpc[l] = ncode;
			continue;
		}
		int op;
		for (op = 0; op < NOPS; op++)
			if (strlen(opname[op]) == len && memcmp(opname[op], tok, len) == 0)
				break;
		if (op == NOPS)
			fail("assembler: unknown op", ncode);
		if (ncode == cap)
			code = xrealloc(code, (size_t)(cap = cap ? cap * 2 : 64) * sizeof *code);
		code[ncode] = (struct insn){op, 0};
		if (op <= JNZ) {
			while (*src == ' ')
				src++;
			size_t alen = strcspn(src, " \n");
			if (!alen)
				fail("assembler: missing operand", ncode);
			if (op == PUSH)
				code[ncode].arg = strtoll(src, NULL, 10);
			else if (op == LOAD || op == STORE)
				code[ncode].arg = intern(varname, &nvars, NVARS, src + 1, alen - 1);
			else if (op == STR)
				code[ncode].arg = intern(strs, &nstrs, 64, src, alen);
			else if (nfix < 512) { /* a jump: resolved when every label is known */
				fixpc[nfix] = ncode;
				fixname[nfix++] = strndup(src, alen);
			} else
				fail("assembler: too many jumps", ncode);
			src += alen;
		}
		ncode++;
	}
	for (int f = 0; f < nfix; f++) {
		int l;
		for (l = 0; l < nlabels && strcmp(labels[l], fixname[f]) != 0; l++)
			;
		if (l == nlabels)
			fail("assembler: unknown label", fixpc[f]);
		code[fixpc[f]].arg = labelpc[l];
		free(fixname[f]);
	}
}

static int var(const char *name)
{
	return intern(varname, &nvars, NVARS, name, strlen(name));
}

/* --- the interpreter loop --- */

#define NEED(k) do { if (sp < (k)) fail("stack underflow", pc); } while (0)
#define ROOM() do { if (sp == STACK) fail("stack overflow", pc); } while (0)

static void run(void)
{
	int pc = 0;
	for (;;) {
		struct insn in = code[pc++];
		val a, b;
		switch (in.op) {
		case PUSH: ROOM(); stack[sp++] = INT(in.arg); break;
		case LOAD: ROOM(); stack[sp++] = vars[in.arg]; break;
		case STORE: NEED(1); vars[in.arg] = stack[--sp]; break;
		case STR: ROOM(); a = new_str(strs[in.arg], strlen(strs[in.arg])); stack[sp++] = a; break;
		case JMP: pc = (int)in.arg; break;
		case JZ: NEED(1); if (stack[--sp] == INT(0) || stack[sp] == NIL) pc = (int)in.arg; break;
		case JNZ: NEED(1); if (stack[--sp] != INT(0) && stack[sp] != NIL) pc = (int)in.arg; break;
		case ADD: case SUB: case MUL: case MOD: case AND: case LT:
			NEED(2);
			a = stack[sp - 2];
			b = stack[sp - 1];
			if (!IS_INT(a) || !IS_INT(b))
				fail("arithmetic on a non-number", pc - 1);
			{
				int64_t x = GETINT(a), y = GETINT(b), r;
				switch (in.op) {
				case ADD: r = (int64_t)((uint64_t)x + (uint64_t)y); break;
				case SUB: r = (int64_t)((uint64_t)x - (uint64_t)y); break;
				case MUL: r = (int64_t)((uint64_t)x * (uint64_t)y); break;
				case MOD: if (y <= 0) fail("mod by a non-positive number", pc - 1);
					r = ((x % y) + y) % y; break;
				case AND: r = x & y; break;
				default: r = x < y; break;
				}
				stack[sp - 2] = INT(r);
			}
			sp--;
			break;
		case EQ: NEED(2); sp--; stack[sp - 1] = INT(key_eq(stack[sp - 1], stack[sp])); break;
		case DUP: NEED(1); ROOM(); stack[sp] = stack[sp - 1]; sp++; break;
		case POP: NEED(1); sp--; break;
		case SWAP: NEED(2); a = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = a; break;
		case NIL_: ROOM(); stack[sp++] = NIL; break;
		case CONS: {
			NEED(2);
			struct pair *p = new_obj(T_PAIR, sizeof *p);
			p->car = stack[sp - 2];
			p->cdr = stack[sp - 1];
			stack[--sp - 1] = (val)p;
			break;
		}
		case CAR: case CDR:
			NEED(1);
			if (!is(stack[sp - 1], T_PAIR))
				fail("car/cdr of a non-pair", pc - 1);
			a = stack[sp - 1];
			stack[sp - 1] = in.op == CAR ? ((struct pair *)a)->car : ((struct pair *)a)->cdr;
			break;
		case ISNIL: NEED(1); stack[sp - 1] = INT(stack[sp - 1] == NIL); break;
		case ARR: {
			ROOM();
			struct arr *r = new_obj(T_ARR, sizeof *r);
			r->len = r->cap = 0;
			r->v = NULL;
			stack[sp++] = (val)r;
			break;
		}
		case APUSH: {
			NEED(2);
			if (!is(stack[sp - 2], T_ARR))
				fail("apush to a non-array", pc - 1);
			struct arr *r = (struct arr *)stack[sp - 2];
			if (r->len == r->cap) {
				size_t cap = r->cap ? r->cap * 2 : 8;
				charge((cap - r->cap) * sizeof(val));
				r->v = xrealloc(r->v, cap * sizeof(val));
				r->cap = cap;
			}
			r->v[r->len++] = stack[--sp];
			break;
		}
		case AGET: {
			NEED(2);
			if (!is(stack[sp - 2], T_ARR) || !IS_INT(stack[sp - 1]))
				fail("aget: not an array and an index", pc - 1);
			struct arr *r = (struct arr *)stack[sp - 2];
			int64_t i = GETINT(stack[sp - 1]);
			if (i < 0 || (size_t)i >= r->len)
				fail("aget: index out of range", pc - 1);
			stack[--sp - 1] = r->v[i];
			break;
		}
		case ALEN:
			NEED(1);
			if (!is(stack[sp - 1], T_ARR))
				fail("alen of a non-array", pc - 1);
			stack[sp - 1] = INT(((struct arr *)stack[sp - 1])->len);
			break;
		case MAP: {
			ROOM();
			struct map *m = new_obj(T_MAP, sizeof *m + 8 * 2 * sizeof(val));
			m->count = 0;
			m->cap = 8;
			if (!(m->kv = calloc(16, sizeof(val))))
				wl_die("interp", "calloc");
			stack[sp++] = (val)m;
			break;
		}
		case MPUT:
			NEED(3);
			if (!is(stack[sp - 3], T_MAP) || stack[sp - 2] == NIL)
				fail("mput: not a map and a key", pc - 1);
			map_put((struct map *)stack[sp - 3], stack[sp - 2], stack[sp - 1]);
			sp -= 2;
			break;
		case MGET:
			NEED(2);
			if (!is(stack[sp - 2], T_MAP) || stack[sp - 1] == NIL)
				fail("mget: not a map and a key", pc - 1);
			{
				struct map *m = (struct map *)stack[sp - 2];
				size_t s = map_slot(m, stack[sp - 1]);
				stack[--sp - 1] = m->kv[2 * s] == NIL ? NIL : m->kv[2 * s + 1];
			}
			break;
		case MLEN:
			NEED(1);
			if (!is(stack[sp - 1], T_MAP))
				fail("mlen of a non-map", pc - 1);
			stack[sp - 1] = INT(((struct map *)stack[sp - 1])->count);
			break;
		case ITOS: {
			NEED(1);
			if (!IS_INT(stack[sp - 1]))
				fail("itos of a non-number", pc - 1);
			char buf[24];
			int len = snprintf(buf, sizeof buf, "%lld", (long long)GETINT(stack[sp - 1]));
			stack[sp - 1] = new_str(buf, (size_t)len);
			break;
		}
		case CAT: {
			NEED(2);
			if (!is(stack[sp - 2], T_STR) || !is(stack[sp - 1], T_STR))
				fail("cat of a non-string", pc - 1);
			size_t la = ((struct str *)stack[sp - 2])->len, lb = ((struct str *)stack[sp - 1])->len;
			struct str *r = new_obj(T_STR, sizeof *r + la + lb + 1);
			struct str *x = (struct str *)stack[sp - 2], *y = (struct str *)stack[sp - 1];
			r->len = la + lb;
			memcpy(r->s, x->s, la);
			memcpy(r->s + la, y->s, lb + 1);
			r->hash = wl_fnv(WL_FNV, r->s, r->len);
			stack[--sp - 1] = (val)r;
			break;
		}
		case PRINT:
			NEED(1);
			a = stack[--sp];
			if (IS_INT(a))
				printf("interp: out=%lld\n", (long long)GETINT(a));
			else
				printf("interp: out=<object>\n");
			break;
		case HALT: return;
		}
	}
}

int main(int argc, char **argv)
{
	const char *usage = "interp [N] [SEED]";
	uint64_t n = wl_arg(argc, argv, 1, 20000, 0, 1ULL << 40, usage);
	wl_seed(wl_arg(argc, argv, 2, 1, 0, UINT64_MAX, usage));
	assemble(SCRIPT);
	vars[var("n")] = INT(n);
	vars[var("mult")] = INT(1000 + wl_below(9000) * 2 + 1);
	run();
	gc(); /* what is still live at the end */
	printf("interp: n=%llu ops=%d allocs=%llu freed=%llu gcs=%llu live=%zu peak=%zu\n",
	       (unsigned long long)n, ncode, (unsigned long long)allocs, (unsigned long long)freed,
	       (unsigned long long)gcs, live_bytes, peak_bytes);
	return 0;
}

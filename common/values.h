/* Generated record values: random letters, presence documents and conference content, from
 * a caller's PRNG state. `csb data load -ValueKind` and the bench (bench/) write the same
 * kinds, so that what the bench reports about compression is what an operator loads. */
#ifndef CSB_COMMON_VALUES_H
#define CSB_COMMON_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum csb_value_kind {
	CSB_VALUE_RANDOM,     /* letters a-z, uniformly: about 4.7 bits a byte */
	CSB_VALUE_PRESENCE,   /* a presence document as UserServices keeps one */
	CSB_VALUE_CONFERENCE, /* slides' markup, then already-compressed image bytes */
} csb_value_kind;

/* "random", "presence" or "conference" (NULL: random) into *out; false for any other. */
bool csb_value_kind_parse(const char *name, csb_value_kind *out);

/* The kind's name as csb_value_kind_parse() reads it. */
const char *csb_value_kind_name(csb_value_kind kind);

/* The next number of a splitmix64 sequence whose state is *state. */
uint64_t csb_values_next(uint64_t *state);

/* Fills v[0..n) with a value of the kind, drawing from *state (advanced). Deterministic:
 * the same state, kind and n give the same bytes. Thread-safe for distinct states. */
void csb_values_fill(csb_value_kind kind, uint64_t *state, uint8_t *v, size_t n);

#endif

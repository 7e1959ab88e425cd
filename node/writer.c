/* Group commit: data writes from many RPC workers queue here and one writer thread commits
 * everything pending for a module in one durable LMDB transaction. A durable commit costs
 * about the same for 1 record as for hundreds, so concurrent writers share its cost. */
#include <stdlib.h>
#include <string.h>

#include "node/internal/node.h"
#include "common/log.h"

/* Commits the queued requests of one module (those in list with that module) as one
 * transaction; if it fails for a reason tied to one request's content, retries each alone
 * so that one bad request cannot fail its neighbours. */
static void commit_module(struct csb_node *a, struct write_req *list, const char *module)
{
	size_t total = 0, off = 0;
	csb_write *all;
	uint64_t seq = 0;
	csb_err rv;

	for (struct write_req *r = list; r; r = r->next)
		if (!r->handled && strcmp(r->module, module) == 0)
			total += r->n;
	all = malloc(total * sizeof(*all));
	if (all == NULL) {
		rv = CSB_ENOMEM;
		goto out_finish;
	}
	for (struct write_req *r = list; r; r = r->next)
		if (!r->handled && strcmp(r->module, module) == 0) {
			memcpy(all + off, r->items, r->n * sizeof(*all));
			off += r->n;
		}
	rv = csb_store_write(a->store, module, all, total, &seq);
	free(all);
	if (rv == CSB_EINVAL || rv == CSB_ETOOBIG) {
		for (struct write_req *r = list; r; r = r->next)
			if (!r->handled && strcmp(r->module, module) == 0) {
				r->rv = csb_store_write(a->store, module, r->items, r->n, &r->last_seq);
				r->handled = true;
				if (r->rv == CSB_OK)
					node__export_note_commit(a, module, r->last_seq);
			}
		return;
	}
	if (rv == CSB_OK)
		node__export_note_commit(a, module, seq);
	else if (rv != CSB_EREADONLY) /* a fence or an expired lease: the writers are told */
		csb_error("writer", "commit failed pool=%s module=%s records=%zu err=%s", a->name,
		          module, total, csb_err_name(rv));
out_finish:
	for (struct write_req *r = list; r; r = r->next)
		if (!r->handled && strcmp(r->module, module) == 0) {
			r->rv = rv;
			r->last_seq = seq;
			r->handled = true;
		}
}

static void *writer_main(void *arg)
{
	struct csb_node *a = arg;
	struct write_req *list;

	pthread_mutex_lock(&a->wmu);
	for (;;) {
		while (a->wqueue == NULL && !atomic_load(&a->stopping))
			pthread_cond_wait(&a->wcond, &a->wmu);
		if (a->wqueue == NULL)
			break;
		list = a->wqueue;
		a->wqueue = NULL;
		pthread_mutex_unlock(&a->wmu);
		for (struct write_req *r = list; r; r = r->next)
			if (!r->handled)
				commit_module(a, list, r->module);
		/* Done only now, under the lock: a writer whose request is done may return and its
		 * request (on its stack) is gone, so nothing of the list is read after this. */
		pthread_mutex_lock(&a->wmu);
		for (struct write_req *r = list, *next; r; r = next) {
			next = r->next;
			r->done = true;
		}
		pthread_cond_broadcast(&a->wdone);
	}
	pthread_mutex_unlock(&a->wmu);
	return NULL;
}

csb_err node__writer_start(struct csb_node *a)
{
	if (pthread_create(&a->writer, NULL, writer_main, a) != 0)
		return CSB_ENOMEM;
	return CSB_OK;
}

void node__writer_stop(struct csb_node *a)
{
	pthread_mutex_lock(&a->wmu);
	pthread_cond_broadcast(&a->wcond);
	pthread_mutex_unlock(&a->wmu);
	pthread_join(a->writer, NULL);
}

csb_err node__write(struct csb_node *a, const char *module, const csb_write *items, size_t n,
                     uint64_t *last_seq)
{
	struct write_req r = {.module = module, .items = items, .n = n};
	struct write_req **tail;

	pthread_mutex_lock(&a->wmu);
	if (atomic_load(&a->stopping)) {
		pthread_mutex_unlock(&a->wmu);
		return CSB_ECLOSED;
	}
	/* FIFO: append, so that writes commit in arrival order. */
	for (tail = &a->wqueue; *tail; tail = &(*tail)->next)
		;
	*tail = &r;
	pthread_cond_signal(&a->wcond);
	while (!r.done)
		pthread_cond_wait(&a->wdone, &a->wmu);
	pthread_mutex_unlock(&a->wmu);
	if (last_seq != NULL)
		*last_seq = r.last_seq;
	return r.rv;
}

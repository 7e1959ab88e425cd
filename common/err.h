/* csb_err: the project's one error enum. Foreign codes (MDB_*, NNG_*, errno) are
 * translated where they are met (storage/, common/rpc*) and never leak upward. */
#ifndef CSB_COMMON_ERR_H
#define CSB_COMMON_ERR_H

typedef enum csb_err {
	CSB_OK = 0,
	CSB_EINVAL,      /* a bad argument: empty key, bad FQDN, value out of range */
	CSB_ENOMEM,      /* out of memory */
	CSB_ENOTFOUND,   /* no such key, module, pool or file */
	CSB_EEXIST,      /* already exists */
	CSB_EIO,         /* an I/O error from the disk or the OS */
	CSB_ENOSPC,      /* the disk is full: the data, or the LMDB map grown for it, does not fit */
	CSB_ECORRUPT,    /* stored or received data fails validation */
	CSB_ELINEAGE,    /* a batch's lineage does not match the import cursor */
	CSB_ESEQ,        /* a batch's starting seq does not match the import cursor */
	CSB_ELOGGONE,    /* the change log no longer covers the seq asked for: re-seed */
	CSB_ETOOBIG,     /* a message or field over its bound */
	CSB_EPROTO,      /* a malformed or undecodable message */
	CSB_ETIMEDOUT,   /* a deadline passed */
	CSB_EUNREACH,    /* a peer could not be reached */
	CSB_ECLOSED,     /* the object was closed while the call was pending */
	CSB_EDENIED,     /* the caller is not authorised */
	CSB_ENOMETHOD,   /* an unknown RPC method */
	CSB_EREADONLY,   /* the pool is read-only (failed over) */
	CSB_EBUSY,       /* a resource is in use; try again */
	CSB_ETLS,        /* TLS configuration or handshake failure */
	CSB_EINTERNAL,   /* a bug: a state that should not happen */
	CSB_ENOTCONN,    /* no connection to the peer could be made: the request was not sent */
	CSB_ENOTMASTER,  /* a coordinator that is not the active CMS master (or called at a CMS
	                  * epoch older than the callee's): the line names the active one */
	CSB_ERR_COUNT
} csb_err;

/* Returns a short, static, human-readable description of rv ("no such key").
 * Never NULL; an unknown value gives "unknown error". Thread-safe. */
const char *csb_strerror(csb_err rv);

/* Returns the stable lowercase name of rv ("ENOTFOUND") for logs and the wire. */
const char *csb_err_name(csb_err rv);

#endif

/* The configuration bundle of Export-CsConfiguration / Import-CsConfiguration (SPEC.md
 * §4): a real ZIP, built and read in memory, holding the topology, the backup
 * configuration and RBAC. The caller does the file I/O; nothing here touches the disk. */
#ifndef CSB_MODEL_BUNDLE_H
#define CSB_MODEL_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "model/config.h"
#include "model/topology.h"

#define CSB_BUNDLE_FORMAT      "csbackup-configuration"
#define CSB_BUNDLE_VERSION     1
#define CSB_BUNDLE_ENTRY_MAX   (16u << 20) /* bytes of one entry, uncompressed */

/* The entries; others are ignored on read. */
#define CSB_BUNDLE_MANIFEST    "manifest.json"  /* {"format","version","created"} */
#define CSB_BUNDLE_TOPOLOGY    "topology.json"  /* csb_topology_to_json() */
#define CSB_BUNDLE_CONFIG      "backup-configuration.json" /* csb_config_to_json() */
#define CSB_BUNDLE_RBAC        "rbac.json"      /* {"builtinGroups","principals",
                                                 *  "authorizedUniversalGroups"} */

/* Builds the bundle of t and c: the four entries above, deflated; the manifest's "created"
 * is now in RFC 3339 UTC ("2026-11-22T10:00:00Z"). rbac.json is informational: the
 * builtin group RTCUniversalServerAdmins, t's principals and c's AuthorizedUniversalGroups.
 * t may be NULL (no topology published yet): an empty topology is written. c must not be
 * NULL. t and c are written as they are (not checked).
 * On success *zip is a malloc'ed buffer of *len bytes for free(); on failure *zip is NULL.
 * Returns CSB_OK, CSB_EINVAL (c NULL), CSB_ENOMEM, or CSB_EINTERNAL when libzip fails
 * otherwise. Thread-safe. */
csb_err csb_bundle_write(const csb_topology *t, const csb_backup_config *c, uint8_t **zip,
                         size_t *len);

/* Reads a bundle (zip, len bytes; borrowed). Every entry is read in full and checked:
 * CRCs, at most CSB_BUNDLE_ENTRY_MAX bytes uncompressed, the manifest's format and version
 * (a newer version is refused), topology.json as csb_topology_parse(),
 * backup-configuration.json as csb_config_parse(), and rbac.json's builtin groups, its
 * principals (which must equal topology.json's) and its authorizedUniversalGroups (which
 * must equal backup-configuration.json's).
 * On success *t is a new topology for csb_topology_free() and *c the configuration. On
 * failure *t is NULL, *c is untouched, and err (may be NULL) holds one line:
 *   CSB_ECORRUPT - the ZIP layer is damaged: "not a ZIP file", "truncated or damaged ZIP
 *                  file (no central directory)", "damaged ZIP file (...)",
 *                  "topology.json: bad CRC (the file is damaged)", "topology.json:
 *                  compressed data is invalid (the file is damaged)";
 *   CSB_EINVAL   - a sound ZIP that is not an acceptable bundle: "missing topology.json",
 *                  "topology.json: larger than 16 MiB uncompressed", "manifest.json: ...",
 *                  "<entry>: line L, column C: <why>" (malformed JSON), "<entry>: <JSON
 *                  path>: <why>" (refused content), "rbac.json: $.principals does not
 *                  agree with topology.json";
 *   CSB_ENOMEM.
 * Thread-safe. */
csb_err csb_bundle_read(const uint8_t *zip, size_t len, csb_topology **t, csb_backup_config *c,
                        char *err, size_t errlen);

#endif

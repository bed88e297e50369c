/*
 * The layouts and numbers xen-gnttab relies on (src/lib.rs, src/memory.rs, src/wire.rs),
 * checked against the Xen interface headers Linux carries, compiled for aarch64. Run by
 * check-abi.sh.
 */
#include <linux/types.h>
#include <xen/interface/xen.h>
#include <xen/interface/grant_table.h>
#include <stddef.h>

#define CHECK(expr, val) _Static_assert((expr) == (val), #expr " != " #val)

/* struct grant_entry_v1: flags+domid in the first 32-bit word, frame in the second. */
CHECK(sizeof(struct grant_entry_v1), 8);
CHECK(offsetof(struct grant_entry_v1, flags), 0);
CHECK(offsetof(struct grant_entry_v1, domid), 2);
CHECK(offsetof(struct grant_entry_v1, frame), 4);
CHECK(sizeof(domid_t), 2);
CHECK(sizeof(grant_ref_t), 4);
CHECK(sizeof(grant_handle_t), 4);

/* XENMAPSPACE_grant_table (1) is in memory.h, which needs the full kernel headers. */

CHECK(GNTTABOP_map_grant_ref, 0);
CHECK(GNTTABOP_unmap_grant_ref, 1);
CHECK(GNTTABOP_setup_table, 2);
CHECK(GNTTABOP_dump_table, 3);
CHECK(GNTTABOP_transfer, 4);
CHECK(GNTTABOP_copy, 5);
CHECK(GNTTABOP_query_size, 6);
CHECK(GNTTABOP_unmap_and_replace, 7);
CHECK(GNTTABOP_set_version, 8);
CHECK(GNTTABOP_get_status_frames, 9);
CHECK(GNTTABOP_get_version, 10);
CHECK(GNTTABOP_swap_grant_ref, 11);
CHECK(GNTTABOP_cache_flush, 12);

CHECK(GNTMAP_device_map, 1);
CHECK(GNTMAP_host_map, 2);
CHECK(GNTMAP_readonly, 4);
CHECK(GNTMAP_application_map, 8);
CHECK(GNTMAP_contains_pte, 16);

CHECK(GTF_invalid, 0);
CHECK(GTF_permit_access, 1);
CHECK(GTF_accept_transfer, 2);
CHECK(GTF_transitive, 3);
CHECK(GTF_type_mask, 3);
CHECK(GTF_readonly, 1 << 2);
CHECK(GTF_reading, 1 << 3);
CHECK(GTF_writing, 1 << 4);
CHECK(GTF_PWT, 1 << 5);
CHECK(GTF_PCD, 1 << 6);
CHECK(GTF_PAT, 1 << 7);
CHECK(GTF_sub_page, 1 << 8);
CHECK(GNTCOPY_source_gref, 1);
CHECK(GNTCOPY_dest_gref, 2);

CHECK(GNTST_okay, 0);
CHECK(GNTST_general_error, -1);
CHECK(GNTST_bad_domain, -2);
CHECK(GNTST_bad_gntref, -3);
CHECK(GNTST_bad_handle, -4);
CHECK(GNTST_bad_virt_addr, -5);
CHECK(GNTST_bad_dev_addr, -6);
CHECK(GNTST_no_device_space, -7);
CHECK(GNTST_permission_denied, -8);
CHECK(GNTST_bad_page, -9);
CHECK(GNTST_bad_copy_arg, -10);
CHECK(GNTST_address_too_big, -11);
CHECK(GNTST_eagain, -12);
CHECK(GNTST_no_space, -13);

/* Argument structures (src/wire.rs). */
CHECK(sizeof(struct gnttab_map_grant_ref), 32);
CHECK(offsetof(struct gnttab_map_grant_ref, host_addr), 0);
CHECK(offsetof(struct gnttab_map_grant_ref, flags), 8);
CHECK(offsetof(struct gnttab_map_grant_ref, ref), 12);
CHECK(offsetof(struct gnttab_map_grant_ref, dom), 16);
CHECK(offsetof(struct gnttab_map_grant_ref, status), 18);
CHECK(offsetof(struct gnttab_map_grant_ref, handle), 20);
CHECK(offsetof(struct gnttab_map_grant_ref, dev_bus_addr), 24);
CHECK(sizeof(struct gnttab_unmap_grant_ref), 24);
CHECK(offsetof(struct gnttab_unmap_grant_ref, dev_bus_addr), 8);
CHECK(offsetof(struct gnttab_unmap_grant_ref, handle), 16);
CHECK(offsetof(struct gnttab_unmap_grant_ref, status), 20);
CHECK(sizeof(struct gnttab_unmap_and_replace), 24);
CHECK(offsetof(struct gnttab_unmap_and_replace, new_addr), 8);
CHECK(offsetof(struct gnttab_unmap_and_replace, handle), 16);
CHECK(offsetof(struct gnttab_unmap_and_replace, status), 20);
CHECK(sizeof(struct gnttab_setup_table), 24);
CHECK(offsetof(struct gnttab_setup_table, nr_frames), 4);
CHECK(offsetof(struct gnttab_setup_table, status), 8);
CHECK(offsetof(struct gnttab_setup_table, frame_list), 16);
CHECK(sizeof(xen_pfn_t), 8);
CHECK(sizeof(struct gnttab_copy), 40);
CHECK(sizeof(struct gnttab_copy_ptr), 16);
CHECK(offsetof(struct gnttab_copy, source.u.ref), 0);
CHECK(offsetof(struct gnttab_copy, source.u.gmfn), 0);
CHECK(offsetof(struct gnttab_copy, source.domid), 8);
CHECK(offsetof(struct gnttab_copy, source.offset), 10);
CHECK(offsetof(struct gnttab_copy, dest), 16);
CHECK(offsetof(struct gnttab_copy, dest.domid), 24);
CHECK(offsetof(struct gnttab_copy, dest.offset), 26);
CHECK(offsetof(struct gnttab_copy, len), 32);
CHECK(offsetof(struct gnttab_copy, flags), 34);
CHECK(offsetof(struct gnttab_copy, status), 36);
CHECK(sizeof(struct gnttab_query_size), 16);
CHECK(offsetof(struct gnttab_query_size, nr_frames), 4);
CHECK(offsetof(struct gnttab_query_size, max_nr_frames), 8);
CHECK(offsetof(struct gnttab_query_size, status), 12);
CHECK(sizeof(struct gnttab_set_version), 4);
CHECK(sizeof(struct gnttab_get_version), 8);
CHECK(offsetof(struct gnttab_get_version, version), 4);

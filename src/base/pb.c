/*
 * protobuf-c allocator adapter (include/ggen/pb.h).
 */
#include "ggen/pb.h"

static void *pb_alloc(void *ud, size_t size) { return gg_malloc(ud, size); }
static void pb_free(void *ud, void *p) { gg_free(ud, p); }

void gg_pb_allocator(ProtobufCAllocator *a, const gg_mem *mem) {
  a->alloc = pb_alloc;
  a->free = pb_free;
  a->allocator_data = (void *)(mem ? mem : gg_mem_default());
}
